//! `Message::decode` on arbitrary bytes: never panics, and whatever decodes
//! re-encodes to an equal message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rapport_server::abort_on_uncontained_panics();
    rapport_server::decode_for_fuzz(data);
});
