//! `cargo fuzz run request_end_to_end`: see fuzz/README.md and `adt_bridge_fuzz::request_end_to_end`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    adt_bridge_fuzz::request_end_to_end(data);
});
