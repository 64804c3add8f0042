#!/usr/bin/env bash
# Independent evaluation of the serve monitor: published attacks (ART 1.20.1: Square,
# HopSkipJump, SimBA, KnockoffNets; Papernot et al.'s JbDA) and their adaptive variants (padding,
# jitter, Sybil, natural starts), plus benign clients sharing a popular pool, all over HTTP
# against `modelsec serve` of the digits MLP on 127.0.0.1 (one API key per client, durability
# always, a 300-row baseline of real digits). Prints, per class, sessions flagged, queries to the
# first alert, the attack's first success, caught-before-success, and extraction agreement.
# Per-session JSON, the event log and summary.md go to .local/field/monitor/<run>/ (git-ignored).
#
# Usage: bench/field/monitor_eval.sh [--quick] [--counts square=20,... [--only]] [--seeds 2026,2027,2028]
#                                    [--habits dev|...] [--interleave N] [--extra-config FILE.toml] [--out DIR]
#                                    [--heldout-attacks]  (held out 4: with --seeds 9401,9402,9403 --habits heldout4, once, at the end)
#                                    [--heldout5-attacks] (held out 5: with --seeds 9501,9502,9503 --habits heldout5,
#                                                          once before round 5's tuning and once at its end)
#                                    [--heldout6-attacks] (held out 6: with --seeds 9601,9602,9603 --habits heldout6,
#                                                          once before round 6's tuning and once at its end)
#                                    [--heldout7-attacks] (held out 7: with --seeds 9701,9702,9703 --habits heldout7,
#                                                          once before round 7's tuning and once at its end)
#                                    [--heldout8-attacks] (held out 8: with --seeds 9801,9802,9803 --habits heldout8,
#                                                          once before round 8's tuning and once at its end)
#                                    [--heldout9-attacks] (held out 9: with --seeds 9901,9902,9903 --habits heldout9,
#                                                          once before round 9's tuning and once at its end)
#                                    [--heldout10-attacks] (held out 10: with --seeds 10001,10002,10003 --habits heldout10,
#                                                           once before round 10's tuning and once at its end)
#                                    [--heldout11-attacks] (held out 11: with --seeds 11001,11002,11003 --habits heldout11,
#                                                           once before round 11's tuning and once at its end)
#                                    [--heldout12-attacks] (held out 12: with --seeds 12001,12002,12003 --habits heldout12,
#                                                           once before round 12's tuning and once at its end)
#                                    [--heldout13-attacks] (held out 13: with --seeds 13001,13002,13003 --habits heldout13,
#                                                           once before round 13's tuning and once at its end)
#                                    [--heldout14-attacks] (held out 14: with --seeds 14001,14002,14003 --habits heldout14,
#                                                           once before round 14's tuning and once at its end)
#                                    [--heldout15-attacks] (held out 15: with --seeds 15001,15002,15003 --habits heldout15,
#                                                           once before round 15's tuning and once at its end)
#                                    [--heldout16-attacks] (held out 16: with --seeds 16001,16002,16003 --habits heldout16,
#                                                           once before round 16's tuning and once at its end)
#                                    [--heldout17-attacks] (held out 17: with --seeds 17001,17002,17003 --habits heldout17,
#                                                           once before round 17's tuning and once at its end)
#                                    [--heldout18-attacks] (held out 18: with --seeds 18001,18002,18003 --habits heldout18,
#                                                           once before round 18's tuning and once at its end)
#                                    [--heldout19-attacks] (held out 19: with --seeds 19001,19002,19003 --habits heldout19,
#                                                           once before round 19's tuning and once at its end)
#                                    [--heldout20-attacks] (held out 20: with --seeds 20001,20002,20003 --habits heldout20,
#                                                           once before round 20's tuning and once at its end)
#                                    [--heldout21-attacks] (held out 21: with --seeds 21001,21002,21003 --habits heldout21,
#                                                           once before round 21's tuning and once at its end)
#                                    [--heldout22-attacks] (held out 22: with --seeds 22001,22002,22003 --habits heldout22,
#                                                           once before round 22's tuning and once at its end)
#                                    [--heldout23-attacks] (held out 23: with --seeds 23001,23002,23003 --habits heldout23,
#                                                           once before round 23's tuning and once at its end)
#                                    [--heldout24-attacks] (held out 24: with --seeds 24001,24002,24003 --habits heldout24,
#                                                           once before round 24's tuning and once at its end)
#                                    [--heldout25-attacks] (held out 25: with --seeds 25001,25002,25003 --habits heldout25,
#                                                           once before round 25's tuning and once at its end)
#                                    [--heldout26-attacks] (held out 26: with --seeds 26001,26002,26003 --habits heldout26,
#                                                           once before round 26's tuning and once at its end;
#                                                           not in one run with --heldout10-attacks)
#                                    [--heldout27-attacks] (held out 27: with --seeds 27001,27002,27003 --habits heldout27,
#                                                           once before round 27's tuning and once at its end;
#                                                           not in one run with --heldout11-attacks)
#                                    [--heldout28-attacks] (held out 28: with --seeds 28001,28002,28003 --habits heldout28,
#                                                           once before round 28's tuning and once at its end;
#                                                           not in one run with --heldout12-attacks)
#                                    [--heldout29-attacks] (held out 29: with --seeds 29001,29002,29003 --habits heldout29,
#                                                           once before round 29's tuning and once at its end;
#                                                           not in one run with --heldout13-attacks)
# Env: MODELSEC (default target/release/modelsec, built if missing), ORT_DYLIB_PATH (default:
# the library of the onnxruntime==1.31.1 wheel, via scripts/ort.sh).
# Full run (3 seeds, 3 x 102 sessions): about 8-12 min on 2 shared cores; --quick (1 seed, 27
# sessions): about 1 min.
set -euo pipefail
. "$(dirname "$0")/../../scripts/abs-env.sh"
cd "$(dirname "$0")/../.."
VENV=.local/field/venv
REQ=bench/field/requirements.txt
if ! cmp -s "$REQ" "$VENV/requirements.txt" 2>/dev/null; then
  echo "making $VENV (pinned: $REQ)" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$VENV/requirements.txt"
fi
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  ./scripts/ort.sh
  ORT_DYLIB_PATH=$PWD/.local/onnxruntime/onnxruntime/capi/libonnxruntime.so.1.31.1
fi
export ORT_DYLIB_PATH
if [ -z "${MODELSEC:-}" ]; then
  MODELSEC=$PWD/target/release/modelsec
  [ -x "$MODELSEC" ] || cargo build --release --locked --quiet
fi
export MODELSEC
exec "$VENV/bin/python" bench/field/monitor_eval.py "$@"
