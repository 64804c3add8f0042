#!/usr/bin/env bash
# The test command: installs the Python peers (model-signing 1.1.1 + pyopenssl for signing interop;
# numpy, joblib and scikit-learn for real files in the scan corpus; all from PyPI, into ./.venv),
# ONNX Runtime 1.31.1's shared library (PyPI wheel, into ./.local/onnxruntime, for fuzz), and runs
# every test, then the pre-commit hooks through pre-commit itself. scripts/services.sh installs Debian's
# redis-server and rsyslog (the replica tests start their own on free 127.0.0.1 ports).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || { echo "error: openssl is needed by the key tests (apt-get install openssl)" >&2; exit 2; }
./scripts/peers.sh
./scripts/ort.sh
./scripts/services.sh
export MODELSEC_PEER_PYTHON="$PWD/.venv/bin/python"
cargo test --locked --all-targets --features peers "$@"
# The pre-commit hooks as users run them (pre-commit try-repo against this checkout).
./scripts/pre-commit-test.sh
