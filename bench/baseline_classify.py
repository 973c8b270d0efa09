#!/usr/bin/env python3
"""What users do today, as a baseline: read each report, json.loads the header line and the
body, and take the faulting thread's top frame."""
import json
import os
import sys

for root, _dirs, files in os.walk(sys.argv[1]):
    for name in sorted(files):
        path = os.path.join(root, name)
        with open(path, "rb") as f:
            data = f.read()
        try:
            header, body = data.split(b"\n", 1)
            header = json.loads(header)
            body = json.loads(body)
        except ValueError:
            print(path, "unreadable")
            continue
        threads = body.get("threads") or []
        index = body.get("faultingThread", 0)
        frames = threads[index].get("frames", []) if index < len(threads) else []
        top = frames[0] if frames else {}
        image = (body.get("usedImages") or [{}])[top.get("imageIndex", 0)].get("name", "?") if top else "?"
        print(path, header.get("bug_type"), image, top.get("symbol", "?"))
