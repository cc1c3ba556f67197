//! `uniffi-bindgen`, built from the same uniffi version as `rapport-ffi` (the
//! generated bindings must match the scaffolding exactly). Used by
//! `scripts/bindings.sh`:
//!
//! ```text
//! cargo run -p rapport-uniffi-bindgen -- generate --library target/debug/librapport_ffi.so --language kotlin --out-dir target/bindings/kotlin
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
