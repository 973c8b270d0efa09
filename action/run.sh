#!/usr/bin/env bash
# Runs the command under `crashdelta watch`: the GitHub Action's main step (action.yml), usable
# alone. Inputs come from the environment, never from the script's text, and reach crashdelta
# as separate arguments (no eval): a command's spaces and quotes are bash's to read, once.
#
# Environment (the action's inputs):
#   INPUT_COMMAND      the test command, a bash script as in a `run:` step (required)
#   INPUT_FAIL_ON      --fail-on (any, agx, metal, unknown, regression, none; crashdelta's default: any)
#   INPUT_ALLOW        rule ids for --allow, separated by spaces or newlines
#   INPUT_SETTLE       --settle (5s, 30, 2m)
#   INPUT_RULES        --rules FILE
#   INPUT_SYMBOLS      --symbols paths, one per line
#   INPUT_COLLECT      --collect DIR (default: reports/ in the output folder)
#   INPUT_REPORTS_DIR  --reports-dir folders, one per line (default: crashdelta's, the
#                      DiagnosticReports folders)
#   CRASHDELTA         the binary (default: crashdelta on PATH)
#   CRASHDELTA_OUT     where the record and the summary go (default: $RUNNER_TEMP/crashdelta)
#
# Writes summary.md (appended to $GITHUB_STEP_SUMMARY) and record.json (the JSON run record)
# into CRASHDELTA_OUT; sets the outputs `new-crashes` (the run's new crash reports, not other
# programs'), `gate` (`passed`, `failed`, or `error` when crashdelta wrote no record: the
# command could not be started, bad arguments), `record`, `summary` and `collect` in
# $GITHUB_OUTPUT; and exits with crashdelta's exit code (the command's own when the gate passes,
# 86 when it fails: docs/exit-codes.md).
set -euo pipefail

die() {
  echo "crashdelta action: $*" >&2
  exit 2
}

[[ -n ${INPUT_COMMAND:-} ]] || die "the command input is empty"
crashdelta=${CRASHDELTA:-crashdelta}
out=${CRASHDELTA_OUT:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/crashdelta}
mkdir -p "$out"
record=$out/record.json
summary=$out/summary.md
collect=${INPUT_COLLECT:-$out/reports}
# Each output is one line of $GITHUB_OUTPUT.
[[ $out != *$'\n'* && $collect != *$'\n'* ]] || die "a path with a newline"
# A record or summary of an earlier use of the action in this job is not this run's.
rm -f "$record" "$summary"

args=(watch --format markdown --output "$summary" --json "$record" --collect "$collect")
[[ -z ${INPUT_FAIL_ON:-} ]] || args+=(--fail-on "$INPUT_FAIL_ON")
[[ -z ${INPUT_SETTLE:-} ]] || args+=(--settle "$INPUT_SETTLE")
[[ -z ${INPUT_RULES:-} ]] || args+=(--rules "$INPUT_RULES")
# Split on spaces and newlines only, never globbed.
read -r -d '' -a allow < <(printf '%s\0' "${INPUT_ALLOW:-}") || true
for rule in "${allow[@]+"${allow[@]}"}"; do
  args+=(--allow "$rule")
done
# One path per line (a path may hold spaces); empty lines are skipped.
while IFS= read -r path; do
  [[ -z $path ]] || args+=(--symbols "$path")
done <<<"${INPUT_SYMBOLS:-}"
while IFS= read -r path; do
  [[ -z $path ]] || args+=(--reports-dir "$path")
done <<<"${INPUT_REPORTS_DIR:-}"
# As a `run:` step runs its script: bash, stopping at the first failing command or pipe.
args+=(-- bash --noprofile --norc -eo pipefail -c "$INPUT_COMMAND")

status=0
"$crashdelta" "${args[@]}" || status=$?

# What the record says, with jq (on GitHub's runners) or else Python.
field() {
  if command -v jq >/dev/null 2>&1; then
    jq -r "$1" "$record"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print({"new": len(d["new"]) - d["concurrent"], "passed": d["gate"]["passed"]}[sys.argv[2]])' \
      "$record" "$2" | tr 'TF' 'tf'
  else
    echo "crashdelta action: neither jq nor python3 to read $record" >&2
    echo ""
  fi
}

# Reading the record never changes the exit code: crashdelta's stands.
new=0
gate=error
if [[ -s $record ]]; then
  new=$(field '(.new | length) - .concurrent' new) || new=
  [[ $new =~ ^[0-9]+$ ]] || new=0
  case "$(field '.gate.passed' passed || true)" in
    true) gate=passed ;;
    false) gate=failed ;;
  esac
fi
if [[ -s $summary && -n ${GITHUB_STEP_SUMMARY:-} ]]; then
  cat "$summary" >>"$GITHUB_STEP_SUMMARY"
fi
if [[ -n ${GITHUB_OUTPUT:-} ]]; then
  {
    echo "new-crashes=$new"
    echo "gate=$gate"
    echo "record=$record"
    echo "summary=$summary"
    echo "collect=$collect"
  } >>"$GITHUB_OUTPUT"
fi
echo "crashdelta action: exit $status, gate $gate, $new new crash report(s) of the run" >&2
exit "$status"
