#!/usr/bin/env bash
# bench/symbols.sh DIR [BIN...]: symbolicating a report against a big dSYM, side by side with
# reading the dSYM's DWARF file (`cat` to /dev/null, the baseline), in one invocation.
#
# DIR is what bench/make_big_dsym.sh built (default /tmp/bigdsym: `bench/make_big_dsym.sh
# /tmp/bigdsym` first, about 15 minutes on 2 cores). BIN is crashdelta (default: this checkout's
# release build, built first); several BINs (a build before a change, one after) are measured
# in the same invocation, each with its own rows.
#
# Rows, with hyperfine (apt-get install hyperfine):
# - cat: `cat DWARF > /dev/null`, the time to read the file (from the page cache: every row
#   reads it warm, as a command run after the build that wrote it does).
# - disk: `dd iflag=direct`, the time to read it from the disk, bypassing the page cache (without
#   dropping the cache, which would slow everything else on the machine).
# - index: `crashdelta symbolicate` of a report that names no frame of the image (so no symcache
#   is looked for): start-up, indexing the dSYM, parsing and writing a report.
# - cold: the report with 24 frames in the image, with an empty cache folder: index, build the
#   symcache (the slow step) and store it, look up the frames.
# - warm: the same, with the cache folder filled by the cold row: what every later command pays.
#   (A dSYM is looked up lazily in its DWARF since issue 17 part 3: nothing is cached, and cold
#   and warm are the same command.)
# - many: a report whose crashed thread has 500 frames at random offsets between the lowest and
#   the highest of the report's own frames in the image (seeded: the same every time), with the
#   warm row's cache folder: what a report with many frames costs (lazily, many compile units).
# - evicted: the cold row with the DWARF file dropped from the page cache first (posix_fadvise
#   DONTNEED on that file only, nothing else on the machine): what the lookups read comes from
#   the disk; compare with the disk row.
# Then peak memory (maximum resident set size, /usr/bin/time -v) of the cold and warm rows, and
# the ratios the goals are written in: cold / cat (goal <= 5), peak RSS / DWARF size (goal <= 1),
# warm (goal < 50 ms). Every row also checks the frames were named right, once, untimed. The
# CPU time (user + system, hyperfine's means) is printed too: on a machine shared with other
# work, a row's wall time includes waiting for a core.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/bigdsym}
shift || true
bins=("$@")
if [[ ${#bins[@]} -eq 0 ]]; then
  cargo build --release --locked --quiet
  bins=("$PWD/target/release/crashdelta")
fi
dsym=$dir/libbigdsym.dylib.dSYM
dwarf=$dsym/Contents/Resources/DWARF/libbigdsym.dylib
report=$dir/report.ips
[[ -f $dwarf && -f $report ]] || { echo "$0: no $dwarf: run bench/make_big_dsym.sh $dir first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A report none of whose frames is in the big image: the index row.
python3 - "$report" "$work/other.ips" <<'EOF'
import json, sys
header, body = open(sys.argv[1]).read().split("\n", 1)
doc = json.loads(body)
big = len(doc["usedImages"]) - 1
for t in doc["threads"]:
    t["frames"] = [f for f in t["frames"] if f.get("imageIndex") != big]
open(sys.argv[2], "w").write(header + "\n" + json.dumps(doc) + "\n")
EOF
# The report with 500 frames in the big image (the many row).
python3 - "$report" "$work/many.ips" <<'EOF'
import json, random, sys
random.seed(17)
header, body = open(sys.argv[1]).read().split("\n", 1)
doc = json.loads(body)
big = len(doc["usedImages"]) - 1
thread = next((t for t in doc["threads"] if t.get("triggered")), doc["threads"][0])
mine = [f for f in thread["frames"] if f.get("imageIndex") == big]
low = min(f["imageOffset"] for f in mine)
high = max(f["imageOffset"] for f in mine)
frames = []
for _ in range(500):
    frame = dict(mine[0])
    frame.pop("symbol", None)
    frame.pop("symbolLocation", None)
    frame["imageOffset"] = random.randrange(low, high)
    frames.append(frame)
thread["frames"] = frames
open(sys.argv[2], "w").write(header + "\n" + json.dumps(doc) + "\n")
EOF

# wc -c, not stat -c (GNU only): the same on Linux and macOS.
size=$(wc -c < "$dwarf" | tr -d ' ')
# The load average: /proc on Linux, sysctl on macOS.
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || sysctl -n vm.loadavg 2>/dev/null || echo "?"; }
echo "DWARF: $dwarf, $size bytes ($((size / 1048576)) MiB); load: $(load)"
# Drops the DWARF file's pages from the page cache (clean pages of this file only).
evict="python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' $dwarf"
commands=(-n "cat" "cat $dwarf > /dev/null"
  -n "disk" "dd if=$dwarf of=/dev/null bs=8M iflag=direct status=none")
# hyperfine takes one --prepare per command (in their order) or one for all.
prepares=(--prepare true --prepare true)
i=0
for bin in "${bins[@]}"; do
  i=$((i + 1))
  tag=""; [[ ${#bins[@]} -gt 1 ]] && tag=" [$i]"
  cold=$work/cold$i warm=$work/warm$i
  mkdir -p "$warm"
  sym() { echo "$bin symbolicate --format json --symbols $dsym --cache-dir $1 $2 > /dev/null"; }
  # Fill the warm cache, and check the names once.
  "$bin" symbolicate --format json --symbols "$dsym" --cache-dir "$warm" "$report" > "$work/named$i.json"
  python3 - "$work/named$i.json" "$dir/expected.tsv" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
frames = [f for f in doc["report"]["crashed_thread"]["frames"] if not f.get("inline")]
expected = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
wrong = [(o, n, f.get("symbol")) for (o, n), f in zip(expected, frames) if f.get("symbol") != n]
if wrong or len(frames) < len(expected):
    sys.exit(f"wrong names: {wrong[:3]} ({len(wrong)} of {len(expected)})")
print(f"names checked: {len(expected)} frames")
EOF
  commands+=(-n "index$tag" "$(sym "$warm" "$work/other.ips")")
  commands+=(-n "cold$tag" "$(sym "$cold" "$report")")
  commands+=(-n "warm$tag" "$(sym "$warm" "$report")")
  commands+=(-n "evicted$tag" "$(sym "$cold" "$report")")
  commands+=(-n "many$tag" "$(sym "$warm" "$work/many.ips")")
  prepares+=(--prepare true --prepare "rm -rf $cold && mkdir $cold" --prepare true
    --prepare "rm -rf $cold && mkdir $cold && $evict" --prepare true)
done
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$work/times.json" \
  --export-markdown "${OUT:-/dev/null}" "${prepares[@]}" "${commands[@]}"

i=0
for bin in "${bins[@]}"; do
  i=$((i + 1))
  rm -rf "$work/rss$i" && mkdir "$work/rss$i"
  for row in cold warm many; do
    input=$report
    [[ $row == many ]] && input=$work/many.ips
    /usr/bin/time -f "%M" -o "$work/$row$i.rss" "$bin" symbolicate --format json --symbols "$dsym" \
      --cache-dir "$work/rss$i" "$input" > /dev/null
  done
done
python3 - "$work" "$size" "${#bins[@]}" <<'EOF'
import json, sys
work, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = {r["command"]: r for r in json.load(open(f"{work}/times.json"))["results"]}
cat, disk = rows["cat"]["median"], rows["disk"]["median"]
print(f"\ncat: {cat * 1000:.0f} ms median ({size / cat / 1e9:.2f} GB/s)")
print(f"disk: {disk * 1000:.0f} ms median ({size / disk / 1e9:.2f} GB/s)")
for i in range(1, n + 1):
    tag = f" [{i}]" if n > 1 else ""
    print(f"--{tag}")
    for row in ("index", "cold", "warm", "evicted", "many"):
        r = rows[row + tag]
        t, cpu = r["median"], r["user"] + r["system"]
        print(f"{row:5}: {t * 1000:8.1f} ms median = {t / cat:6.2f} x cat = {t / disk:5.2f} x disk"
              f" (CPU {cpu * 1000:.1f} ms user+system)")
    for row in ("cold", "warm", "many"):
        kb = int(open(f"{work}/{row}{i}.rss").read().split()[-1])
        print(f"{row:5} peak RSS: {kb / 1024:7.1f} MiB = {kb * 1024 / size:.2f} x DWARF size")
EOF
echo "load at the end: $(load)"
