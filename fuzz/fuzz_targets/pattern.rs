#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mallard_core::fuzzing::pattern(data));
