#!/usr/bin/env bash
# Test the pre-commit hooks as a user gets them: pre-commit (from PyPI, in ./.venv) runs
# `try-repo` against this checkout on a throwaway repository holding a malicious pickle, a plain
# array, an insecure and a hardened deployment, and (with a config) verifies a signed model.
# Each hook must fail on the bad files and pass on the good ones.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pc=$root/.venv/bin/pre-commit
[ -x "$pc" ] || { echo "error: pre-commit is not in ./.venv; run scripts/peers.sh" >&2; exit 2; }
export PRE_COMMIT_HOME=$root/.local/pre-commit
# The hooks run the binary this checkout's test build made (MODELSEC_HOOK_BIN; built here when
# missing, with the features the test command uses): pre-commit checks the repository out once per revision, and a release build in each
# checkout would add minutes of compiling to every run without testing anything more.
(cd "$root" && cargo build --locked --quiet --features peers --bin modelsec)
export MODELSEC_HOOK_BIN=$root/target/debug/modelsec
work=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$work" "$log"' EXIT
cd "$work"
git init -q . && git config user.email test@example.invalid && git config user.name test
printf "cos\nsystem\n(S'id'\ntR." > evil.pkl
"$root/.venv/bin/python" -c "import numpy; numpy.save('good.npy', numpy.arange(4.0))"
mkdir insecure hardened
cp "$root/examples/deploy/insecure/docker-compose.yml" insecure/
cp "$root/examples/deploy/hardened/docker-compose.yml" hardened/
git add -A && git commit -qm fixture
fails=0
expect() { # expect 0|1 DESCRIPTION COMMAND...
  local want=$1 what=$2; shift 2
  local got=0
  "$@" > "$log" 2>&1 || got=1
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what (hook exit status $got, wanted $want)"; cat "$log"; fails=$((fails + 1))
  else
    echo "ok: $what"
  fi
}
expect 1 "modelsec-scan fails on a malicious pickle" "$pc" try-repo "$root" modelsec-scan --files evil.pkl
expect 0 "modelsec-scan passes a plain array" "$pc" try-repo "$root" modelsec-scan --files good.npy
expect 1 "modelsec-check fails on an insecure compose file" "$pc" try-repo "$root" modelsec-check --files insecure/docker-compose.yml
expect 0 "modelsec-check passes a hardened compose file" "$pc" try-repo "$root" modelsec-check --files hardened/docker-compose.yml
# verify takes arguments, so it runs from a config naming this checkout at its current commit.
bin=$MODELSEC_HOOK_BIN
mkdir model && cp good.npy model/ && "$bin" keygen --out k --algorithm ecdsa-p256 2>/dev/null
"$bin" sign model --key k 2>/dev/null
git add -A && git commit -qm signed
rev=$(git -C "$root" rev-parse HEAD)
cat > .pre-commit-config.yaml <<CFG
repos:
  - repo: $root
    rev: $rev
    hooks:
      - id: modelsec-verify
        args: [model, --key, k.pub]
CFG
git add .pre-commit-config.yaml && git commit -qm config
expect 0 "modelsec-verify passes the signed model" "$pc" run modelsec-verify --all-files
printf 'tampered' >> model/good.npy
expect 1 "modelsec-verify fails on a tampered model" "$pc" run modelsec-verify --all-files
[ "$fails" = 0 ] || { echo "$fails pre-commit hook check(s) failed" >&2; exit 1; }
