#!/usr/bin/env bash
# Builds release 0.1.0 (commit e1756d2) of the desktop client `rapport` from
# this repository's own history into target/compat/0.1.0/, for the
# compatibility tests (tests/tests/compat.rs): 0.1.0 devices are in the field.
# Nothing is downloaded but crates; no binary is committed. Reuses an earlier
# build when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
release=e1756d2
dest=target/compat/0.1.0
if [ -x "$dest/rapport" ] && [ "$(cat "$dest/commit" 2>/dev/null)" = "$release" ]; then
    exit 0
fi
if ! git cat-file -e "$release^{commit}" 2>/dev/null; then
    echo "error: commit $release (release 0.1.0) is not in this clone; fetch the full history (git fetch --unshallow)" >&2
    exit 1
fi
rm -rf "$dest/src"
mkdir -p "$dest/src"
git archive "$release" | tar -x -C "$dest/src"
(cd "$dest/src" && CARGO_TARGET_DIR="$PWD/../target" cargo build --locked -p rapport-cli)
cp "$dest/target/debug/rapport" "$dest/rapport"
echo "$release" > "$dest/commit"
# Only the binary is needed from now on; the sources and the build take ~1 GB.
rm -rf "$dest/src" "$dest/target"
echo "built release 0.1.0 of rapport into $dest/rapport"
