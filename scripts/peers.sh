#!/usr/bin/env bash
# Install the Python peers modelsec is tested against into ./.venv (from PyPI):
#   model-signing 1.1.1 + pyopenssl   signing interop
#   numpy, joblib, scikit-learn, h5py  real files for the scan corpus
#   rh-model-signing 1.0.5 (sdist, not installed)  model_signing's real interop vectors
#       (scripts/tests/: certificate, P-384 key and Sigstore keyless model.sig files that upstream
#       releases 0.2.0-1.1.0 signed; Apache-2.0, LICENSE kept beside them) into .local/vectors
#   pre-commit                          the hooks in .pre-commit-hooks.yaml, as users run them
# Idempotent: does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PY=${PYTHON:-python3}
want_ms="1.1.1" want_np="2.4.6" want_jl="1.6.0" want_sk="1.9.1" want_h5="3.16.0" want_pc="4.5.1"
VEC=.local/vectors want_rh="1.0.5"
want_rh_sha256="3acb7b250935f0935069b2b35ca5722ffa1e52a07682cdcc6a5510685349b268"
vectors() {
  local dir="$VEC/rh_model_signing-$want_rh"
  [ -f "$dir/scripts/tests/v1.1.0-sigstore/model.sig" ] && return 0
  mkdir -p "$VEC"
  echo "downloading rh-model-signing==$want_rh (sdist: model_signing's interop vectors) into $VEC (PyPI)" >&2
  "$VENV/bin/pip" download --quiet --no-deps --no-binary rh-model-signing "rh-model-signing==$want_rh" -d "$VEC"
  echo "$want_rh_sha256  $VEC/rh_model_signing-$want_rh.tar.gz" | sha256sum -c --quiet - \
    || { echo "error: rh-model-signing $want_rh sdist does not have the pinned sha256" >&2; exit 2; }
  tar -xzf "$VEC/rh_model_signing-$want_rh.tar.gz" -C "$VEC" \
    "rh_model_signing-$want_rh/scripts/tests" "rh_model_signing-$want_rh/LICENSE"
}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "
import importlib.metadata as m, OpenSSL
assert m.version('model-signing') == '$want_ms'
assert m.version('numpy') == '$want_np'
assert m.version('joblib') == '$want_jl'
assert m.version('scikit-learn') == '$want_sk'
assert m.version('h5py') == '$want_h5'
assert m.version('pre-commit') == '$want_pc'" 2>/dev/null; then
  vectors
  exit 0
fi
command -v "$PY" >/dev/null || { echo "error: $PY not found; install Python 3 (apt-get install python3 python3-venv)" >&2; exit 2; }
echo "installing model-signing==$want_ms, pyopenssl, numpy==$want_np, joblib==$want_jl, scikit-learn==$want_sk, h5py==$want_h5, pre-commit==$want_pc into $VENV (PyPI)" >&2
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# model-signing 1.1.1 imports OpenSSL without declaring pyOpenSSL; install it explicitly.
"$VENV/bin/pip" install --quiet "model-signing==$want_ms" pyopenssl \
  "numpy==$want_np" "joblib==$want_jl" "scikit-learn==$want_sk" "h5py==$want_h5" \
  "pre-commit==$want_pc"
vectors
