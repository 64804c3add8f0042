#!/usr/bin/env bash
# Install the Python peers modelsec is tested and benchmarked against into ./.venv (from PyPI).
# Idempotent: does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PY=${PYTHON:-python3}
want_ms="1.1.1"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "
import importlib.metadata as m, OpenSSL
assert m.version('model-signing') == '$want_ms'" 2>/dev/null; then
  exit 0
fi
command -v "$PY" >/dev/null || { echo "error: $PY not found; install Python 3 (apt-get install python3 python3-venv)" >&2; exit 2; }
echo "installing model-signing==$want_ms and pyopenssl into $VENV (PyPI)" >&2
"$PY" -m venv "$VENV"
# model-signing 1.1.1 imports OpenSSL without declaring pyOpenSSL; install it explicitly.
"$VENV/bin/pip" install --quiet "model-signing==$want_ms" pyopenssl
