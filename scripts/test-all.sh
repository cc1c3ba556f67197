#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, Rust unit, integration
# and end-to-end tests, the dashboard in headless Chromium, then the mobile
# bindings from Python and Kotlin. Needs the Rust toolchain, Node.js with npm,
# Chromium, python3 and Java 17 with Maven (.ci/run installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# A one-off CI build gains nothing from incremental compilation, whose cache
# alone took 7 GB of the disk.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi

echo "== install missing test dependencies"
scripts/install-test-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo build (the binaries the end-to-end tests start)"
cargo build --workspace --bins --locked

echo "== release 0.1.0's desktop client and 0.2.0's server, for the compatibility tests"
scripts/build-release.sh 0.1.0 0.2.0

echo "== cargo test"
cargo test --workspace --locked

# The server suites that hold no SQLite of their own run once more with
# every test server serving from a fresh PostgreSQL database (ADR 0034),
# the reports' too (ADR 0035; their few tests of the SQLite file itself
# start a SQLite server either way). The backup, fault-injection and
# migration suites are SQLite's. `--workspace`, not `-p`,
# so that nothing is built again with another feature set; other crates'
# suites of the same names (desktop's auth, client's errors, the end-to-end
# min_client and wipe) run again too, unaffected by the variable.
echo "== the server's suites again, on PostgreSQL"
RAPPORT_TEST_BACKEND=postgres cargo test --workspace --locked \
  --test adversarial --test admin_nodes --test auth --test directory --test drill --test errors --test known_at \
  --test late_edits --test live --test metrics --test min_client --test permissions \
  --test reassignment --test refused_edits --test relay --test reports --test sync_http --test web \
  --test whoami --test wipe

echo "== manager dashboard in headless Chromium"
scripts/test-web.sh

echo "== HTTP API against its OpenAPI description (schemathesis)"
scripts/test-api.sh

echo "== mobile bindings (Python, Kotlin, Swift API check)"
scripts/test-mobile.sh
