#!/usr/bin/env bash
# Browser tests of the manager dashboard and the desktop app (`rapport app`,
# built into the rapport binary): headless Chromium (playwright-core)
# against a real rapport-server seeded with the rapport CLI.
# Screenshots land in artifacts/ (dashboard-laptop.png, dashboard-tablet-landscape.png,
# dashboard-tablet-portrait.png, dashboard-rep.png, dashboard-uk.png, dashboard-ru.png,
# desktop*.png, office*.png, import*.png).
set -euo pipefail

cd "$(dirname "$0")/.."

# faketime: the late-edits test makes a device's clock say last month, as a
# device that was offline then would have stamped its edits.
if ! command -v faketime >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        apt-get install -y -qq faketime
    else
        echo "error: faketime is missing; install it (apt-get install faketime) as root" >&2
        exit 1
    fi
fi

if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        apt-get install -y -qq chromium chromium-driver
    else
        echo "error: /usr/bin/chromium is missing; install it (apt-get install chromium) as root" >&2
        exit 1
    fi
fi

(
    cd tests/web
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
)

# Always (incremental, quick when up to date): a stale binary would serve old assets.
# The whole workspace's binaries, as test-all.sh builds them: a subset of
# packages unifies other features and would compile much of it again.
# cargo and the tests (support.js) both honour CARGO_TARGET_DIR.
cargo build --workspace --bins

cd tests/web
exec node --test
