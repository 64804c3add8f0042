#!/usr/bin/env bash
# Field benchmark of `modelsec check`: real upstream deployment configs (bench/field/check-sources.txt,
# owner/repo@commit:path, none committed here), modelsec and Checkov 3.3.30 side by side.
#
#   bench/field/check.sh [dev|heldout|all] [RUNS]      (default: dev, 3 runs of modelsec)
#
# 1. materialises the split's files into .local/field/check/SPLIT/owner/repo/path (git-ignored):
#    from a blobless `git clone` when GitHub answers, else from the snapshots under /work/.mirror
#    (`git show commit:path`), else from the copies of index-read files under .local/field/index;
# 2. runs $MODELSEC (default target/release/modelsec) `check FILES --format json` RUNS times (min
#    wall time) and Checkov 3.3.30 (PyPI, own venv .local/venv-checkov; frameworks kubernetes,
#    dockerfile, secrets; offline) once, on the same explicit file list;
# 3. prints findings, parse errors (and which of them are on YAML that PyYAML loads), time, precision
#    against the hand labels (bench/field/check-labels.tsv: right rule at the right line / ignoring
#    the line) and recall over the risks a reviewer expects (bench/field/check-expected.tsv).
# Outputs stay in .local/field/out/SPLIT/ (modelsec.json, checkov.json, findings.tsv).
# FIELD_OFFLINE=1 skips the GitHub probe; FIELD_NO_CHECKOV=1 reuses the last Checkov output; MIRROR=dir overrides /work/.mirror.
set -euo pipefail
. "$(dirname "$0")/../../scripts/abs-env.sh"
cd "$(dirname "$0")/../.."
SPLIT=${1:-dev}
RUNS=${2:-3}
case $SPLIT in dev|heldout|all) ;; *) echo "usage: $0 [dev|heldout|all] [RUNS]" >&2; exit 2 ;; esac
M=${MODELSEC:-target/release/modelsec}
if [ -z "${MODELSEC:-}" ] && [ ! -x "$M" ]; then cargo build --release --locked --quiet; fi
[ -x "$M" ] || { echo "error: no modelsec binary at $M" >&2; exit 2; }
VENV=.local/venv-checkov
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('checkov')=='3.3.30'" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet checkov==3.3.30
fi
PY="$VENV/bin/python"   # has PyYAML (a Checkov dependency), used to tell valid YAML from invalid
OUT=.local/field/out/$SPLIT
mkdir -p "$OUT"

"$PY" bench/field/field.py materialise "$SPLIT"
mapfile -t FILES < <("$PY" bench/field/field.py files "$SPLIT")
echo "modelsec: $M ($("$M" --version)); ${#FILES[@]} files" >&2

best=""
for _ in $(seq "$RUNS"); do
  s=$(date +%s%N)
  set +e; "$M" check "${FILES[@]}" --format json > "$OUT/modelsec.json"; rc=$?; set -e
  e=$(date +%s%N)
  [ "$rc" -le 1 ] || { echo "error: modelsec exited $rc" >&2; exit 1; }
  t=$(awk "BEGIN{printf \"%.4f\", ($e - $s) / 1e9}")
  if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
done

export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
if [ "${FIELD_NO_CHECKOV:-}" = 1 ] && [ -s "$OUT/checkov.json" ]; then
  ct=$(cat "$OUT/checkov.seconds" 2>/dev/null || echo 0)   # reuse the last Checkov run
else
  s=$(date +%s%N)
  set +e
  "$VENV/bin/checkov" -f "${FILES[@]}" --framework kubernetes dockerfile secrets --skip-download -o json \
    > "$OUT/checkov.json" 2> "$OUT/checkov.stderr"
  set -e
  e=$(date +%s%N)
  ct=$(awk "BEGIN{printf \"%.2f\", ($e - $s) / 1e9}")
  echo "$ct" > "$OUT/checkov.seconds"
fi

"$PY" bench/field/field.py findings "$SPLIT" "$OUT/modelsec.json" "$OUT/checkov.json" > "$OUT/findings.tsv"
"$PY" bench/field/field.py report "$SPLIT" "$OUT/modelsec.json" "$OUT/checkov.json" "$best" "$ct"
echo
echo "(findings of both tools: $OUT/findings.tsv; modelsec time is the best of $RUNS runs, Checkov's one run)"
