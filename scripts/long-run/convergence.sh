#!/usr/bin/env bash
# The seeded convergence simulation (core/tests/simulation.rs) at 10,000
# seeds (CI runs 16): three replicas sync through the protocol's server half
# over a network that drops, duplicates, reorders and partitions, with
# restarts of any replica or the server. Replica files live in TMPDIR
# (default /dev/shm, so fsync costs nothing and the run measures the logic).
# Usage: scripts/long-run/convergence.sh [SEEDS] [FIRST_SEED]
set -euo pipefail
cd "$(dirname "$0")/../.."
export RAPPORT_SIM_SEEDS=${1:-10000}
export RAPPORT_SIM_FIRST_SEED=${2:-1}
export TMPDIR=${TMPDIR:-/dev/shm}
time cargo test --release --locked -p rapport-core --test simulation -- --nocapture
