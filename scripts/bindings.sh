#!/usr/bin/env bash
# Builds rapport-ffi and generates its Kotlin, Swift and Python bindings
# (uniffi library mode) into target/bindings/{kotlin,swift,python}, fixes
# RapportError's message in them (scripts/fix-bindings.py) and adds the
# Kotlin helpers of mobile-ffi/kotlin.
#
#   scripts/bindings.sh            # debug build
#   PROFILE=release scripts/bindings.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${PROFILE:-debug}"
profile_flag=()
[[ "$PROFILE" == "release" ]] && profile_flag=(--release)

case "$(uname -s)" in
  Darwin) lib="librapport_ffi.dylib" ;;
  *) lib="librapport_ffi.so" ;;
esac

# One cargo invocation over the whole workspace, so the library and
# uniffi-bindgen share uniffi's build and the features the other scripts build with.
cargo build "${profile_flag[@]}" --workspace --lib --bins

library="target/$PROFILE/$lib"
bindgen="target/$PROFILE/uniffi-bindgen"
out="target/bindings"
rm -rf "$out"
for language in kotlin swift python; do
  "$bindgen" generate --library "$library" --language "$language" --out-dir "$out/$language" --no-format
done
# RapportError's message field as the exception message (uniffi 0.32 gap).
python3 scripts/fix-bindings.py "$out/kotlin/uniffi/rapport_ffi/rapport_ffi.kt" "$out/python/rapport_ffi.py"
# Kotlin helpers over the generated API (the live updates as a Flow).
cp mobile-ffi/kotlin/*.kt "$out/kotlin/uniffi/rapport_ffi/"
# Python loads the library from its own directory.
cp "$library" "$out/python/"
echo "bindings in $out/{kotlin,swift,python} (library: $library)"
