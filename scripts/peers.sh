#!/usr/bin/env bash
# Install the Python peers modelsec is tested against into ./.venv (from PyPI):
#   model-signing 1.1.1 + pyopenssl   signing interop
#   numpy, joblib, scikit-learn, h5py  real files for the scan corpus
#   pre-commit                          the hooks in .pre-commit-hooks.yaml, as users run them
# Idempotent: does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PY=${PYTHON:-python3}
want_ms="1.1.1" want_np="2.4.6" want_jl="1.6.0" want_sk="1.9.1" want_h5="3.16.0" want_pc="4.5.1"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "
import importlib.metadata as m, OpenSSL
assert m.version('model-signing') == '$want_ms'
assert m.version('numpy') == '$want_np'
assert m.version('joblib') == '$want_jl'
assert m.version('scikit-learn') == '$want_sk'
assert m.version('h5py') == '$want_h5'
assert m.version('pre-commit') == '$want_pc'" 2>/dev/null; then
  exit 0
fi
command -v "$PY" >/dev/null || { echo "error: $PY not found; install Python 3 (apt-get install python3 python3-venv)" >&2; exit 2; }
echo "installing model-signing==$want_ms, pyopenssl, numpy==$want_np, joblib==$want_jl, scikit-learn==$want_sk, h5py==$want_h5, pre-commit==$want_pc into $VENV (PyPI)" >&2
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# model-signing 1.1.1 imports OpenSSL without declaring pyOpenSSL; install it explicitly.
"$VENV/bin/pip" install --quiet "model-signing==$want_ms" pyopenssl \
  "numpy==$want_np" "joblib==$want_jl" "scikit-learn==$want_sk" "h5py==$want_h5" \
  "pre-commit==$want_pc"
