#!/usr/bin/env bash
# Install ONNX Runtime 1.31.1's shared library (from the PyPI wheel) into .local/onnxruntime, the
# project-local place `modelsec fuzz` looks. Idempotent; needs python3 with pip.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.local/onnxruntime
if ls "$DIR"/onnxruntime/capi/libonnxruntime.so.1.31.1 >/dev/null 2>&1; then
  exit 0
fi
echo "installing onnxruntime==1.31.1 (shared library only) into $DIR (PyPI)" >&2
rm -rf "$DIR"
python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$DIR" onnxruntime==1.31.1
ls "$DIR"/onnxruntime/capi/libonnxruntime.so.1.31.1 >/dev/null
