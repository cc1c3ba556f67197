#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, if it is missing:
# Chromium and Node.js (dashboard browser tests), Java 17 + Maven (Kotlin
# bindings), python3 + pytest (Python bindings) and openpyxl (reads the dashboard's
# XLSX exports back), PostgreSQL (the
# store-postgres tests make throwaway clusters with its initdb and postgres;
# RAPPORT_TEST_PG_URL may name an existing cluster instead, but the failover
# test always makes its own primary and standby with pg_ctl and
# pg_basebackup, from postgresql-client, which postgresql pulls in), nginx (the
# shipped reverse-proxy configuration runs in front of a real server), rustfmt
# and clippy.
set -euo pipefail

if command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
pg_tools() {
    for bin in /usr/lib/postgresql/*/bin; do
        [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && [ -x "$bin/pg_basebackup" ] && return 0
    done
    return 1
}
if [ -z "${RAPPORT_PG_BIN:-}" ] && ! pg_tools; then
    missing+=(postgresql)
fi
if ((${#missing[@]})); then
    if [ "$(id -u)" != 0 ]; then
        echo "error: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run this as root" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
python3 -c "import pytest" 2>/dev/null || python3 -m pip install --quiet pytest
# The dashboard's browser tests read its XLSX downloads back with openpyxl.
python3 -c "import openpyxl" 2>/dev/null || python3 -m pip install --quiet openpyxl
