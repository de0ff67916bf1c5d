//! `cargo fuzz run transform_event_grid`: see fuzz/README.md and `adt_bridge_fuzz::transform_event_grid`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    adt_bridge_fuzz::transform_event_grid(data);
});
