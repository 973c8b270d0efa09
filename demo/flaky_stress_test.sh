#!/bin/sh
# A stand-in for a flaky GPU stress test: the driver race fires on some runs and not others.
# Each run crashes with probability $CRASH_P (default 0.5), or never when $STRESS_FIX is set (the
# "fix" a comparison tries), decided by awk's generator seeded with $SEED and the run number, so a
# campaign is repeatable. A crash is what the real one looks like: the test exits 0 (the harness
# retried the worker) and the crash report lands 0.2 s later ($REPORT_DELAY), written under a hidden name and
# renamed into $REPORTS with this run's pid and its own incident id. Each decision is appended to
# $STATE/log ("run crashed(0|1) fix") so tests can check crashdelta's counts against it.
set -u
n=$(cat "$STATE/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$STATE/count"
p=${CRASH_P:-0.5}
[ -n "${STRESS_FIX:-}" ] && p=0
crash=$(awk -v s="${SEED:-1}" -v n="$n" -v p="$p" 'BEGIN { srand(s * 7919 + n); print (rand() < p) ? 1 : 0 }')
echo "$n $crash ${STRESS_FIX:-none}" >> "$STATE/log"
echo "test: stress run $n: 8/8 PASS"
if [ "$crash" = 1 ]; then
  pid=$$
  id=$(printf %04d "$n")
  (
    sleep "${REPORT_DELAY:-0.2}"
    sed -e "s/\"pid\": 81920/\"pid\": $pid/" \
        -e "s/5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D/5E0C2B1A-7F3D-4A9B-8C6E-00000000$id/g" \
        "$RACE" > "$REPORTS/.Python-$id.ips.tmp"
    mv "$REPORTS/.Python-$id.ips.tmp" "$REPORTS/Python-2025-12-23-16$id.ips"
  ) &
fi
exit 0
