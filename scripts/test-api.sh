#!/usr/bin/env bash
# Fuzzes the HTTP API against its own description: schemathesis (from PyPI)
# reads /v1/openapi.json from a real rapport-server on a free port with a
# temporary data directory and a known admin token, after a little seeding
# (a team and users through the admin API, an account with a deal synced by
# the rapport CLI), and runs all its default checks (status codes,
# content types, response schemas, headers, positive and negative data,
# authentication, unsupported methods). Any failure fails this script.
#
# EXAMPLES (default 12) bounds the test cases per operation (a few minutes on
# 2 cores), MAX_TIME (seconds) the whole run if set; SEED fixes the
# run (default: random, printed by schemathesis for replay; in CI a fixed seed
# that passed, so that a landing never depends on the draw: run it with other
# seeds locally to look for more).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${CI:-}" = true ] && [ -z "${SEED:-}" ]; then
    SEED=177280659221687429243964453172881215307
fi

if ! python3 -c "import schemathesis" 2>/dev/null; then
    # A system Python may refuse pip installs without --break-system-packages.
    python3 -m pip install --quiet schemathesis ||
        python3 -m pip install --quiet --break-system-packages schemathesis
fi
# The whole workspace's binaries, as test-all.sh builds them: a subset of
# packages unifies other features and would compile much of it again.
cargo build --workspace --bins
root=$(pwd)

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

token="schemathesis-admin-token-0123456789"
# Rate limits would answer 429 to the fuzzer's bursts; admin devices are not limited anyway.
RAPPORT_ADMIN_TOKEN="$token" target/debug/rapport-server serve --data "$work/data" --listen 127.0.0.1:0 \
    >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
url=""
for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$work/server.out")
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; echo "error: rapport-server did not start" >&2; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { echo "error: rapport-server did not say where it listens" >&2; exit 1; }
echo "== rapport-server at $url"

admin() { # METHOD PATH [JSON]
    curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
        ${3:+--data "$3"} "$url$2" >/dev/null
}
admin POST /v1/admin/teams '{"name":"east"}'
admin POST /v1/admin/users '{"name":"ana","role":"rep","teams":["east"],"territories":["north"]}'
admin POST /v1/admin/users '{"name":"mona","role":"manager","teams":["east"]}'
# The hooks keep the run from revoking its own token's device (see hooks.py).
devices=$(curl -sS --fail-with-body -H "Authorization: Bearer $token" "$url/v1/admin/devices")
ADMIN_DEVICE=$(echo "$devices" | python3 -c 'import json,sys; print(next(d["id"] for d in json.load(sys.stdin)["devices"] if d["user"] == "admin"))')
SPARE_DEVICE=$(echo "$devices" | python3 -c 'import json,sys; print(next(d["id"] for d in json.load(sys.stdin)["devices"] if d["user"] == "mona"))')
export ADMIN_DEVICE SPARE_DEVICE
# An account with a deal, so that its history and document are found.
cli() { target/debug/rapport --replica "$work/replica" "$@"; }
cli init --server "$url" --token "$token" >/dev/null
ACCOUNT_ID=$(cli account add --name "Acme Tools" --owner ana --team east --territory north | tail -n 1)
cli deal add "$ACCOUNT_ID" --title "Lathes" --amount 12000 --currency EUR >/dev/null
cli sync >/dev/null
case "$ACCOUNT_ID" in *[!0-9a-f-]* | "") echo "error: the seeded account has no id" >&2; exit 1 ;; esac

# Run from the temporary directory so that schemathesis' caches go with it.
# scripts/api/schemathesis.toml and hooks.py: what the description cannot state (see there).
cd "$work"
sed "s/@ACCOUNT_ID@/$ACCOUNT_ID/" "$root/scripts/api/schemathesis.toml" >schemathesis.toml
# Through python3, wherever pip put the `schemathesis` command.
SCHEMATHESIS_HOOKS="$root/scripts/api/hooks.py" python3 -c 'from schemathesis.cli import schemathesis; schemathesis()' \
    --config-file schemathesis.toml \
    run "$url/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --max-examples "${EXAMPLES:-12}" \
    ${SEED:+--seed "$SEED"} \
    --workers 1 \
    --request-timeout 10 \
    ${MAX_TIME:+--max-time "$MAX_TIME"}
