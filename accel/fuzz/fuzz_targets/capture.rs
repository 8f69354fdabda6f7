//! Any bytes into the record walks (pcapng EPBs, classic pcap records of both header
//! sizes), from every offset of a short prefix, in both byte orders: they may stop, they
//! must never panic or point outside the buffer.
#![no_main]

use cvipsniff_accel::capture::{pcap_record, pcapng_epb};
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
            for header_size in [16, 24] {
                let mut pos = start;
                while let Some(r) = pcap_record(data, pos, big_endian, header_size, 1 << 16) {
                    assert!(r.data + r.incl as usize == r.next && r.next <= data.len());
                    assert!(r.incl <= 1 << 16 && r.next > pos);
                    pos = r.next;
                }
            }
        }
    }
});
