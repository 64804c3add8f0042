#!/usr/bin/env bash
# Entry point of the hooks in .pre-commit-hooks.yaml: build modelsec from this checkout (release,
# with the versions pinned in Cargo.lock; a no-op once built) and run it with the hook's
# arguments. pre-commit keeps one checkout per hook revision, so the build happens once.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
command -v cargo >/dev/null || {
  echo "modelsec pre-commit hook: cargo is needed to build modelsec (https://rustup.rs)" >&2
  exit 2
}
# MODELSEC_HOOK_BIN runs a modelsec already built instead (the hook tests use the binary the test
# build just made rather than compiling one per pre-commit checkout).
if [ -n "${MODELSEC_HOOK_BIN:-}" ]; then
  exec "$MODELSEC_HOOK_BIN" "$@"
fi
(cd "$here" && cargo build --release --locked --quiet --bin modelsec) >&2
exec "${CARGO_TARGET_DIR:-$here/target}/release/modelsec" "$@"
