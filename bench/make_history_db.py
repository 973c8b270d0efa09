#!/usr/bin/env python3
"""SQL that fills a crashdelta history (schema 2) with a fleet's two years: RUNS watched runs on
8 machines, one in CRASH_EVERY of them crashed with 10 crashes each (so 100,000 crashes at the
defaults), across 40 signatures, 6 OS builds and 4 driver versions, a third of the crashes with a
test id. Deterministic (seeded). Prints portable SQL (multi-row INSERTs, explicit ids) that
python's sqlite3 and psql both run: `bench/history.sh` loads it into each store.

    RUNS=50000 CRASH_EVERY=5 python3 bench/make_history_db.py > fill.sql
"""
import os
import random
import sys
from datetime import datetime, timedelta, timezone

runs = int(os.environ.get("RUNS", "50000"))
crash_every = int(os.environ.get("CRASH_EVERY", "5"))
# Ids from here on: clear of the rows crashdelta wrote when it made the store.
base = 1_000_000
rng = random.Random(18)
start = datetime(2024, 12, 1, tzinfo=timezone.utc)
span = timedelta(days=730)
machines = [f"mac-mini-{i}" for i in range(1, 9)]
builds = ["24A335", "24B83", "24C101", "24G84", "24G419", "25A354"]
drivers = ["325.34.1", "327.5", "329.2", "342.1"]
signatures = [(f"{rng.getrandbits(64):016x}", f"rule-{i % 12}") for i in range(40)]
tests = [f"tests/test_mps.py::test_op_{i}" for i in range(25)]


def t(d):
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def q(s):
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


out = sys.stdout
out.write("BEGIN;\n")
crash_id = base
batch_runs, batch_crashes, batch_sightings = [], [], []


def flush():
    if batch_runs:
        out.write(
            "INSERT INTO runs (id, kind, machine, os_user, command, started, ended, settled, "
            "exit_code, gate_passed, configuration, os_build, crashes, unreadable, pids) VALUES\n"
            + ",\n".join(batch_runs) + ";\n")
    if batch_crashes:
        out.write(
            "INSERT INTO crashes (id, key, incident_id, captured, signature_id, signature, rule, "
            "known, family, title, location, process, pid, os_build, driver, driver_version, "
            "hardware_model, test_id, first_run) VALUES\n" + ",\n".join(batch_crashes) + ";\n")
    if batch_sightings:
        out.write(
            "INSERT INTO sightings (run, crash, attribution, basis, path, rule) VALUES\n"
            + ",\n".join(batch_sightings) + ";\n")
    batch_runs.clear(), batch_crashes.clear(), batch_sightings.clear()


times = sorted(start + span * rng.random() for _ in range(runs))
for run_id, when in enumerate(times, base + 1):
    crashed = run_id % crash_every == 0
    n = 10 if crashed else 0
    machine = machines[run_id % len(machines)]
    config = ["baseline", "serialised-encoding", None][run_id % 3]
    build = builds[min(len(builds) - 1, int((when - start) / span * len(builds)))]
    batch_runs.append(
        f"({run_id}, 'watch', {q(machine)}, 'ci', '[\"pytest\",\"tests/mps\"]', {q(t(when))}, "
        f"{q(t(when + timedelta(seconds=90)))}, {q(t(when + timedelta(seconds=95)))}, "
        f"{1 if crashed else 0}, {0 if crashed else 1}, {q(config)}, {q(build)}, {n}, 0, '[{4000 + run_id % 60000}]')")
    for k in range(n):
        crash_id += 1
        sig, rule = signatures[min(len(signatures) - 1, int(rng.expovariate(0.15)))]
        driver = drivers[min(len(drivers) - 1, int((when - start) / span * len(drivers)))]
        test = tests[rng.randrange(len(tests))] if k % 3 == 0 else None
        captured = when + timedelta(seconds=10 + k)
        batch_crashes.append(
            f"({crash_id}, 'BENCH-{crash_id:08d}', 'BENCH-{crash_id:08d}', {q(t(captured))}, "
            f"'{sig}', 'EXC_BAD_ACCESS|AGX::frame{sig[:4]}', {q(rule)}, {k % 2}, 'agx', "
            f"'bench crash', 'AGX::ComputeContext::prepareForEnqueue(bool) + 1268', 'Python', "
            f"{10000 + k}, {q(build)}, 'AGXMetalG16X', {q(driver)}, 'Mac16,10', {q(test)}, {run_id})")
        batch_sightings.append(
            f"({run_id}, {crash_id}, 'run', 'process-tree', '/r/Python-{crash_id}.ips', {q(rule)})")
    if len(batch_runs) >= 500:
        flush()
flush()
out.write("COMMIT;\n")
print(f"{runs} runs, {crash_id - base} crashes", file=sys.stderr)
