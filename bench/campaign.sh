#!/usr/bin/env bash
# A campaign of a command that does not crash, with the runs' waits for late reports overlapped
# (the default) and `--sequential`, side by side with hyperfine (apt-get install hyperfine), against
# the goal of issue 17: N runs take at most N × (the command's time + 0.1 s) + one settle.
#
#   N=10 CMD_SECONDS=0.5 SETTLE=2 RUNS=3 bash bench/campaign.sh
#
# The folder holds ~380 prior reports (demo/make_history.sh), as a developer's Mac does.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-10}
t=${CMD_SECONDS:-0.5}
settle=${SETTLE:-2}
[ -n "${BIN:-}" ] || cargo build --release --quiet
bin=${BIN:-$PWD/target/release/crashdelta}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bash demo/make_history.sh "$work/reports" 16 >/dev/null
common="$bin watch --reports-dir $work/reports --repeat $n --settle ${settle}s -q --format json -o /dev/null"
hyperfine --warmup "${WARMUP:-1}" --runs "${RUNS:-3}" --export-json "$work/h.json" --export-markdown "$work/h.md" \
  -n "overlapped (default)" "$common -- sleep $t" \
  -n "sequential" "$common --sequential -- sleep $t" >&2
cat "$work/h.md"
python3 - "$work/h.json" "$n" "$t" "$settle" <<'EOF'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n, t, settle = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
goal = n * (t + 0.1) + settle
o, s = results["overlapped (default)"], results["sequential"]
print(f"\n{n} runs of `sleep {t}`, --settle {settle}s")
print(f"goal (N x (time + 0.1 s) + one settle): {goal:.2f} s")
print(f"overlapped: mean {o['mean']:.2f} s, max {max(o['times']):.2f} s -> {'met' if max(o['times']) <= goal else 'NOT met'}")
print(f"sequential: mean {s['mean']:.2f} s (N x (time + settle) = {n * (t + settle):.2f} s)")
print(f"sequential / overlapped: {s['mean'] / o['mean']:.2f}x")
print(f"added per run, overlapped: {(o['mean'] - settle) / n - t:.3f} s")
EOF
