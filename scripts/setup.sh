#!/usr/bin/env bash
# Installs what building and testing obconform needs beyond the Rust toolchain, only when missing:
# OpenSSL headers + pkg-config (the `openssl` crate), curl, the openssl CLI and xxd (the guide's
# own commands, run by the tests as independent implementations),
# and rustfmt/clippy. Idempotent; safe to run on every CI run.
set -euo pipefail

missing=()
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev pkg-config)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v xxd >/dev/null 2>&1 || missing+=(xxd)   # the guide's x5t#S256 pipeline, run as written
command -v jq >/dev/null 2>&1 || missing+=(jq)     # the guide's scripts read tokens with jq
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: please install: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if command -v rustup >/dev/null 2>&1; then
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
fi
