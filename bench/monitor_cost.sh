#!/usr/bin/env bash
# The detectors' work per row, in instructions (callgrind), for bench/monitor.sh's busy client:
# one API key sending 2,000 different rows in turn (seeded blends a·x + (1−a)·y of two of the
# committed digits rows), one row a request, serially, to `modelsec serve` of the digits MLP with
# the monitor on. Only Engine::observe (every detector over every row) is counted, so the figure
# is the same within 0.1 % from run to run whatever else the machine is doing (the detectors'
# hashing key is fixed) — the wall-clock figures of bench/monitor.sh are not. Give several
# binaries to compare them in one run.
# Usage: bench/monitor_cost.sh [MODELSEC binary ...]   (default: target/release/modelsec, built)
# Env: KEEP=DIR keeps each binary's callgrind profile as DIR/callgrind.N.out (N: its place in the
# list), to read where the instructions go: callgrind_annotate DIR/callgrind.1.out
set -euo pipefail
. "$(dirname "$0")/../scripts/abs-env.sh"
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y valgrind >/dev/null || { apt-get update >/dev/null && apt-get install -y valgrind >/dev/null; }
  else sudo apt-get install -y valgrind >/dev/null; fi
fi
./scripts/ort.sh
BINS=("$@")
if [ ${#BINS[@]} = 0 ]; then cargo build --release --locked --quiet; BINS=("$PWD/target/release/modelsec"); fi
for b in "${BINS[@]}"; do
  [ -x "$b" ] || { echo "error: $b is not an executable file; give modelsec binaries, or none to build and measure target/release/modelsec" >&2; exit 2; }
done
D=$PWD/tests/fixtures/onnx
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT
python3 - "$T/monitor.toml" "$D/digits_rows.npy" "$T/bodies.jsonl" <<'PY'
import hashlib, json, random, struct, sys
with open(sys.argv[1], "w") as f:
    f.write("[auth]\nrequired = true\n")
    for i in range(500):
        f.write(f'[[auth.keys]]\nclient = "client{i}"\nsha256 = "{hashlib.sha256(f"key-{i}".encode()).hexdigest()}"\n')
    f.write("[limits]\nrate = 0\nrow_rate = 0\nvolume = 0\n")
    # A fixed hashing key (a server draws its own otherwise): the same hashes, so the same count.
    f.write('[detect]\nkey = "%s"\n' % ("5a" * 32))
raw = open(sys.argv[2], "rb").read()
hl = struct.unpack("<H", raw[8:10])[0]
n = (len(raw) - 10 - hl) // 256
rows = [list(struct.unpack("<64f", raw[10 + hl + 256 * i:10 + hl + 256 * (i + 1)])) for i in range(n)]
rng = random.Random(7)  # as bench/monitor.sh's varied.lua
with open(sys.argv[3], "w") as f:
    for _ in range(2000):
        x, y = rng.sample(rows, 2)
        a = rng.uniform(0.2, 0.8)
        data = [round(a * u + (1 - a) * v, 6) for u, v in zip(x, y)]
        f.write(json.dumps({"inputs": [{"name": "X", "shape": [1, 64], "datatype": "FP32", "data": data}]}) + "\n")
PY
port=18290
for b in "${BINS[@]}"; do
  port=$((port + 1))
  valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" --toggle-collect='*Engine*observe*' \
    "$b" serve "$D/digits_mlp.onnx" --listen "127.0.0.1:$port" --config "$T/monitor.toml" \
    --baseline "$D/digits_rows.npy" --log "$T/events-$port.jsonl" 2> "$T/vg.err" &
  pid=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break; sleep 0.5; done
  python3 - "http://127.0.0.1:$port/v2/models/digits_mlp/infer" "$T/bodies.jsonl" <<'PY'
import sys, urllib.request
for line in open(sys.argv[2], "rb"):
    req = urllib.request.Request(sys.argv[1], data=line.rstrip(b"\n"), headers={"Content-Type": "application/json", "Authorization": "Bearer key-498"})
    with urllib.request.urlopen(req) as r:
        if r.status != 200:
            sys.exit(f"error: an answer was {r.status}, not 200: the figure would not be the detectors' work")
        r.read()
PY
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$T/vg.err")
  [ -n "$ir" ] || { cat "$T/vg.err" >&2; echo "error: callgrind reported no count for $b" >&2; exit 2; }
  echo "$b: Engine::observe $ir instructions for 2,000 rows ($((ir / 2000)) a row)"
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$T/cg.out" "$KEEP/callgrind.$((port - 18290)).out"; fi
done
