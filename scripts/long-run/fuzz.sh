#!/usr/bin/env bash
# Runs every cargo-fuzz target of the server for MINUTES minutes each
# (default 30) on the nightly toolchain, starting from the checked-in corpus.
# Crashers land in server/fuzz/artifacts/<target>/; fix them and copy them
# into server/fuzz/corpus/<target>/, which server/tests/fuzz_corpus.rs replays.
# The targets abort only on panics that rapport_core::untrusted does not contain.
# Usage: scripts/long-run/fuzz.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/../../server/fuzz"
minutes=${1:-30}
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
for target in $(cargo +nightly fuzz list); do
    mkdir -p "corpus/$target"
    echo "== $target for $minutes min"
    cargo +nightly fuzz run -O "$target" "corpus/$target" -- -max_total_time=$((minutes * 60)) -rss_limit_mb=4096
done
