#!/usr/bin/env bash
# Regenerate the committed ONNX test models (tests/fixtures/onnx/) with pinned scikit-learn,
# skl2onnx and onnx from PyPI, in ./.venv-models. Not run by CI: the models are committed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-models
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('skl2onnx')=='1.20.0'" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet scikit-learn==1.9.1 skl2onnx==1.20.0 onnx==1.23.2 pandas==3.1.1
fi
"$VENV/bin/python" scripts/gen_onnx_models.py tests/fixtures/onnx
