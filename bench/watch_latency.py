#!/usr/bin/env python3
"""Latency from a crash report landing to `crashdelta watch` printing it.

The watched command is a writer (this script, in `--write` mode) that drops COUNT reports made
from testdata/derived into the reports folder, the way ReportCrash does (written under a hidden
name, then renamed into place), at seeded random intervals, and logs the time of each rename.
This process reads watch's stderr and stamps each "new crash report" line as it arrives. Both
use the same wall clock. Prints p50, p90, p99 and the maximum.

    python3 bench/watch_latency.py [--count 200] [--binary target/release/crashdelta] [--poll]
"""

import argparse
import glob
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(folder, count, log, seed):
    sources = sorted(glob.glob(os.path.join(ROOT, "testdata", "derived", "*.ips")))
    rng = random.Random(seed)
    with open(log, "w") as out:
        for n in range(count):
            src = sources[n % len(sources)]
            with open(src, encoding="utf-8") as f:
                text = f.read()
            text = re.sub(r'"incident_id":"[^"]*"', '"incident_id":"LAT%06d"' % n, text, count=1)
            name = "Python-lat-%04d.ips" % n
            hidden = os.path.join(folder, ".%s.tmp" % name)
            with open(hidden, "w", encoding="utf-8") as f:
                f.write(text)
            os.rename(hidden, os.path.join(folder, name))
            out.write("%s %.6f\n" % (name, time.time()))
            out.flush()
            time.sleep(rng.uniform(0.05, 0.25))


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "crashdelta"))
    ap.add_argument("--poll", action="store_true", help="use watch --poll")
    ap.add_argument("--write", nargs=2, metavar=("FOLDER", "LOG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:
        write(args.write[0], args.count, args.write[1], args.seed)
        return 0

    with tempfile.TemporaryDirectory() as work:
        folder = os.path.join(work, "DiagnosticReports")
        os.mkdir(folder)
        log = os.path.join(work, "landed.log")
        cmd = [args.binary, "watch", "--reports-dir", folder, "--settle", "1s", "--fail-on", "none"]
        if args.poll:
            cmd.append("--poll")
        cmd += ["--", sys.executable, os.path.abspath(__file__), "--count", str(args.count),
                "--seed", str(args.seed), "--write", folder, log]
        printed = {}
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)

        def read():
            for line in proc.stderr:
                now = time.time()
                m = re.search(r"new crash report.*?(Python-lat-\d+\.ips)", line)
                if m and m.group(1) not in printed:
                    printed[m.group(1)] = now

        reader = threading.Thread(target=read)
        reader.start()
        proc.wait()
        reader.join()
        landed = {}
        with open(log) as f:
            for line in f:
                name, t = line.split()
                landed[name] = float(t)

    latencies = [(printed[n] - t) * 1000 for n, t in landed.items() if n in printed]
    missed = sorted(set(landed) - set(printed))
    if not latencies:
        print("no report was printed live", file=sys.stderr)
        return 1
    mode = "poll" if args.poll else "events"
    print("watch (%s): %d reports landed, %d printed live, %d missed" % (
        mode, len(landed), len(latencies), len(missed)))
    print("landed -> printed: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms, mean %.1f ms" % (
        percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99),
        max(latencies), statistics.mean(latencies)))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
