#!/usr/bin/env bash
# A stand-in for a PyTorch MPS stress test (see reference reports such as "complete_story (8x)"):
# eight workers encode GPU work at once; one dies inside the AGX driver, the harness retries it
# and the suite passes. macOS's ReportCrash would write the worker's crash report seconds later;
# here a background writer does, with the worker's real pid, into $REPORTS.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
echo "test: complete_story_test_suite (8 threads)"
for i in 1 2 3 4 5 6 7; do echo "test:   worker $i: 160/160 ops"; done

# Worker 8 crashes: a process that dies by SIGSEGV.
sh -c 'echo "test:   worker 8: encoding..."; sleep 0.3; kill -SEGV $$' &
worker=$!
wait "$worker" 2>/dev/null
echo "test:   worker 8: died (signal 11), retried: 160/160 ops"

# The late crash report, for the worker's pid, as ReportCrash would write it: to a temporary
# name, then renamed into place, about two seconds after the crash.
(
  sleep 2
  sed "s/\"pid\": 81920/\"pid\": $worker/; s/\"parentPid\": 81852/\"parentPid\": $$/" \
    "$root/testdata/derived/agx-prepareForEnqueue-0x98.ips" > "$REPORTS/.Python-2025-12-23-164107.ips.tmp"
  mv "$REPORTS/.Python-2025-12-23-164107.ips.tmp" "$REPORTS/Python-2025-12-23-164107.ips"
) &

echo "test: 8/8 PASS"
exit 0
