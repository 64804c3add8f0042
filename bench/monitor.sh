#!/usr/bin/env bash
# Monitor benchmark, in one run, on loopback with the committed digits MLP:
#   1. latency and throughput of `modelsec serve` with the monitor off (--no-monitor) and on
#      (API keys, rate/volume accounting, schema and baseline checks, OOD, PRADA, near-duplicate
#      fingerprints, boundary walk, harvesting, a request event per request in the chained log,
#      group durability), and on with client state shared through Redis ([state] backend =
#      "redis", Debian's redis-server on loopback): wrk, 1 connection (latency p50/p99) and 32
#      connections (requests/s); off and on also with a busy client sending 2,000 different rows
#      in turn (its detector state full), whose added serial latency is also read paired (an off
#      and an on server side by side, 2-second runs in turn: drift between phases cancels);
#   2. event-log throughput (examples/log_throughput.rs): group and always durability;
#   3. detection (examples/monitor_replay.rs): benign sessions (false positives), Square attack
#      sessions (one key, and split over 5 keys), HopSkipJump sessions, synthetic extraction
#      sessions; flagged share and queries to the first alert.
# Server, load generator and replay share the machine's 2 cores. wrk comes from Debian.
# Usage: bench/monitor.sh [SECONDS per wrk run, default 10]
# Env: MODELSEC=/path/to/modelsec measures that binary (say, a before and an after build in one
# session) instead of building and measuring target/release/modelsec.
set -euo pipefail
. "$(dirname "$0")/../scripts/abs-env.sh"
cd "$(dirname "$0")/.."
DUR=${1:-10}
if [ -n "${MODELSEC:-}" ] && [ ! -x "$MODELSEC" ]; then
  echo "error: MODELSEC=$MODELSEC is not an executable file; point it at a modelsec binary, or unset it to build and measure target/release/modelsec" >&2
  exit 2
fi
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else sudo apt-get install -y wrk >/dev/null; fi
fi
./scripts/ort.sh
./scripts/services.sh
[ -n "${MODELSEC:-}" ] || cargo build --release --locked --quiet
cargo build --release --locked --quiet --example log_throughput --example monitor_replay
M=${MODELSEC:-$PWD/target/release/modelsec}
D=$PWD/tests/fixtures/onnx
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT

# 500 API keys (key-N → clientN), no rate limits (requests or rows) or budget (the load is one
# client).
python3 - "$T/monitor.toml" <<'PY'
import hashlib, sys
with open(sys.argv[1], "w") as f:
    f.write("[auth]\nrequired = true\n")
    for i in range(500):
        f.write(f'[[auth.keys]]\nclient = "client{i}"\nsha256 = "{hashlib.sha256(f"key-{i}".encode()).hexdigest()}"\n')
    f.write("[limits]\nrate = 0\nrow_rate = 0\nvolume = 0\n")
PY
# Two wrk scripts from the committed digits rows: one row re-sent (post.lua, key-499), and a busy
# client's load (varied.lua, key-498): one key sending 2,000 different rows in turn (seeded blends
# a·x + (1−a)·y of two of the 40 digits, a in [0.2, 0.8]), so its detector state fills (its
# coverage keeps its 500 different inputs, the ring its last 128) and every row is compared with it.
python3 - "$D/digits_rows.npy" "$T/post.lua" "$T/varied.lua" <<'PY'
import json, random, struct, sys
raw = open(sys.argv[1], "rb").read()
hl = struct.unpack("<H", raw[8:10])[0]
n = (len(raw) - 10 - hl) // 256
rows = [list(struct.unpack("<64f", raw[10 + hl + 256 * i:10 + hl + 256 * (i + 1)])) for i in range(n)]
def body(row):
    return json.dumps({"inputs": [{"name": "X", "shape": [1, 64], "datatype": "FP32", "data": row}]})
open(sys.argv[2], "w").write('wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer key-499"\n' % json.dumps(body(rows[0])))
rng = random.Random(7)
bodies = []
for _ in range(2000):
    x, y = rng.sample(rows, 2)
    a = rng.uniform(0.2, 0.8)
    bodies.append(body([round(a * u + (1 - a) * v, 6) for u, v in zip(x, y)]))
with open(sys.argv[3], "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer key-498"\n')
    f.write("local bodies = {\n" + ",\n".join(json.dumps(b) for b in bodies) + "\n}\n")
    f.write("local i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n")
PY

start() { # port, extra args...; sets PID
  local port=$1; shift
  "$M" serve "$D/digits_mlp.onnx" --listen "127.0.0.1:$port" "$@" 2> "$T/serve-$port.err" &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && return; sleep 0.1; done
  cat "$T/serve-$port.err"; exit 2
}
measure() { # label, port[, wrk script: default one row re-sent]
  local url="http://127.0.0.1:$2/v2/models/digits_mlp/infer" script=${3:-$T/post.lua}
  wrk -t1 -c1 -d"${DUR}s" --latency -s "$script" "$url" > "$T/serial.txt"
  wrk -t2 -c32 -d"${DUR}s" --latency -s "$script" "$url" > "$T/c32.txt"
  python3 - "$1" "$T/serial.txt" "$T/c32.txt" <<'PY'
import re, sys
def us(v):
    n, u = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 1, "ms": 1e3, "s": 1e6}[u]
def pct(path, p):
    m = re.search(r"^\s+%s%%\s+(\S+)" % p, open(path).read(), re.M)
    return us(m.group(1))
def rps(path):
    return float(re.search(r"Requests/sec:\s+([\d.]+)", open(path).read()).group(1))
def errs(path):
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", open(path).read())
    return int(m.group(1)) if m else 0
s, c = sys.argv[2], sys.argv[3]
if errs(s) + errs(c):
    print(f"WARNING: {errs(s) + errs(c)} requests were not answered 200: the figures of {sys.argv[1]} are not valid", file=sys.stderr)
print(f"{sys.argv[1]} p50_us {pct(s,50):.0f} p99_us {pct(s,99):.0f} serial_rps {rps(s):.0f} c32_rps {rps(c):.0f} c32_p50_us {pct(c,50):.0f} c32_p99_us {pct(c,99):.0f} non2xx {errs(s)+errs(c)}")
PY
}

echo "== serving latency and throughput (wrk, ${DUR}s per run, OIP v2 body of one 64-value row)"
start 18180 --no-monitor --log "$T/off-events.jsonl"
measure monitor_off 18180 | tee "$T/off.txt"
measure monitor_off_varied 18180 "$T/varied.lua" | tee "$T/off-varied.txt"
kill "$PID"; wait "$PID" 2>/dev/null || true
start 18181 --config "$T/monitor.toml" --baseline "$D/digits_rows.npy" --log "$T/bench-events.jsonl"
measure monitor_on 18181 | tee "$T/on.txt"
kill "$PID"; wait "$PID" 2>/dev/null || true
# A fresh server for the busy client, so the one-row figures above are not read after it.
start 18184 --config "$T/monitor.toml" --baseline "$D/digits_rows.npy" --log "$T/varied-events.jsonl"
measure monitor_on_varied 18184 "$T/varied.lua" | tee "$T/on-varied.txt"
kill "$PID"; wait "$PID" 2>/dev/null || true
# The same monitor with client state in Redis: one EVALSHA round trip per request.
redis-server --port 18190 --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >/dev/null &
RPID=$!
for _ in $(seq 50); do redis-cli -p 18190 ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
cp "$T/monitor.toml" "$T/monitor-redis.toml"
printf '[state]\nbackend = "redis"\nurl = "redis://127.0.0.1:18190"\n' >> "$T/monitor-redis.toml"
start 18183 --config "$T/monitor-redis.toml" --baseline "$D/digits_rows.npy" --log "$T/redis-events.jsonl"
measure monitor_redis 18183 | tee "$T/redis.txt"
kill "$PID"; wait "$PID" 2>/dev/null || true
kill "$RPID"; wait "$RPID" 2>/dev/null || true
python3 - "$T/off.txt" "$T/on.txt" "$T/redis.txt" "$T/off-varied.txt" "$T/on-varied.txt" <<'PY'
import sys
def kv(p):
    t = open(p).read().split()
    return {t[i]: float(t[i + 1]) for i in range(1, len(t) - 1, 2)}
a, b, r, av, bv = (kv(p) for p in sys.argv[1:6])
print(f"added latency (serial): p50 {b['p50_us']-a['p50_us']:+.0f} us, p99 {b['p99_us']-a['p99_us']:+.0f} us; "
      f"requests/s at 32 connections: {a['c32_rps']:.0f} off, {b['c32_rps']:.0f} on")
print(f"busy client (2,000 different rows in turn), added latency (serial): p50 {bv['p50_us']-av['p50_us']:+.0f} us, "
      f"p99 {bv['p99_us']-av['p99_us']:+.0f} us; requests/s at 32 connections: {av['c32_rps']:.0f} off, {bv['c32_rps']:.0f} on")
print(f"redis state over local state (serial): p50 {r['p50_us']-b['p50_us']:+.0f} us, p99 {r['p99_us']-b['p99_us']:+.0f} us; "
      f"requests/s at 32 connections: {r['c32_rps']:.0f} redis, {r['c32_rps']/b['c32_rps']:.2f}x local; non-2xx {r['non2xx']:.0f}")
PY
# The busy client's added latency, paired: an unmonitored and a monitored server up side by side,
# 2-second serial runs against each in turn, five pairs; the median of the pairs' differences.
# Separate phases a minute apart drift by tens of µs on a shared machine; alternating pairs cancel it.
start 18186 --no-monitor --log "$T/paired-off-events.jsonl"; POFF=$PID
start 18187 --config "$T/monitor.toml" --baseline "$D/digits_rows.npy" --log "$T/paired-on-events.jsonl"; PON=$PID
for i in 1 2 3 4 5; do
  for p in 18186 18187; do
    wrk -t1 -c1 -d2s --latency -s "$T/varied.lua" "http://127.0.0.1:$p/v2/models/digits_mlp/infer" > "$T/paired-$p-$i.txt"
  done
done
kill "$POFF" "$PON"; wait "$POFF" "$PON" 2>/dev/null || true
python3 - "$T" <<'PY'
import re, statistics, sys
def p50(path):
    n, u = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)", open(path).read(), re.M).groups()
    return float(n) * {"us": 1, "ms": 1e3, "s": 1e6}[u]
bad = sum(int(m) for i in range(1, 6) for q in (18186, 18187)
          for m in re.findall(r"Non-2xx or 3xx responses: (\d+)", open(f"{sys.argv[1]}/paired-{q}-{i}.txt").read()))
if bad:
    print(f"WARNING: {bad} requests were not answered 200: the paired figures are not valid", file=sys.stderr)
off = [p50(f"{sys.argv[1]}/paired-18186-{i}.txt") for i in range(1, 6)]
on = [p50(f"{sys.argv[1]}/paired-18187-{i}.txt") for i in range(1, 6)]
d = sorted(b - a for a, b in zip(off, on))
print(f"busy client, paired (5 x 2 s serial, off and on in turn): added latency p50 median {statistics.median(d):+.0f} us "
      f"(pairs {', '.join(f'{x:+.0f}' for x in d)}); p50 off {statistics.median(off):.0f} us, on {statistics.median(on):.0f} us")
PY
# Rotated files first (`<path>.<first seq>`, which sort in chain order), the active file last.
set +e
"$M" log verify $(ls "$T"/bench-events.jsonl.* 2>/dev/null) "$T/bench-events.jsonl" --format json > "$T/verify.json"
rc=$?
set -e
echo "log of the monitored run: $(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v["facts"]["events"], "events in", v["facts"]["files"], "file(s), chain", "intact" if sys.argv[2] == "0" else "BROKEN")' "$T/verify.json" "$rc")"

echo
echo "== event log throughput"
./target/release/examples/log_throughput "$T" 200000 500

echo
echo "== detection (sessions replayed against a fresh monitored server)"
start 18182 --config "$T/monitor.toml" --baseline "$D/digits_rows.npy" --log "$T/detect-events.jsonl"
./target/release/examples/monitor_replay http://127.0.0.1:18182 "$T/detect-events.jsonl" 60 20 10 10 10
