#!/usr/bin/env bash
# Installs livehook $VERSION into $ROOT/bin for the GitHub Action. The release's prebuilt binary
# for $TARGET is preferred (seconds instead of a build of minutes), and only used when its SHA-256
# matches the checksum file published beside it; without one, livehook is built with
# `cargo install --locked` from the action's own source or from the release tag.
set -euo pipefail
: "${VERSION:?}" "${TARGET:?}" "${ROOT:?}"

repo="${LIVEHOOK_RELEASE_REPOSITORY:-${GITHUB_ACTION_REPOSITORY:-}}"
server="${GITHUB_SERVER_URL:-https://github.com}"
action_dir="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
mkdir -p "$ROOT/bin"

ext=tar.gz
exe=
case "$TARGET" in *windows*) ext=zip exe=.exe ;; esac
# The names the release workflow publishes (and `cargo binstall` expects).
stem="livehook-v$VERSION-$TARGET"
asset="$stem.$ext"

sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

python() {
  if command -v python3 >/dev/null; then python3 "$@"; else command python "$@"; fi
}

install_prebuilt() {
  [ "$TARGET" != none ] && [ -n "$repo" ] || return 1
  local tmp url expected actual
  tmp="$(mktemp -d)"
  url="$server/$repo/releases/download/v$VERSION/$asset"
  echo "Downloading $url"
  curl -fsSL --retry 3 -o "$tmp/$asset" "$url" || return 1
  curl -fsSL --retry 3 -o "$tmp/$asset.sha256" "$url.sha256" || return 1
  expected="$(cut -d' ' -f1 < "$tmp/$asset.sha256")"
  actual="$(sha256_of "$tmp/$asset")"
  if [ "$expected" != "$actual" ]; then
    # A mismatch is not a reason to build instead: someone may be tampering with the release.
    echo "::error title=livehook install::$asset has SHA-256 $actual, but its checksum file says $expected"
    exit 1
  fi
  case "$ext" in
    zip) python -m zipfile -e "$tmp/$asset" "$tmp" ;;
    *) tar -xzf "$tmp/$asset" -C "$tmp" ;;
  esac
  cp "$tmp/$stem/livehook$exe" "$ROOT/bin/"
  chmod +x "$ROOT/bin/livehook$exe"
}

if install_prebuilt; then
  echo "Installed the prebuilt livehook $VERSION for $TARGET."
  exit 0
fi

echo "::notice title=livehook install::no prebuilt livehook $VERSION for $TARGET; building it with cargo install --locked"
own_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$action_dir/Cargo.toml" | head -n 1)"
if [ "$own_version" = "$VERSION" ]; then
  cargo install --locked --path "$action_dir" --root "$ROOT"
elif [ -n "$repo" ]; then
  cargo install --locked --git "$server/$repo" --tag "v$VERSION" --root "$ROOT" livehook
else
  echo "::error title=livehook install::livehook $VERSION is neither this action's version ($own_version) nor downloadable: set the action's \`version\` input to $own_version or leave it empty"
  exit 1
fi
