//! `cargo fuzz run envelope`: see fuzz/README.md and `adt_bridge_fuzz::envelope`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    adt_bridge_fuzz::envelope(data);
});
