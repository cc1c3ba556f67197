#!/usr/bin/env bash
# The sync benchmarks (cargo bench -p rapport-e2e --bench sync) as on a disk
# whose flush is slower than this machine's: a preloaded shim
# (tests/benches/slow_flush.c) makes every fsync and fdatasync of the
# benchmark process return SLOW_FLUSH_US microseconds later (default 5000).
# Ours and the anchors pay the same delay per flush. Needs a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
cc -shared -fPIC -O2 -o target/slow_flush.so tests/benches/slow_flush.c -ldl
bench=$(cargo bench -p rapport-e2e --bench sync --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
if [[ -z "$bench" ]]; then
  echo "could not find the sync benchmark's executable (cargo bench --no-run printed none)" >&2
  exit 1
fi
echo "every flush takes ${SLOW_FLUSH_US:-5000} µs more"
SLOW_FLUSH_US="${SLOW_FLUSH_US:-5000}" LD_PRELOAD="$PWD/target/slow_flush.so" "$bench" --bench
