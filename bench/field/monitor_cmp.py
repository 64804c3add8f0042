#!/usr/bin/env python3
"""Compare two runs of bench/field/monitor_eval.sh session by session.

Usage: bench/field/monitor_cmp.py RUN_DIR_A RUN_DIR_B   (each holding the run's sessions.json)

A session differs when whether it was flagged, its first alert, any signal's first query, or its
request or row count differs. Prints how many of the sessions differ and the first 40 of them.
Exit code 0 when none differ, 1 when some do, 2 when a run could not be read.
"""
import json
import sys


def load(run):
    try:
        with open(run.rstrip("/") + "/sessions.json") as f:
            sessions = json.load(f)["sessions"]
        return {(s["seed"], s["session"]): s for s in sessions}
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: could not read {run}/sessions.json ({e}); give two run folders of monitor_eval.sh (--out DIR)",
              file=sys.stderr)
        sys.exit(2)


def key(s):
    signals = {k: (v.get("query") if isinstance(v, dict) else v) for k, v in (s.get("signals") or {}).items()}
    return (s.get("flagged"), json.dumps(s.get("alert"), sort_keys=True), json.dumps(signals, sort_keys=True),
            s.get("requests"), s.get("rows"))


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    a, b = load(sys.argv[1]), load(sys.argv[2])
    differ = [k for k in sorted(set(a) | set(b)) if k not in a or k not in b or key(a[k]) != key(b[k])]
    print(f"{len(a)} vs {len(b)} sessions; {len(differ)} differ")
    for seed, name in differ[:40]:
        before = a.get((seed, name))
        after = b.get((seed, name))
        show = lambda s: "absent" if s is None else f"flagged={s.get('flagged')} alert={json.dumps(s.get('alert'))}"
        print(f"  {name}@{seed}: {show(before)} -> {show(after)}".encode("unicode_escape").decode("ascii"))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
