#!/usr/bin/env bash
# Packages a built livehook binary as a release asset, with its SHA-256 beside it:
#   dist/livehook-<tag>-<target>.tar.gz (.zip for Windows), holding livehook-<tag>-<target>/livehook
#   dist/livehook-<tag>-<target>.tar.gz.sha256
# These names are what the action's installer (scripts/install-livehook.sh) downloads and what
# Cargo.toml's [package.metadata.binstall] describes, so all three are kept here in one place.
#
# Usage: package-release.sh TAG TARGET BINARY [DIST_DIR]
set -euo pipefail
tag="$1" target="$2" binary="$3" dist="${4:-dist}"

stem="livehook-$tag-$target"
mkdir -p "$dist/$stem"
cp "$binary" "$dist/$stem/"
cp "$(dirname "$0")/../README.md" "$dist/$stem/"
cd "$dist"
if [[ "$target" == *windows* ]]; then
  archive="$stem.zip"
  if command -v python3 >/dev/null; then python3 -m zipfile -c "$archive" "$stem"; else python -m zipfile -c "$archive" "$stem"; fi
else
  archive="$stem.tar.gz"
  tar -czf "$archive" "$stem"
fi
if command -v sha256sum >/dev/null; then
  sha256sum "$archive" > "$archive.sha256"
else
  shasum -a 256 "$archive" > "$archive.sha256"
fi
rm -r "$stem"
cat "$archive.sha256"
