#!/usr/bin/env bash
# Builds binaries of earlier releases from this repository's own history
# into target/compat/<release>/, for the compatibility tests:
#
#   0.1.0  the desktop client `rapport`, whose devices are in the field
#          (tests/tests/compat.rs, min_client.rs);
#   0.2.0  `rapport-server`, the first release that serves from PostgreSQL,
#          for the rolling upgrade (tests/tests/rolling_upgrade.rs).
#
# Usage: scripts/build-release.sh 0.1.0 0.2.0 (scripts/test-all.sh runs it).
# Nothing is downloaded but crates; no binary is committed. A release built
# before is reused. The releases share one build directory (crates both use
# compile once), removed at the end with the sources: only the binaries are
# needed, and the rest takes a gigabyte or two.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 0.1.0|0.2.0 ..." >&2; exit 2; }
build=target/compat/build

build_release() {
    local version=$1 release package binary
    case "$version" in
        0.1.0) release=e1756d2 package=rapport-cli binary=rapport ;;
        0.2.0) release=9d703d0 package=rapport-server binary=rapport-server ;;
        *) echo "error: no release $version (known: 0.1.0, 0.2.0)" >&2; exit 2 ;;
    esac
    local dest=target/compat/$version
    if [ -x "$dest/$binary" ] && [ "$(cat "$dest/commit" 2>/dev/null)" = "$release" ]; then
        return
    fi
    if ! git cat-file -e "$release^{commit}" 2>/dev/null; then
        echo "error: commit $release (release $version) is not in this clone; fetch the full history (git fetch --unshallow)" >&2
        exit 1
    fi
    local src=target/compat/src-$version
    rm -rf "$src"
    mkdir -p "$src" "$dest"
    git archive "$release" | tar -x -C "$src"
    (cd "$src" && CARGO_TARGET_DIR="$PWD/../build" cargo build --locked -p "$package")
    cp "$build/debug/$binary" "$dest/$binary"
    echo "$release" > "$dest/commit"
    rm -rf "$src"
    echo "built release $version's $binary into $dest/$binary"
}

for version in "$@"; do
    build_release "$version"
done
rm -rf "$build"
