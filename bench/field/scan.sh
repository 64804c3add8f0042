#!/usr/bin/env bash
# Field benchmark for `modelsec scan` (issue 14): real benign model files shipped in pinned PyPI
# distributions (bench/field/scan-dists.txt) and the code-running test assets of the modelaudit
# sdist, scanned one file per process by modelsec, picklescan 1.0.5, modelscan 0.8.8 and
# modelaudit 0.2.54 (each in its own venv). Prints, per tool: benign files flagged, malicious
# caught, errors, time; writes per-file verdicts to the cache.
#
# Usage: bench/field/scan.sh [dev|heldout|all]        (default dev)
#   MODELSEC=path/to/modelsec   binary to measure (default: cargo build --release --locked)
#   FIELD_CACHE=dir             cache (default .local/field/scan, git-ignored): downloads,
#                               extracted files, venvs, manifest.tsv, results/*.jsonl,
#                               verdicts-SET.{tsv,json}
#   FIELD_TOOLS=modelsec,...    run only these tools (modelsec, modelsec+profiles, picklescan,
#                               modelscan, modelaudit) (the report shows whatever is cached)
#
# Rerunnable: downloads are checked against the pinned sha256, extraction happens once, and each
# (tool version or modelsec binary digest, file) pair is scanned once; a new binary rescans.
# Downloads ~630 MB. First full run: ~1 s per file for picklescan, ~2-3 s for modelscan and
# modelaudit; everything runs one process at a time (the box has 2 shared cores).
# The held-out set is for a figure only: do not study its failures file by file.
set -euo pipefail
. "$(dirname "$0")/../../scripts/abs-env.sh"
cd "$(dirname "$0")/../.."
SET=${1:-dev}
case "$SET" in dev|heldout|all) ;; *) echo "usage: $0 [dev|heldout|all]" >&2; exit 2 ;; esac
CACHE=${FIELD_CACHE:-$PWD/.local/field/scan}
export FIELD_CACHE=$CACHE
mkdir -p "$CACHE/venvs"
PY=python3

# One venv per comparator, pinned. Their own dependencies are whatever pip resolves today
# (recorded in venvs/NAME.freeze); no TensorFlow or torch: users of these scanners rarely have
# them in a CI image, and the tools document them as optional.
venv() { # name check-module pip-args...
  local name=$1 pin=$2; shift 2
  local v=$CACHE/venvs/$name
  if ! "$v/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$name') != '$pin')" 2>/dev/null; then
    rm -rf "$v"
    $PY -m venv "$v"
    "$v/bin/pip" install --quiet --disable-pip-version-check "$@"
  fi
  [ -s "$CACHE/venvs/$name.freeze" ] || "$v/bin/pip" freeze --disable-pip-version-check > "$CACHE/venvs/$name.freeze"
}
venv picklescan 1.0.5 picklescan==1.0.5 numpy            # numpy: picklescan needs it for .npy
venv modelscan 0.8.8 "modelscan[h5py]==0.8.8"
venv modelaudit 0.2.54 "modelaudit[h5,onnx,safetensors,tflite]==0.2.54"

if [ -z "${MODELSEC:-}" ]; then
  cargo build --release --locked --quiet
  MODELSEC=$PWD/target/release/modelsec
fi
[ -x "$MODELSEC" ] || { echo "error: MODELSEC=$MODELSEC is not an executable" >&2; exit 2; }
export MODELSEC=$(readlink -f "$MODELSEC")

$PY bench/field/field_scan.py fetch
$PY bench/field/field_scan.py extract
$PY bench/field/field_scan.py run "$SET" --tools "${FIELD_TOOLS:-modelsec,modelsec+profiles,picklescan,modelscan,modelaudit}"
echo
echo "modelsec: $MODELSEC"
$PY bench/field/field_scan.py report "$SET"
