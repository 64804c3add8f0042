#!/usr/bin/env bash
# Signing benchmark: modelsec sign/verify vs `openssl dgst -sha256` and model_signing 1.1.1
# (the OMS reference, installed from PyPI into .venv by scripts/peers.sh), in one run, on the
# same data: a 1 GB single file and a 1 GB directory of 8 files (125 MB each). The files are
# random bytes named .bin, so sign runs its scan and is told --allow-unsafe to go on.
#
# Usage: bench/signing.sh [RUNS]   (default 3; each figure is the minimum wall time, warm cache)
# Data is generated deterministically under bench/data (not committed; ~2 GB of disk).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
DATA=bench/data
command -v /usr/bin/time >/dev/null || { echo "error: needs GNU time (apt-get install time)" >&2; exit 2; }
./scripts/peers.sh
cargo build --release --locked --quiet
M=$PWD/target/release/modelsec
MS=$PWD/.venv/bin/model_signing

prng() { openssl enc -aes-256-ctr -nosalt -K "$(printf '%064x' "$1")" -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null | head -c "$2"; }
mkdir -p "$DATA/single" "$DATA/dir8"
[ -s "$DATA/single/model.bin" ] || prng 7 1000000000 > "$DATA/single/model.bin"
for i in 1 2 3 4 5 6 7 8; do
  [ -s "$DATA/dir8/shard-$i.bin" ] || prng $((10 + i)) 125000000 > "$DATA/dir8/shard-$i.bin"
done
[ -s "$DATA/bench.key" ] || "$M" keygen --out "$DATA/bench.key" --algorithm ecdsa-p256 --force 2>/dev/null

# min wall seconds and max RSS (KB) over RUNS runs of a command
measure() {
  local best="" rss=0 out tf
  tf=$(mktemp)
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$tf" -f "%e %M" "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }
    out=$(tail -1 "$tf")
    local t=${out% *} m=${out#* }
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  rm -f "$tf"
  echo "$best $rss"
}

# warm the page cache
cat "$DATA"/single/model.bin "$DATA"/dir8/* > /dev/null

echo "modelsec $("$M" --version | cut -d' ' -f2), model_signing $("$MS" --version 2>/dev/null | awk '{print $NF}'), $(openssl version | cut -d' ' -f1-2); $(nproc) cores; min of $RUNS warm runs"
printf '%-8s %-30s %8s %9s %10s %12s %12s\n' data tool "wall s" "MB/s" "RSS MB" "vs openssl" "vs m_s"
for set in single dir8; do
  dir=$DATA/$set
  sig=$DATA/$set.modelsec.sig
  msig=$DATA/$set.model_signing.sig
  read -r o_t o_m <<<"$(measure openssl dgst -sha256 "$dir"/*)"
  read -r s_t s_m <<<"$(measure "$M" sign "$dir" --key "$DATA/bench.key" --signature "$sig" --allow-unsafe)"
  read -r v_t v_m <<<"$(measure "$M" verify "$dir" --key "$DATA/bench.key.pub" --signature "$sig")"
  read -r ps_t ps_m <<<"$(measure "$MS" sign key "$dir" --private_key "$DATA/bench.key" --signature "$msig")"
  read -r pv_t pv_m <<<"$(measure "$MS" verify key "$dir" --public_key "$DATA/bench.key.pub" --signature "$msig")"
  # the two tools must agree on the data they both signed
  "$M" verify "$dir" --key "$DATA/bench.key.pub" --signature "$msig" >/dev/null
  "$MS" verify key "$dir" --public_key "$DATA/bench.key.pub" --signature "$sig" >/dev/null
  row() { # name time rss peer_time
    printf '%-8s %-30s %8.2f %9.0f %10.1f %12s %12s\n' "$set" "$1" "$2" "$(awk "BEGIN{print 1000/$2}")" \
      "$(awk "BEGIN{print $3/1024}")" "$(awk "BEGIN{printf \"%.2fx\", $o_t/$2}")" "${4:+$(awk "BEGIN{printf \"%.2fx\", $4/$2}")}"
  }
  row "openssl dgst -sha256" "$o_t" "$o_m" ""
  row "modelsec sign" "$s_t" "$s_m" "$ps_t"
  row "modelsec verify" "$v_t" "$v_m" "$pv_t"
  row "model_signing sign key" "$ps_t" "$ps_m" ""
  row "model_signing verify key" "$pv_t" "$pv_m" ""
done
echo "(vs openssl / vs m_s: how many times faster than openssl dgst / than model_signing's same operation; >1 is faster)"
