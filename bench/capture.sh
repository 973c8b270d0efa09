#!/usr/bin/env bash
# What reading the command's output costs `watch` (issue 14, capture): a command printing 100 MB
# to a pipe, alone, under `watch --no-capture` and under `watch` (capture on), side by side with
# hyperfine (apt-get install hyperfine; 1.15 or later for --output=pipe). Three inputs: ordinary
# log lines, pytest -v lines (every one of them a node id the Python recogniser reads), and
# coloured output with carriage-return progress (every line goes through escape removal).
#
#   bench/capture.sh                  # all three inputs
#   INPUTS="pytest-v" RUNS=5 bench/capture.sh
#   BIN=target/release/crashdelta bench/capture.sh   # skip the build (another binary)
#   BEFORE=/tmp/crashdelta-old bench/capture.sh      # and capture by another build, alongside
#
# Output to a pipe (hyperfine --output=pipe) as in CI, where a log is read through one (on a
# terminal `watch` captures through a pseudo-terminal instead). The ratio of capture against
# `watch --no-capture` is what to read: `watch` adds a fixed cost of its own either way.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${BIN:-}" ]]; then
  cargo build --release --quiet
  BIN=$PWD/target/release/crashdelta
fi
SIZE=${SIZE:-100000000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir "$work/reports"

# Writes SIZE bytes of the lines Python's generator yields (repeated, cut at a line end).
gen() {
  python3 - "$1" "$SIZE" "$2" <<'PY'
import sys
path, size, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = []
if kind == "ordinary":
    for i in range(4000):
        lines.append(
            [
                f"2026-11-30T12:{i % 60:02}:{i % 59:02}.{i:06}Z INFO  server::handler{i % 17}: request id={i * 7919} path=/api/v1/items/{i} status=200 took={i % 97}ms",
                f"tensor([[0.{i:04}, -1.{i % 1000:03}e-02, 3.{i % 77:02}], [0.5, 0.25, {i}.0]], device='mps:0')",
                f"    at com.example.Service.call(Service.java:{i % 300}) value={i}",
                "",
                f"compiling module_{i} ({i % 13} of 13) ... done in {i % 50}.{i % 10}s",
            ][i % 5]
        )
elif kind == "pytest-v":
    for i in range(4000):
        pct = i * 100 // 4000
        lines.append(
            f"tests/test_ops.py::TestCommonMPS::test_out_op{i}_mps_float32 PASSED   [{pct:3}%]"
        )
elif kind == "colour-cr":
    for i in range(4000):
        lines.append(
            [
                f"\x1b[32mPASSED\x1b[0m tests/test_ops.py::test_case_{i} \x1b[2m[{i % 100}%]\x1b[0m",
                f"downloading shard {i}: {i % 100}%\rdownloading shard {i}: 100%",
                f"\x1b[1m\x1b[33mwarning\x1b[0m: unused variable `x{i}`",
            ][i % 3]
        )
else:
    sys.exit(f"unknown input {kind}")
block = ("\n".join(lines) + "\n").encode()
with open(path, "wb") as f:
    for _ in range(size // len(block)):
        f.write(block)
    rest = block[: size % len(block)]
    f.write(rest[: rest.rfind(b"\n") + 1])
PY
}

for input in ${INPUTS:-ordinary pytest-v colour-cr}; do
  file=$work/$input.txt
  gen "$file" "$input"
  echo "## $input: $(wc -c <"$file") bytes, $(wc -l <"$file") lines"
  before=()
  if [[ -n "${BEFORE:-}" ]]; then
    before=(-n "watch -- cat (capture, $BEFORE)"
      "$BEFORE watch --settle 0s --reports-dir $work/reports -- cat $file")
  fi
  hyperfine -N --output=pipe --warmup 1 --runs "${RUNS:-10}" \
    --export-markdown "${OUT:-/dev/stdout}" --export-json "${JSON:-/dev/null}" \
    -n "cat ($input, the command alone)" "cat $file" \
    -n "watch --no-capture -- cat" \
    "$BIN watch --no-capture --settle 0s --reports-dir $work/reports -- cat $file" \
    -n "watch -- cat (capture)" \
    "$BIN watch --settle 0s --reports-dir $work/reports -- cat $file" \
    "${before[@]}"
done
