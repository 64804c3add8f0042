#!/usr/bin/env bash
# modelsec end-to-end demo on embedded defaults. Needs only cargo; everything it makes goes
# under .local/demo (removed and rebuilt on each run). Each capability adds a section.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
echo "== building modelsec (release)"
cargo build --release --locked --quiet
M="$ROOT/target/release/modelsec"
DEMO="$ROOT/.local/demo"
rm -rf "$DEMO" && mkdir -p "$DEMO" && cd "$DEMO"

step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; }
# Run a command that is expected to exit with a given code, and show the code.
expect() {
  local want=$1; shift
  set +e; "$@"; local got=$?; set -e
  echo "(exit $got)"
  if [ "$got" != "$want" ]; then echo "demo: expected exit $want from: $*" >&2; exit 1; fi
}

# A sample model directory: config, tokenizer, weights, a hidden file and a nested folder.
mkdir -p model/tokenizer
printf '{"architectures":["DemoClassifier"],"hidden_size":64,"num_labels":10}\n' > model/config.json
printf '{"version":"1.0","model":{"type":"BPE"}}\n' > model/tokenizer/tokenizer.json
printf 'demo model card\n' > model/README.md
printf 'pinned=1\n' > model/.settings
head -c 8388608 /dev/zero | tr '\0' '\1' > model/model.safetensors

step "1. generate an Ed25519 key pair (and a P-256 one for other OMS tools)" \
  "modelsec keygen --out signer.key"
expect 0 "$M" keygen --out signer.key
expect 0 "$M" keygen --out signer-p256.key --algorithm ecdsa-p256
ls -l signer.key signer.key.pub | awk '{print $1, $NF}'

step "2. the manifest that will be signed" "modelsec manifest model"
expect 0 "$M" manifest model

step "3. sign the model directory (OMS bundle: Sigstore bundle v0.3 / DSSE / in-toto)" \
  "modelsec sign model --key signer.key"
expect 0 "$M" sign model --key signer.key
expect 0 "$M" sign model --key signer-p256.key --signature model.p256.sig

step "4. verify it" "modelsec verify model --key signer.key.pub"
expect 0 "$M" verify model --key signer.key.pub

step "5. tamper with one byte of the weights, then verify again" \
  "printf '\\x02' | dd of=model/model.safetensors bs=1 seek=4096 conv=notrunc"
printf '\x02' | dd of=model/model.safetensors bs=1 seek=4096 conv=notrunc status=none
echo "planted" > model/tokenizer/extra.py
expect 1 "$M" verify model --key signer.key.pub

step "6. the same failure as SARIF 2.1.0 for code scanning (first results)" \
  "modelsec verify model --key signer.key.pub --format sarif"
set +e; "$M" verify model --key signer.key.pub --format sarif > verify.sarif; set -e
python3 -c "import json; r=json.load(open('verify.sarif'))['runs'][0]['results']; [print(x['ruleId'], x['locations'][0]['physicalLocation']['artifactLocation']['uri']) for x in r]" 2>/dev/null \
  || grep -o '"ruleId": "[^"]*"' verify.sarif

step "7. verifying with the wrong key is refused" "modelsec verify model --key signer-p256.key.pub"
expect 1 "$M" verify model --key signer-p256.key.pub --format json >/dev/null
echo "wrong key: exit 1 (see --format human for the reasons)"

printf '\ndemo complete: files are in %s\n' "$DEMO"
