#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, Rust unit, integration
# and end-to-end tests, then the mobile bindings from Python and Kotlin.
# Needs the Rust toolchain, python3 and Java 17 with Maven (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo build (the binaries the end-to-end tests start)"
cargo build --workspace --bins --locked

echo "== cargo test"
cargo test --workspace --locked

echo "== mobile bindings (Python, Kotlin, Swift API check)"
scripts/test-mobile.sh
