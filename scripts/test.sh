#!/usr/bin/env bash
# The whole suite: lint, types, Rust tests and clippy, then pytest (Qt offscreen).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;36m[test]\033[0m %s\n' "$*"; }
# shellcheck source=scripts/cargo.sh
source scripts/cargo.sh

say "ruff"
.venv/bin/ruff check engine cockpit tests bench
say "mypy"
.venv/bin/mypy
say "cargo clippy"
(cd cerebellum_core && cargo clippy --release --all-targets "${CARGO_FLAGS[@]}" --quiet -- -D warnings)
say "cargo test"
(cd cerebellum_core && cargo test --release "${CARGO_FLAGS[@]}" --quiet)
say "pytest"
export QT_QPA_PLATFORM=offscreen
.venv/bin/python -m pytest -q --durations=15 "$@"
