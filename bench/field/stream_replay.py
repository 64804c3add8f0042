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

With `--against OLD_BIN` it replays every RUN_DIR given with both builds instead and prints, per class (benign
clients by persona), the sessions flagged and caught before their success with each, and every session whose first
alert moved: a detector change read on every seen set at once.

Usage: bench/field/stream_replay.py RUN_DIR [RUN_DIR ...] [--bin PATH] [--against OLD_BIN] [--out FILE]
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np


def die(msg):
    """Could not run (exit 2, as every modelsec tool): `msg` says what is wrong and what to do."""
    print(f"stream_replay: {msg}", file=sys.stderr)
    sys.exit(2)


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


def seed_dirs(run_dir):
    """The directories of a run that hold streams: the run itself, or its seed-N directories."""
    if not os.path.isdir(run_dir):
        die(f"{run_dir}: not a run directory (give monitor_eval.sh --out directories)")
    if os.path.exists(os.path.join(run_dir, "streams.npz")):
        return [run_dir]
    return sorted(os.path.join(run_dir, e) for e in os.listdir(run_dir)
                  if e.startswith("seed-") and os.path.exists(os.path.join(run_dir, e, "streams.npz")))


def replay(binary, d):
    """Every finding of `binary` on the converted directory `d`: (lines, first alert per session)."""
    p = subprocess.run([binary, d], capture_output=True, text=True)
    if p.returncode != 0:
        die(f"{d}: the replay failed: {p.stderr.strip()}")
    first = {}
    for l in p.stdout.splitlines():
        s, req, q, rule, msg = l.split("\t", 4)
        if s not in first or int(req) < first[s][0]:
            first[s] = (int(req), rule, msg)
    return p.stdout.splitlines(), first


def compare(runs, new_bin, old_bin):
    """Per class, sessions flagged and caught before success by each build; the sessions that moved."""
    table, moved = {}, []
    for run_dir, d, seed, sessions in runs:
        _, new = replay(new_bin, d)
        _, old = replay(old_bin, d)
        for s in sessions:
            benign = s["class"].startswith("benign")
            key = "benign: " + str(s["meta"].get("persona", s["class"])) if benign else s["class"]
            t = table.setdefault(key, [0, 0, 0, 0, 0, 0])
            a, b = old.get(s["session"]), new.get(s["session"])
            t[0] += 1
            t[1] += a is not None
            t[2] += b is not None
            if not benign and s.get("success"):
                t[3] += 1
                t[4] += a is not None and a[0] <= s["success"]["request"]
                t[5] += b is not None and b[0] <= s["success"]["request"]
            if (a and a[0]) != (b and b[0]):
                moved.append(f"{run_dir}\t{seed or ''}\t{s['session']}\t{key}\t"
                             f"{a[0] if a else '-'} -> {b[0] if b else '-'}\t{(b or a)[2][:120]}")
    print("| class | sessions | flagged (old -> new) | caught before success (old -> new, of succeeded) |")
    print("|---|---:|---:|---:|")
    for key in sorted(table):
        n, fa, fb, ns, ca, cb = table[key]
        print(f"| {key} | {n} | {fa} -> {fb} | " + (f"{ca} -> {cb} of {ns}" if ns else "-") + " |")
    print("\nfirst alerts that moved (run, seed, session, class, request old -> new, message):")
    print("\n".join(moved) if moved else "none")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "target", "release",
                                                  "examples", "stream_replay"))
    ap.add_argument("--against", metavar="OLD_BIN", help="compare with this build of examples/stream_replay")
    ap.add_argument("--out", help="also write the replay's findings (TSV) here")
    a = ap.parse_args()
    for b in [a.bin] + ([a.against] if a.against else []):
        if not os.path.exists(b):
            die(f"{b} missing: cargo build --release --locked --example stream_replay")
    runs = []
    for run_dir in a.run_dirs:
        dirs = seed_dirs(run_dir)
        if not dirs:
            die(f"{run_dir}: no streams.npz (run bench/field/monitor_eval.sh with --dump-streams)")
        sessions = json.load(open(os.path.join(run_dir, "sessions.json")))["sessions"]
        for d in dirs:
            convert(d)
            seed = int(os.path.basename(d)[5:]) if os.path.basename(d).startswith("seed-") else None
            runs.append((run_dir, d, seed, [s for s in sessions if seed is None or s.get("seed") == seed]))
    if a.against:
        compare(runs, a.bin, a.against)
        return
    lines, same, total = [], 0, 0
    for run_dir, d, seed, sessions in runs:
        out, first = replay(a.bin, d)
        lines.extend(f"{seed or ''}\t{l}" for l in out)
        for s in sessions:
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
