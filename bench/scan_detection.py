#!/usr/bin/env python3
"""Detection table: modelsec vs picklescan 1.0.5 vs modelscan 0.8.8 on the scan corpus.

Usage: scan_detection.py CORPUS_DIR MODELSEC PICKLESCAN MODELSCAN [--per-sample FILE]

Runs every tool once per corpus file (exit-code based, like the research note):
  F = flagged (exit 1), E = error / could not scan (any other non-zero), . = clean (exit 0).
For modelscan, exit 1 = issues, 2 = error, 3 = nothing scanned. A "." on a malicious sample is a
miss; an F or E on a benign one is a false alarm. Prints a per-group markdown table; with
--per-sample, writes one row per sample too.
"""
import collections
import json
import os
import subprocess
import sys


def outcome(cmd):
    try:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    except subprocess.TimeoutExpired:
        return "E"
    return {0: ".", 1: "F"}.get(r.returncode, "E")


def main():
    corpus, ms, ps, mo = sys.argv[1:5]
    per_sample = sys.argv[sys.argv.index("--per-sample") + 1] if "--per-sample" in sys.argv else None
    manifest = json.load(open(os.path.join(corpus, "manifest.json")))
    tools = {
        "modelsec": lambda p: [ms, "scan", p],
        "picklescan": lambda p: [ps, "-p", p],
        "modelscan": lambda p: [mo, "-p", p],
    }
    rows = []
    for e in manifest:
        path = os.path.join(corpus, e["file"])
        res = {t: outcome(f(path)) for t, f in tools.items()}
        rows.append((e, res))
    groups = collections.OrderedDict()
    for e, res in rows:
        g = e["file"].rsplit("/", 1)[0] if e["group"] == "malicious" else e["group"]
        groups.setdefault(g, []).append((e, res))
    print("| group (samples) | expect | " + " | ".join(tools) + " |")
    print("|---|---|" + "---|" * len(tools))
    totals = {t: collections.Counter() for t in tools}
    for g, items in groups.items():
        expect = items[0][0]["expect"]
        cells = []
        for t in tools:
            c = collections.Counter(r[t] for _, r in items)
            good = c["F"] if expect == "flag" else c["."]
            cells.append(f"{good}/{len(items)} ({c['F']}F {c['E']}E {c['.']}.)")
            for e, r in items:
                totals[t][(e["expect"], r[t])] += 1
        print(f"| {g} ({len(items)}) | {expect} | " + " | ".join(cells) + " |")
    n_flag = sum(1 for e, _ in rows if e["expect"] == "flag")
    n_clean = len(rows) - n_flag
    print(f"| **all to flag** ({n_flag}) | flag | " + " | ".join(f"**{totals[t][('flag', 'F')]}/{n_flag}** flagged, {totals[t][('flag', 'E')]} errors, {totals[t][('flag', '.')]} missed" for t in tools) + " |")
    print(f"| **all benign** ({n_clean}) | clean | " + " | ".join(f"**{totals[t][('clean', '.')]}/{n_clean}** clean, {totals[t][('clean', 'F')]} false alarms, {totals[t][('clean', 'E')]} errors" for t in tools) + " |")
    if per_sample:
        with open(per_sample, "w") as f:
            f.write("| sample | technique | ref | expect | " + " | ".join(tools) + " |\n|---|---|---|---|" + "---|" * len(tools) + "\n")
            for e, res in rows:
                f.write(f"| `{e['file']}` | {e['technique']} | {e['ref']} | {e['expect']} | " + " | ".join(res[t] for t in tools) + " |\n")


if __name__ == "__main__":
    main()
