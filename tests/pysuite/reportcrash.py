"""Stands in for macOS's ReportCrash: writes the AGX race report for a crashed pid.

Usage: reportcrash.py PID PARENT_PID. Waits until PID has ended, then writes
$CRASHDELTA_E2E_RACE with PID, PARENT_PID, a new incident id, and the capture and launch times of now into
$CRASHDELTA_E2E_REPORTS, renamed into place as ReportCrash does.
"""
import os
import re
import sys
import time
import uuid


def ended(pid):
    """Whether pid has ended: gone, or a zombie its parent has not yet waited for."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return False


def main():
    pid, parent = int(sys.argv[1]), int(sys.argv[2])
    deadline = time.monotonic() + 10
    while not ended(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    # ReportCrash takes a moment to write the report after the process has died.
    time.sleep(0.3)
    now = time.strftime("%Y-%m-%d %H:%M:%S.00 +0000", time.gmtime())
    with open(os.environ["CRASHDELTA_E2E_RACE"], encoding="utf-8") as f:
        text = f.read()
    for field, value in (
        ("pid", pid),
        ("parentPid", parent),
        ("responsiblePid", pid),
        ("byPid", pid),
    ):
        text = re.sub(rf'"{field}" *: *\d+', f'"{field}": {value}', text)
    for field in ("captureTime", "procLaunch"):
        text = re.sub(rf'"{field}" *: *"[^"]*"', f'"{field}": "{now}"', text)
    # Every crash is an incident of its own, with an id of its own (the header's incident_id
    # and the body's incident are the same).
    incident = str(uuid.uuid4()).upper()
    text = re.sub(r'"(incident_id|incident)" *: *"[^"]*"', rf'"\1": "{incident}"', text)
    folder = os.environ["CRASHDELTA_E2E_REPORTS"]
    tmp = os.path.join(folder, f".Python-{pid}.ips.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(tmp, os.path.join(folder, f"Python-{time.strftime('%Y-%m-%d-%H%M%S')}-{pid}.ips"))


main()
