#!/usr/bin/env bash
# Installs what building and testing obconform needs beyond the Rust toolchain, only when missing:
# OpenSSL headers + pkg-config (the `openssl` crate), curl, the openssl CLI and xxd (the guide's
# own commands, run by the tests as independent implementations), Chromium (tests/report_html.rs
# renders report.html headless; optional: installed when apt-get can, else that check is skipped),
# Python's requests, cryptography and jsonschema (the contract probe, an independent client), and
# rustfmt/clippy, util-linux `script` (a pseudo-terminal for the console test) and ajv (the
# schemas' strict check, into .tools/). Idempotent; safe to run on every CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev pkg-config)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v xxd >/dev/null 2>&1 || missing+=(xxd)   # the guide's x5t#S256 pipeline, run as written
command -v jq >/dev/null 2>&1 || missing+=(jq)     # the guide's scripts read tokens with jq
command -v script >/dev/null 2>&1 || missing+=(bsdutils)   # a pseudo-terminal for the console test
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: please install: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# ajv (a JSON Schema validator we did not write) checks the editor schemas in strict mode; into
# .tools/, git-ignored, only when npm is there (the test says it was skipped otherwise).
if command -v npm >/dev/null 2>&1 && [ ! -d .tools/node_modules/ajv ]; then
  npm install --prefix .tools --no-audit --no-fund --silent ajv@8 >/dev/null 2>&1 \
    || echo "setup: could not install ajv; the strict schema check will be skipped" >&2
fi

# Chromium only where apt-get can install it: elsewhere the browser check says it was skipped
# (CI sets OBCONFORM_REQUIRE_CHROMIUM=1, which turns that into a failure).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "setup: chromium not installed; the report's browser check will be skipped (apt-get install chromium)" >&2
  fi
fi

# The contract probe is an independent client written in Python (requests, cryptography,
# jsonschema): installed with pip when one is missing.
if ! python3 -c "import requests, cryptography, jsonschema" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check requests cryptography jsonschema \
    || python3 -m pip install --quiet --disable-pip-version-check --user requests cryptography jsonschema
fi

if command -v rustup >/dev/null 2>&1; then
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
fi
