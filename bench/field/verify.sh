#!/usr/bin/env bash
# Field benchmark for `modelsec verify`: real OMS bundles as publishers make them, verified by
# model_signing and by modelsec side by side, then speed and memory on a 1 GB directory.
#
#   1. bench/field/corpus.py  installs model_signing 0.2.0, 0.3.0, 0.3.1, 1.0.0, 1.0.1, 1.1.0, 1.1.1
#      from PyPI into venvs under .local/field/verify/ (git-ignored; pinned by requirements/),
#      makes keys and a test PKI with openssl, signs with every offline mode of every release,
#      takes the real Sigstore/certificate/key vectors that rh-model-signing==1.0.5's sdist ships
#      and the trusted roots sigstore==4.5.1 embeds, and adds negative cases -> manifest.json
#   2. bench/field/verify_run.py     model_signing 1.1.1 (and the bundle's own release) vs modelsec on
#      every case -> a table (results.md, results.json)
#   3. speed/memory: min wall time and max RSS of RUNS warm runs of `model_signing verify` and
#      `modelsec verify` on 1 GB (8 x 125 MB, the same bytes as bench/signing.sh's dir8)
#
# Usage: bench/field/verify.sh [RUNS]        (default 3)
#   MODELSEC=/path/to/modelsec  binary to test (default: target/release/modelsec, built here)
#   FIELD_SKIP_PERF=1           corpus and table only
#   FIELD_PERF_ONLY=1           speed/memory only (on the corpus already built)
# Needs python3 (venv), openssl, GNU time; PyPI reachable the first time (then cached).
set -euo pipefail
. "$(dirname "$0")/../../scripts/abs-env.sh"
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
ROOT=.local/field/verify
command -v /usr/bin/time >/dev/null || { echo "error: needs GNU time (apt-get install time)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "error: needs openssl" >&2; exit 2; }
if [ -z "${MODELSEC:-}" ]; then
  cargo build --release --locked --quiet
  MODELSEC=$PWD/target/release/modelsec
fi
export MODELSEC
if [ -z "${FIELD_PERF_ONLY:-}" ]; then
  python3 bench/field/corpus.py
  python3 bench/field/verify_run.py
fi
if [ -n "${FIELD_SKIP_PERF:-}" ]; then exit 0; fi

# ---------------------------------------------------------------------------- speed / memory
MS=$ROOT/venv/ms-1.1.1/bin/model_signing
PKI=$ROOT/corpus/pki
P=$ROOT/perf
mkdir -p "$P/dir8"
prng() { openssl enc -aes-256-ctr -nosalt -K "$(printf '%064x' "$1")" -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null | head -c "$2"; }
for i in 1 2 3 4 5 6 7 8; do
  f=$P/dir8/shard-$i.bin
  if [ ! -s "$f" ]; then
    if [ -s "bench/data/dir8/shard-$i.bin" ]; then ln "bench/data/dir8/shard-$i.bin" "$f" 2>/dev/null || cp "bench/data/dir8/shard-$i.bin" "$f"
    else prng $((10 + i)) 125000000 > "$f" || true; fi  # openssl dies of SIGPIPE when head is done
    [ "$(stat -c %s "$f")" = 125000000 ] || { echo "error: could not write $f" >&2; exit 1; }
  fi
done
D=$P/dir8
"$MS" sign key "$D" --private_key "$PKI/key-p256.key" --signature "$P/key-p256.sig" >/dev/null
"$MS" sign key "$D" --private_key "$PKI/key-p384.key" --signature "$P/key-p384.sig" >/dev/null
"$MS" sign certificate "$D" --private_key "$PKI/leaf-p256.key" --signing_certificate "$PKI/leaf-p256.pem" \
  --certificate_chain "$PKI/int.pem" --signature "$P/cert-p256.sig" >/dev/null
VEC=$ROOT/corpus/vectors/v1.1.0-sigstore
TC=$ROOT/corpus/trust/prod-trust_config.json
TR=$ROOT/corpus/trust/prod-trusted_root.json
HELP=$("$MODELSEC" verify --help)
has() { grep -q -- "$1" <<<"$HELP"; }

# min wall seconds, max RSS (KB) and min CPU seconds (user+sys) over RUNS runs;
# "n/a rc" when the command fails. CPU time is the steadier figure on a shared machine.
measure() {
  local best="" cpu="" rss=0 out tf rc
  tf=$(mktemp)
  "$@" >/dev/null 2>&1 || { rc=$?; rm -f "$tf"; echo "n/a $rc"; return; }
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$tf" -f "%e %M %U %S" "$@" >/dev/null 2>&1 || { rm -f "$tf"; echo "n/a $?"; return; }
    read -r t m u s < <(tail -1 "$tf")
    local c; c=$(awk "BEGIN{print $u + $s}")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    if [ -z "$cpu" ] || awk "BEGIN{exit !($c < $cpu)}"; then cpu=$c; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  rm -f "$tf"
  echo "$best $rss $cpu"
}
cat "$D"/* >/dev/null
echo
echo "## speed and memory: $("$MODELSEC" --version), model_signing 1.1.1; $(nproc) cores; min of $RUNS warm runs"
printf '%-34s %-22s %8s %8s %8s %8s %9s %9s\n' data tool "wall s" "MB/s" "CPU s" "RSS MB" "wall/m_s" "CPU/m_s"
row() { # data tool t rss cpu ref_t ref_cpu mbytes
  if [ "$3" = n/a ]; then printf '%-34s %-22s %8s %8s %8s %8s %9s\n' "$1" "$2" "n/a" "" "" "" "(exit $4)"; return; fi
  printf '%-34s %-22s %8.2f %8.0f %8.2f %8.1f %9s %9s\n' "$1" "$2" "$3" "$(awk "BEGIN{print ${8:-1000}/$3}")" "$5" \
    "$(awk "BEGIN{print $4/1024}")" "${6:+$(awk "BEGIN{printf \"%.2fx\", $6/$3}")}" \
    "${7:+$(awk "BEGIN{printf \"%.2fx\", $7/($5>0?$5:0.01)}")}"
}
pair() { # label ms-cmd... -- modelsec-cmd... (modelsec part may be empty: unsupported flags)
  local label=$1; shift
  local ms=() msec=()
  while [ "$1" != -- ]; do ms+=("$1"); shift; done; shift
  msec=("$@")
  read -r a b e <<<"$(measure "${ms[@]}")"
  row "$label" "model_signing verify" "$a" "$b" "$e" "" "" "${MBYTES:-1000}"
  if [ ${#msec[@]} -eq 0 ]; then printf '%-34s %-22s %8s\n' "$label" "modelsec verify" "n/a (flags missing)"; return; fi
  read -r c d f <<<"$(measure "${msec[@]}")"
  if [ "$a" = n/a ]; then row "$label" "modelsec verify" "$c" "$d" "$f" "" "" "${MBYTES:-1000}"
  else row "$label" "modelsec verify" "$c" "$d" "$f" "$a" "$e" "${MBYTES:-1000}"; fi
}
pair "1 GB dir, key P-256" "$MS" verify key "$D" --public_key "$PKI/key-p256.pub" --signature "$P/key-p256.sig" -- \
  "$MODELSEC" verify "$D" --key "$PKI/key-p256.pub" --signature "$P/key-p256.sig"
pair "1 GB dir, key P-384" "$MS" verify key "$D" --public_key "$PKI/key-p384.pub" --signature "$P/key-p384.sig" -- \
  "$MODELSEC" verify "$D" --key "$PKI/key-p384.pub" --signature "$P/key-p384.sig"
cert=(); has --certificate-chain && cert=("$MODELSEC" verify "$D" --certificate-chain "$PKI/root.pem" --signature "$P/cert-p256.sig")
pair "1 GB dir, certificate P-256" "$MS" verify certificate "$D" --certificate_chain "$PKI/root.pem" --signature "$P/cert-p256.sig" -- "${cert[@]}"
sig=(); if has --certificate-identity && has --certificate-oidc-issuer; then
  sig=("$MODELSEC" verify "$VEC" --signature "$VEC/model.sig" --ignore ignore-me
       --certificate-identity stefanb@us.ibm.com --certificate-oidc-issuer https://sigstore.verify.ibm.com/oauth2)
  has --trusted-root && sig+=(--trusted-root "$TR")
fi
MBYTES=0 pair "Sigstore vector v1.1.0 (17 bytes)" "$MS" verify sigstore "$VEC" --signature "$VEC/model.sig" \
  --ignore-paths "$VEC/ignore-me" --identity stefanb@us.ibm.com --identity_provider https://sigstore.verify.ibm.com/oauth2 \
  --trust_config "$TC" -- "${sig[@]}"
echo "(wall/m_s, CPU/m_s: how many times less wall / CPU time than model_signing 1.1.1 on the same bundle; >1 is better. n/a: the command failed or the flag is missing)"
