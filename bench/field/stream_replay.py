#!/usr/bin/env python3
"""Offline replay of the monitor evaluation's dumped streams through the detector engine.

`bench/field/monitor_eval.sh --dump-streams --out DIR` keeps every session's rows and the model's
answers (DIR/streams.npz, or DIR/seed-N/streams.npz for several seeds). This converts each to
`replay.bin` (per request: u32 session index, u32 rows, u32 features, u32 scores sent (0/1), the rows
as f32, the labels as u32, the top-1 margins as f32; little-endian) and `replay.json` (the session
names), runs `target/release/examples/stream_replay` on it and prints, per session, the first
request each rule fired at, next to the harness's own first alert.

The engine sees each session as one client, one after another: per-client signals are exact (the
replay reproduces the harness's first alerts), cross-client ones (Sybil keys, popularity) are not.
A detector change is read on all of a set's sessions in seconds instead of a harness run.

Usage: bench/field/stream_replay.py RUN_DIR [--bin PATH] [--out FILE]
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np


def convert(d):
    z = np.load(os.path.join(d, "streams.npz"))
    names = sorted({k.split("/")[0] for k in z.files})
    with open(os.path.join(d, "replay.bin"), "wb") as out:
        for si, s in enumerate(names):
            rows = z[s + "/rows"].astype(np.float32)
            req = z[s + "/request"]
            if len(req) == 0:
                continue
            probs = np.sort(z[s + "/probs"], axis=1)
            margins = (probs[:, -1] - probs[:, -2]).astype(np.float32)
            labels = z[s + "/labels"].astype(np.uint32)
            scored = z[s + "/scored"] if (s + "/scored") in z.files else np.ones(len(req), bool)
            for idx in np.split(np.arange(len(req)), np.flatnonzero(np.diff(req)) + 1):
                r = np.ascontiguousarray(rows[idx])
                out.write(struct.pack("<IIII", si, r.shape[0], r.shape[1], int(bool(scored[idx[0]]))))
                out.write(r.tobytes())
                out.write(labels[idx].tobytes())
                out.write(margins[idx].tobytes())
    with open(os.path.join(d, "replay.json"), "w") as f:
        json.dump(names, f)
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "target", "release",
                                                  "examples", "stream_replay"))
    ap.add_argument("--out", help="also write the replay's findings (TSV) here")
    a = ap.parse_args()
    dirs = [a.run_dir] if os.path.exists(os.path.join(a.run_dir, "streams.npz")) else sorted(
        os.path.join(a.run_dir, e) for e in os.listdir(a.run_dir)
        if e.startswith("seed-") and os.path.exists(os.path.join(a.run_dir, e, "streams.npz")))
    if not dirs:
        sys.exit(f"{a.run_dir}: no streams.npz (run bench/field/monitor_eval.sh with --dump-streams)")
    if not os.path.exists(a.bin):
        sys.exit(f"{a.bin} missing: cargo build --release --locked --example stream_replay")
    sessions = json.load(open(os.path.join(a.run_dir, "sessions.json")))["sessions"]
    lines, same, total = [], 0, 0
    for d in dirs:
        convert(d)
        p = subprocess.run([a.bin, d], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"stream_replay {d}: {p.stderr.strip()}")
        seed = int(os.path.basename(d)[5:]) if os.path.basename(d).startswith("seed-") else None
        first = {}
        for l in p.stdout.splitlines():
            s, req, q, rule, msg = l.split("\t", 4)
            lines.append(f"{seed or ''}\t{l}")
            if s not in first or int(req) < first[s][0]:
                first[s] = (int(req), rule, msg)
        for s in sessions:
            if seed is not None and s.get("seed") != seed:
                continue
            h = s.get("alert")
            r = first.get(s["session"])
            total += 1
            same += (h["request"] if h else None) == (r[0] if r else None)
            print(f"{s.get('seed', '')}\t{s['session']}\t{s['meta'].get('persona', s['class'])}\t"
                  f"harness {h['request'] if h else '-'}\treplay {r[0] if r else '-'}\t{r[2][:120] if r else ''}")
    print(f"{same} of {total} sessions first alerted at the same request as in the harness run (the others: "
          "what this build's detectors changed, or cross-client evidence — a session spread over several keys is "
          "read as one client here)", file=sys.stderr)
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
