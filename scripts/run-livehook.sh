#!/usr/bin/env bash
# The GitHub Action's main step: validate, then plan or apply, with annotations on the YAML lines,
# the markdown plan in the job summary (and kept for the pull-request comment), and the plan's
# counts as step outputs. It always exits 0 and records livehook's exit code as the `exitcode`
# output, so the comment is still posted when a gate fails; a later step fails the job with it.
set -uo pipefail
set -f # the paths are livehook's to expand (a directory means its *.yaml files), not the shell's

: "${GITHUB_OUTPUT:?}" "${GITHUB_STEP_SUMMARY:?}"
read -r -d '' -a paths <<< "${INPUT_PATHS:-livehook.yaml}" || true
work="$(mktemp -d "${RUNNER_TEMP:-/tmp}/livehook.XXXXXX")"

finish() {
  echo "exitcode=$1" >> "$GITHUB_OUTPUT"
  exit 0
}

# Windows runners name it `python`.
python() {
  if command -v python3 >/dev/null; then python3 "$@"; else command python "$@"; fi
}

# Step outputs from the versioned JSON plan (`summary` of `plan --format json`).
record_counts() {
  python - "$1" >> "$GITHUB_OUTPUT" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        summary = json.load(f)["summary"]
except (OSError, ValueError, KeyError):
    sys.exit(0)  # no plan (an invalid file, a missing secret): livehook has said why
changes = summary["create"] + summary["update"] + summary["delete"]
print(f"changes={'true' if changes else 'false'}")
for key in ("create", "update", "delete"):
    print(f"{key}={summary[key]}")
print(f"errors={summary['error']}")
PY
}

livehook validate "${paths[@]}" --format github || finish $?

case "${INPUT_COMMAND:-plan}" in
  validate)
    finish 0
    ;;
  plan)
    save=()
    [ -n "${INPUT_PLAN_FILE:-}" ] && save=(--out "$INPUT_PLAN_FILE")
    livehook plan "${paths[@]}" --format json ${save[@]+"${save[@]}"} > "$work/plan.json"
    record_counts "$work/plan.json"

    gate=()
    [ -n "${INPUT_FAIL_ON:-}" ] && gate+=(--fail-on "$INPUT_FAIL_ON")
    [ "${INPUT_DETAILED_EXITCODE:-false}" = true ] && gate+=(--detailed-exitcode)
    # `--format github` appends the markdown report to the step summary: catch it on its way
    # there, so the comment carries exactly what the summary shows.
    GITHUB_STEP_SUMMARY="$work/plan.md" livehook plan "${paths[@]}" --format github ${gate[@]+"${gate[@]}"}
    status=$?
    if [ -s "$work/plan.md" ]; then
      cat "$work/plan.md" >> "$GITHUB_STEP_SUMMARY"
      echo "plan-markdown=$work/plan.md" >> "$GITHUB_OUTPUT"
    fi
    finish "$status"
    ;;
  apply)
    if [ -n "${INPUT_PLAN_FILE:-}" ]; then
      # The reviewed plan, exactly: apps whose live state moved since are refused.
      livehook apply --plan "$INPUT_PLAN_FILE" --color never | tee "$work/apply.txt"
    else
      livehook apply "${paths[@]}" --auto-approve --color never | tee "$work/apply.txt"
    fi
    status=${PIPESTATUS[0]}
    {
      echo '### livehook apply'
      echo
      echo '```text'
      cat "$work/apply.txt"
      echo '```'
    } >> "$GITHUB_STEP_SUMMARY"
    finish "$status"
    ;;
  *)
    echo "::error title=livehook::unknown command '$INPUT_COMMAND': use validate, plan or apply"
    finish 1
    ;;
esac
