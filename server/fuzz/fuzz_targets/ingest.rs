//! Decode + handle against the server's SQLite store (in memory), then check
//! that what was stored reads back the same before and after compaction.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rapport_server::abort_on_uncontained_panics();
    let _stored = rapport_server::ingest_for_fuzz(data);
});
