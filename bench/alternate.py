#!/usr/bin/env python3
"""Runs commands alternately, N rounds, and prints the median wall time and the median user,
system and total CPU time of each (from the kernel's accounting of the finished child).

On a machine shared with other work, hyperfine's runs of one command all fall in one stretch of
the other load; alternating the commands spreads the load over all of them alike, and CPU time
moves less with it than wall time does. Used for docs/performance.md (issue 17).

    bench/alternate.py 30 "before=/tmp/cd-before classify --format json DIR" \\
                          "now=target/release/crashdelta classify --format json DIR"

Each command is NAME=ARGV, split on spaces (no shell); its output is discarded. The last column
is each wall median over the first command's.
"""
import resource
import statistics
import subprocess
import sys
import time


def main():
    rounds = int(sys.argv[1])
    commands = [arg.split("=", 1) for arg in sys.argv[2:]]
    runs = {name: [] for name, _ in commands}
    for i in range(rounds):
        # Every other round in reverse order, so that no command always follows the same one.
        order = commands if i % 2 == 0 else list(reversed(commands))
        for name, argv in order:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(argv.split(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            wall = (time.perf_counter() - start) * 1000
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            user = (after.ru_utime - before.ru_utime) * 1000
            system = (after.ru_stime - before.ru_stime) * 1000
            runs[name].append((wall, user, system))
    # Each wall median against the first command's (the baseline: `cat`, or the build before).
    base = statistics.median(s[0] for s in runs[commands[0][0]])
    for name, samples in runs.items():
        wall = [s[0] for s in samples]
        user = [s[1] for s in samples]
        system = [s[2] for s in samples]
        cpu = [u + s for u, s in zip(user, system)]
        print(
            f"{name:12s} wall median {statistics.median(wall):7.1f} ms (min {min(wall):7.1f})"
            f"  user {statistics.median(user):6.1f}  system {statistics.median(system):6.1f}"
            f"  CPU {statistics.median(cpu):6.1f} ms  {statistics.median(wall) / base:5.2f}x"
        )


if __name__ == "__main__":
    main()
