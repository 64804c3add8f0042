#!/usr/bin/env bash
# Fuzz benchmark, in one run, on the committed digits MLP (tests/fixtures/onnx/digits_mlp.onnx):
#   1. single-row inferences/s: modelsec's attack query path vs bare `ort` session.run in Rust
#      (examples/fuzz_throughput.rs) vs the Python onnxruntime loop;
#   2. Square Attack at eps=0.2 on the same 20 digits rows (tests/fixtures/onnx/digits_rows.npy):
#      modelsec vs ART 1.20.1's SquareAttack (PyPI, in .venv-fuzzbench): success rate, median
#      queries to success, wall time;
#   3. HopSkipJump (label-only) at eps=0.2 on the same 20 rows with 2,500 queries per row:
#      modelsec vs ART 1.20.1's HopSkipJump (10 iterations, about 2,400 queries per row);
#   4. the contract probe suite (--attack none) on the three classifiers.
# Usage: bench/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-fuzzbench
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('adversarial-robustness-toolbox')=='1.20.1' and m.version('onnxruntime')=='1.31.1'" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet onnxruntime==1.31.1 adversarial-robustness-toolbox==1.20.1 scikit-learn==1.9.1
fi
./scripts/ort.sh
cargo build --release --locked --quiet
cargo build --release --locked --quiet --example fuzz_throughput
M=$PWD/target/release/modelsec
D=tests/fixtures/onnx
MODEL=$D/digits_mlp.onnx
ROWS=$D/digits_rows.npy

echo "== single-row inferences/s (digits MLP, 1 thread, best of 3 x 100k)"
./target/release/examples/fuzz_throughput "$MODEL" "$ROWS" 100000
ART=$("$VENV/bin/python" bench/fuzz_art.py "$MODEL" "$ROWS" 20 0.2)
echo "python_ort_inf_per_s $(python3 -c "import json,sys; print(json.loads(sys.argv[1])['python_ort_inf_per_s'])" "$ART")"

echo
echo "== Square Attack, L-inf eps=0.2, 20 rows, 1000 queries per row"
s=$(date +%s%N)
"$M" fuzz "$MODEL" --seeds "$ROWS" --rows 20 --epsilon 0.2 --attack square --format json > /tmp/modelsec-fuzz-bench.json || true
e=$(date +%s%N)
python3 - "$ART" /tmp/modelsec-fuzz-bench.json "$(( (e - s) / 1000000 ))" <<'PY'
import json, sys
art = json.loads(sys.argv[1]); v = json.load(open(sys.argv[2])); total_ms = int(sys.argv[3])
r = v["facts"]["robustness"]
print("| tool | success | median queries (successes) | attack wall s |")
print("|---|---:|---:|---:|")
print(f"| modelsec | {r['successes']}/{r['rows']} | {r['median_queries']} | {v['facts']['attack_seconds']} (then minimising the examples: {v['facts']['minimise_seconds']}; whole run incl. probes: {total_ms/1000:.2f}) |")
print(f"| ART 1.20.1 SquareAttack | {art['art_success_rate']*20:.0f}/20 | {art['art_median_queries_success']} | {art['art_seconds']} |")
print(f"speed-up: {art['art_seconds']/max(v['facts']['attack_seconds'],1e-9):.0f}x")
PY

echo
echo "== HopSkipJump (label-only), L-inf eps=0.2, 20 rows"
HSJ=$("$VENV/bin/python" bench/fuzz_art_hsj.py "$MODEL" "$ROWS" 20 0.2 10)
"$M" fuzz "$MODEL" --seeds "$ROWS" --rows 20 --epsilon 0.2 --attack hopskipjump --budget 2500 --format json > /tmp/modelsec-fuzz-bench-hsj.json || true
python3 - "$HSJ" /tmp/modelsec-fuzz-bench-hsj.json <<'PY'
import json, sys
art = json.loads(sys.argv[1]); v = json.load(open(sys.argv[2]))
r = v["facts"]["robustness"]
print("| tool | success | median queries | attack wall s |")
print("|---|---:|---:|---:|")
print(f"| modelsec (budget 2500, stops at success) | {r['successes']}/{r['rows']} | {r['median_queries']} to success | {v['facts']['attack_seconds']} (then minimising: {v['facts']['minimise_seconds']}) |")
print(f"| ART 1.20.1 HopSkipJump (max_iter 10) | {art['success']}/{art['rows']} | {art['median_queries_per_row']} per row | {art['seconds']} |")
print(f"speed-up: {art['seconds']/max(v['facts']['attack_seconds'],1e-9):.1f}x")
PY

echo
echo "== contract probe suite (--attack none)"
s=$(date +%s%N)
for m in iris_logreg digits_mlp digits_rf; do "$M" fuzz "$D/$m.onnx" --attack none --format json > /dev/null || true; done
e=$(date +%s%N)
echo "three models: $(awk "BEGIN{printf \"%.2f\", ($e - $s) / 1e9}") s"
