#!/usr/bin/env bash
# Check benchmark: modelsec check vs Checkov 3.3.30 (from PyPI, installed into .venv-checkov),
# in one run, on the same generated model-serving manifests (bench/gen_check_files.py; each file
# a Deployment + Service, ~40% hardened, ~60% with generic and AI-specific misconfigurations;
# under bench/data, not committed). Checkov runs offline (--skip-download, BC_SKIP_MAPPING).
#
# Prints wall time (min over RUNS for modelsec; Checkov once), peak RSS, files/s, failing
# findings, start-up time (--version, min of 20), and modelsec's detections against the
# generator's ground truth.
#
# Usage: bench/check.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
DATA=bench/data/check
command -v /usr/bin/time >/dev/null || { echo "error: needs GNU time (apt-get install time)" >&2; exit 2; }
VENV=.venv-checkov
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('checkov')=='3.3.30'" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet checkov==3.3.30
fi
cargo build --release --locked --quiet
M=$PWD/target/release/modelsec
for n in 500 2000; do
  [ -f "$DATA/k8s$n/manifest.json" ] || python3 bench/gen_check_files.py "$DATA/k8s$n" "$n" >/dev/null
done
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
CHECKOV=("$VENV/bin/checkov" --skip-download --framework kubernetes --compact --quiet -o cli)

# min wall seconds, max RSS (KB), last exit code over N runs
measure() {
  local n=$1; shift
  local best="" rss=0 rc=0 tf s e t m
  tf=$(mktemp)
  for _ in $(seq "$n"); do
    s=$(date +%s%N)
    set +e; /usr/bin/time -o "$tf" -f "%M %x" "$@" > "$DATA/.out" 2>/dev/null; set -e
    e=$(date +%s%N)
    read -r m rc <<<"$(tail -1 "$tf")"
    t=$(awk "BEGIN{printf \"%.3f\", ($e - $s) / 1e9}")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  rm -f "$tf"
  echo "$best $rss $rc"
}

echo "| files | tool | exit | wall s | files/s | peak RSS MiB | failing findings | AI-specific findings |"
echo "|---|---|---|---|---|---|---|---|"
declare -A T
for n in 500 2000; do
  D=$DATA/k8s$n
  read -r t m rc <<<"$(measure "$RUNS" "$M" check "$D" --format json)"
  read -r fails ai <<<"$(python3 - "$DATA/.out" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
f = [x for x in v["findings"] if x["severity"] != "info"]
ai = [x for x in f if not x["rule_id"].startswith(("k8s/", "supply-chain/", "check/"))]
print(len(f), len(ai))
PY
)"
  printf "| %s | modelsec | %s | %s | %.0f | %s | %s | %s |\n" "$n" "$rc" "$t" "$(awk "BEGIN{print $n/$t}")" "$((m / 1024))" "$fails" "$ai"
  T[m$n]=$t
  read -r t m rc <<<"$(measure 1 "${CHECKOV[@]}" -d "$D")"
  fails=$(grep -oE "Failed checks: [0-9]+" "$DATA/.out" | grep -oE "[0-9]+" | head -1 || true)
  # AI-specific: failures of checks whose title names an AI-serving setting (Checkov has none).
  ai=$(grep -E '^Check: ' "$DATA/.out" | grep -ciE 'trust.remote|remote code|ollama|torchserve|vllm|triton|inference|hugging|model' || true)
  printf "| %s | Checkov 3.3.30 | %s | %s | %.0f | %s | %s | %s |\n" "$n" "$rc" "$t" "$(awk "BEGIN{print $n/$t}")" "$((m / 1024))" "${fails:-?}" "$ai"
  T[c$n]=$t
done
echo
for n in 500 2000; do
  echo "ratio at $n files: modelsec is $(awk "BEGIN{printf \"%.0f\", ${T[c$n]}/${T[m$n]}}")x faster than Checkov"
done

startup() {
  local n=$1; shift
  local best="" s e t
  for _ in $(seq "$n"); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    t=$(awk "BEGIN{printf \"%.1f\", ($e - $s) / 1e6}")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best"
}
echo "start-up (--version; min of 20 for modelsec, 3 for Checkov): modelsec $(startup 20 "$M" --version) ms; Checkov $(startup 3 "$VENV/bin/checkov" --version) ms"

echo
echo "modelsec detections vs the generator's ground truth (2000 files):"
"$M" check "$DATA/k8s2000" --format json > "$DATA/.out" || true
python3 - "$DATA/.out" "$DATA/k8s2000/manifest.json" <<'PY'
import collections, json, sys
v = json.load(open(sys.argv[1])); truth = json.load(open(sys.argv[2]))
c = collections.Counter(f["rule_id"] for f in v["findings"])
pairs = [("huggingface/remote-code-unpinned", "remote_code_unpinned"), ("ollama/host-all-interfaces", "ollama_host_all"),
         ("k8s/model-port-exposed", "exposed_services"), ("secrets/plaintext", "plaintext_tokens"), ("k8s/run-as-root", "root_pods")]
print("| rule | found | planted |\n|---|---|---|")
for rule, key in pairs:
    print(f"| {rule} | {c[rule]} | {truth[key]} |")
pod_rules = collections.Counter(f["rule_id"] for f in v["findings"] if f["rule_id"] in ("k8s/run-as-root", "k8s/privilege-escalation"))
print(f"\nhardened files: {truth['hardened']}; non-hardened: {truth['root_pods']}; pod-hardening findings: {dict(pod_rules)} (none on a hardened file)")
PY
