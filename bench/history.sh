#!/usr/bin/env bash
# What the history costs at a fleet's size (issue 18): a store of 100,000 crashes over two years
# (bench/make_history_db.py: 50,000 watched runs on 8 machines, one in 5 crashed with 10 crashes)
# and, side by side with hyperfine (apt-get install hyperfine):
#   - the weekly question: `crashdelta history` over the whole store, and over one week, against
#     the database answering the core GROUP BY alone (the sqlite3 shell, or psql);
#   - appending a run with 10 new crashes: `classify --history` of 10 fresh reports (new incident
#     ids each time) against the same `classify` without a history.
#
#   bash bench/history.sh                      # SQLite
#   STORE=postgres://... bash bench/history.sh # PostgreSQL (an empty database crashdelta may fill)
#
# RUNS (50000) and CRASH_EVERY (5) size the store; BIN names a crashdelta build.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${BIN:-}" ] || cargo build --release --quiet
bin=${BIN:-$PWD/target/release/crashdelta}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
store=${STORE:-$work/history.sqlite}
mkdir -p "$work/empty" "$work/ten"

# The schema, made by crashdelta itself, then the fleet's rows.
"$bin" classify -q --history "$store" "$work/empty" >/dev/null 2>&1 || true
python3 bench/make_history_db.py > "$work/fill.sql"
core="SELECT substr(captured, 1, 10), signature_id, count(*) FROM crashes GROUP BY 1, 2"
case "$store" in
  postgres://*|postgresql://*)
    # The bench rows come with their ids: the identity columns continue after them.
    { cat "$work/fill.sql"
      echo "SELECT setval(pg_get_serial_sequence('runs', 'id'), (SELECT max(id) FROM runs));"
      echo "SELECT setval(pg_get_serial_sequence('crashes', 'id'), (SELECT max(id) FROM crashes));"
    } | psql -q -v ON_ERROR_STOP=1 "$store" >/dev/null
    baseline=(psql -q -o /dev/null "$store" -c "$core")
    ;;
  *)
    python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2]).read())' \
      "$store" "$work/fill.sql"
    if command -v sqlite3 >/dev/null; then
      baseline=(sqlite3 "$store" "$core")
    else
      baseline=(python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()' "$store" "$core")
    fi
    ;;
esac
"$bin" history "$store" --since 2026-11-23 --until 2026-11-30 >&2

# Ten reports with fresh incident ids, made before each timed append.
cat > "$work/ten.sh" <<SH
set -e
rm -f "$work"/ten/*.ips
for i in 0 1 2 3 4 5 6 7 8 9; do
  id=\$(python3 -c 'import uuid; print(str(uuid.uuid4()).upper())')
  sed "s/5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D/\$id/g" testdata/derived/agx-prepareForEnqueue-0x98.ips > "$work/ten/r\$i.ips"
done
SH
quoted=$(printf '%q' "$store")
hyperfine -N --warmup 2 --runs "${RUNS_TIMED:-15}" --export-markdown "$work/q.md" \
  -n "database alone: GROUP BY day, signature" "${baseline[*]@Q}" \
  -n "history, all time by week" "$bin history $quoted --format json -o /dev/null" \
  -n "history, one week" "$bin history $quoted --since 2026-11-23 --until 2026-11-30 --format json -o /dev/null" >&2
hyperfine --warmup 2 --runs "${RUNS_TIMED:-15}" --prepare "sh $work/ten.sh" --export-markdown "$work/a.md" \
  -n "classify 10 reports" "$bin classify -q --format json -o /dev/null $work/ten" \
  -n "classify 10 reports --history (10 new crashes)" "$bin classify -q --format json -o /dev/null --history $quoted $work/ten" >&2
cat "$work/q.md" "$work/a.md"
"$bin" history "$store" --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); r, c = d["runs"]["runs"], d["crashes"]; print(f"store: {r} watched runs, {c} crashes")'
