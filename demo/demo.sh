#!/usr/bin/env bash
# The main job, on any machine: `crashdelta watch` around a test run that crashes in Apple's GPU
# driver, against a reports folder with a realistic history.
#
# 1. Builds crashdelta.
# 2. Makes a DiagnosticReports folder in a temporary directory and fills it with ~380 prior
#    reports generated from the real and derived reports in testdata/ (new incident ids and
#    names, spread over two weeks, some already moved to Retired/, some not crashes at all).
# 3. Runs demo/mps_stress_test.sh under `crashdelta watch`: a stand-in for a PyTorch MPS stress
#    test whose worker dies in the AGX driver; like macOS's ReportCrash, a background writer
#    puts the crash report in the folder about two seconds after the test has finished.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: building crashdelta (the first build takes a few minutes)" >&2
cargo build
bin=target/debug/crashdelta

work=$(mktemp -d "${TMPDIR:-/tmp}/crashdelta-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
reports="$work/DiagnosticReports"
mkdir -p "$reports/Retired"

bash demo/make_history.sh "$reports" 16
echo "demo: $(find "$reports" -type f | wc -l | tr -d ' ') prior reports in $reports"
echo "demo: running: crashdelta watch --reports-dir $reports -- demo/mps_stress_test.sh"
echo

set +e
REPORTS="$reports" "$bin" watch --reports-dir "$reports" --settle 4s -- demo/mps_stress_test.sh
code=$?
set -e
echo
case $code in
  86) echo "demo: crashdelta exited 86: the gate failed on the AGX driver crash, although the test itself passed (exit 0)." ;;
  *) echo "demo: crashdelta exited $code (expected 86: the gate failing on the driver crash)"; exit 1 ;;
esac
