#!/usr/bin/env bash
# Tests the mobile library through its generated bindings: builds rapport-ffi
# and rapport-server, generates the Kotlin/Swift/Python bindings, then runs
# the Python tests (pytest; also checks the Swift API) and the Kotlin tests
# (Maven: JNA + coroutines + JUnit 5). Needs python3, java 17 and maven.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo build: the library, the server (and the test CA the HTTPS tests use)"
# The whole workspace's libraries and binaries, as test-all.sh builds them: a subset of
# packages unifies other features and would compile much of it again.
cargo build --workspace --lib --bins
cargo build --workspace --examples

echo "== bindings"
scripts/bindings.sh

echo "== pytest tests/python"
if ! python3 -c "import pytest" 2>/dev/null; then
  python3 -m pip install --quiet pytest
fi
python3 -m pytest -q tests/python

echo "== mvn test (tests/kotlin)"
(cd tests/kotlin && mvn -B -ntp test)
