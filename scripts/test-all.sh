#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, Rust unit, integration
# and end-to-end tests. Needs only the Rust toolchain (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
