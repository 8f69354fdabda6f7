//! Any bytes into the pcapng EPB walk, from every offset of a short prefix, in both byte
//! orders: it may stop, it must never panic or point outside the buffer.
#![no_main]

use cvipsniff_accel::capture::pcapng_epb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for start in 0..data.len().min(64) {
        for big_endian in [false, true] {
            let mut pos = start;
            while let Some(b) = pcapng_epb(data, pos, big_endian, 4) {
                assert!(b.data + b.caplen as usize <= b.next && b.next <= data.len());
                assert!(b.next > pos);
                pos = b.next;
            }
        }
    }
});
