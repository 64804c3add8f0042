#!/usr/bin/env bash
# The offline replay's design data: every seen set of the monitor evaluation, streams dumped.
#
#   bench/field/seen_dumps.sh OUT_DIR [--print]
#
# For every client habit set of bench/field/monitor_eval.py (dev, dev-heavy, heldout, heldout2 …), its
# first seed's 52 benign clients (OUT_DIR/b-SET-SEED); for the dev attack classes and every held-out
# set's attack classes (HELDOUT*_ATTACKS), their sessions on that set's first seed
# (OUT_DIR/a-SET-SEED). Each is a `monitor_eval.sh --dump-streams` run; runs already in OUT_DIR are
# kept, so an interrupted call resumes. Then compare two builds of the detectors on all of it:
#
#   cargo build --release --locked --example stream_replay        # the new build; keep a copy of the old
#   bench/field/stream_replay.py OUT_DIR/*/ --bin target/release/examples/stream_replay --against OLD
#
# About an hour on 2 cores (not timed as one run: the pieces took 15 min for the benign sets and
# 60 min for the attack sets with three seeds of several; the Square classes that never succeed send
# 9,009 queries each).
# --print lists the runs instead. MODELSEC= and ORT_DYLIB_PATH= are passed to monitor_eval.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: bench/field/seen_dumps.sh OUT_DIR [--print]" >&2; exit 2; }
out=$1
print=${2:-}
[ -z "$print" ] || [ "$print" = --print ] || { echo "error: unknown option $print (only --print)" >&2; exit 2; }
py=.local/field/venv/bin/python
[ -x "$py" ] || py=python3
plan=$("$py" - <<'PY'
import importlib.util, re
spec = importlib.util.spec_from_file_location("me", "bench/field/monitor_eval.py")
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)


def seed(n):
    # The seeds each set was fixed with (bench/field/monitor-eval-notes.md, "Running it").
    if n in ("dev", "dev-heavy"):
        return 2026
    if n == "heldout":
        return 7301
    k = int(n[len("heldout"):])
    return 9101 if k == 2 else 9001 + 100 * k if k < 10 else 1000 * k + 1


for h in sorted(m.HABITS):
    print(f"b {h} {seed(h)} benign-shared=40,benign-private=12")
print("a dev 2026 " + ",".join(f"{c}={n}" for c, n in m.FULL.items() if not c.startswith("benign")))
for name in sorted(v for v in dir(m) if re.fullmatch(r"HELDOUT\d*_ATTACKS", v)):
    k = name[len("HELDOUT"):-len("_ATTACKS")]
    h = "heldout4" if k == "" else "heldout" + k  # --heldout-attacks are held out 4's classes
    print(f"a {h} {seed(h)} " + ",".join(f"{c}={n}" for c, n in getattr(m, name).items()))
PY
)
mkdir -p "$out"
while read -r kind set s counts; do
  dir="$out/$kind-$set-$s"
  if [ -n "$print" ]; then
    echo "bench/field/monitor_eval.sh --seeds $s --habits $([ "$kind" = b ] && echo "$set" || echo dev) --only --counts $counts --dump-streams --out $dir"
    continue
  fi
  [ -e "$dir/sessions.json" ] && continue
  rm -rf "$dir"
  echo "$(date -u +%T) $dir" >&2
  habits=dev
  [ "$kind" = b ] && habits=$set
  bench/field/monitor_eval.sh --seeds "$s" --habits "$habits" --only --counts "$counts" --dump-streams --out "$dir" \
    > "$dir.log" 2>&1 || { echo "error: $dir failed (see $dir.log)" >&2; exit 2; }
done <<< "$plan"
