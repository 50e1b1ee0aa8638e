#!/usr/bin/env bash
# Idempotent setup: system packages, .venv (torch CPU first), the project, the Rust core.
# Safe to run again: each step checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;36m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup]\033[0m %s\n' "$*" >&2; exit 1; }

PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0

# Debian packages: the Rust core's crates (crates.io is not reachable here, Debian packages
# them), ZeroMQ, and the libraries Qt needs to run offscreen or on a virtual screen.
APT_PACKAGES=(
  pkg-config libzmq3-dev
  librust-zmq-dev librust-serde-dev librust-serde-derive-dev librust-serde-json-dev
  librust-clap-dev librust-clap-derive-dev librust-rand-dev librust-rand-distr-dev
  librust-crossbeam-channel-dev librust-hmac-dev librust-sha2-dev librust-hex-dev
  librust-ureq-dev librust-tracing-dev librust-tracing-subscriber-dev librust-thiserror-dev
  librust-anyhow-dev librust-ctrlc-dev librust-proptest-dev
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0
  libxcb-image0 libxcb-xinerama0 xvfb
)

install_system_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    say "not a Debian system: install ZeroMQ (libzmq), Rust (cargo) and Qt's runtime libraries yourself"
    return 0
  fi
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "system packages: all present"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages; as root run:
  apt-get install -y ${missing[*]}"
  fi
  say "installing ${#missing[@]} Debian packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

setup_python() {
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "Python >= 3.11 is needed (found $("$PYTHON" --version 2>&1))"
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
  fi
  # torch first, pinned to the CPU build, or pip pulls a multi-GB CUDA build for a dependency.
  if ! .venv/bin/python -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_VERSION') else 1)" 2>/dev/null; then
    say "installing torch==$TORCH_VERSION (CPU)"
    .venv/bin/pip install -q "torch==$TORCH_VERSION"
  fi
  local stamp=.venv/.crucible-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing crucible with dev extras"
    .venv/bin/pip install -q -e '.[dev]'
    touch "$stamp"
  else
    say "python environment: up to date"
  fi
}

build_core() {
  command -v cargo >/dev/null 2>&1 || die "cargo (Rust) is needed to build cerebellum_core"
  say "building cerebellum_core (release)"
  # shellcheck source=scripts/cargo.sh
  source scripts/cargo.sh
  (cd cerebellum_core && cargo build --release "${CARGO_FLAGS[@]}" --quiet)
}

install_system_packages
setup_python
build_core
say "ready"
