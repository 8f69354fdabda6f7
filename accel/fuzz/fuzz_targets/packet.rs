//! Any bytes as an Ethernet frame into the decoder's fast path: it may decline, it must
//! never panic, and a payload it finds lies inside the frame.
#![no_main]

use cvipsniff_accel::packets::fast_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(f) = fast_path(1, data) {
        assert!(f.payload.0 <= f.payload.1 && f.payload.1 <= data.len());
    }
});
