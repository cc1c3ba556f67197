#!/usr/bin/env bash
# Reconnect storm: 500 reps, each with ~20 offline edits, reconnect within
# 3 s to a server holding 100,000 accounts (tests/examples/reconnect_storm.rs).
# Prints errors, p50/p99 sync time and the server's RSS before and after;
# fails if a sync failed or an edit was lost.
# Usage: scripts/long-run/reconnect-storm.sh [REPS] [ACCOUNTS] [EDITS] [WINDOW_SECS]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked --bins
time cargo run --release --locked -p rapport-e2e --example reconnect_storm -- "${1:-500}" "${2:-100000}" "${3:-20}" "${4:-3}"
