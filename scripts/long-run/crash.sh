#!/usr/bin/env bash
# The SIGKILL crash test at 1,000 kills (CI runs 20): a real server process is
# killed at random points while three replicas sync; after every restart
# nothing it acknowledged is missing, and at the end every replica converges.
# Usage: scripts/long-run/crash.sh [KILLS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/../.."
kills=${1:-1000}
cargo build --release --locked --bins
export RAPPORT_CRASH_ROUNDS=$kills
[ -n "${2:-}" ] && export RAPPORT_CRASH_SEED=$2
time cargo test --release --locked -p rapport-e2e --test crash -- --nocapture
