//! Any bytes into the CVIP framer, cut into feeds and gaps by the input itself, under a
//! cap the input chooses: it must never panic or loop, every message's bytes must be the
//! stream's own at its offset, and the events must come in stream order.
#![no_main]

use cvipsniff_accel::cvipframe::{Event, Framer, DEFAULT_SIZE_CAP};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    let cap = [DEFAULT_SIZE_CAP, 0, 9, 16, 40, 100, 1 << 40, 64][usize::from(control & 7)];
    let mut framer = Framer::new(cap, control & 8 == 0);
    let mut out = Vec::new();
    // The stream as fed: bytes, and None where a gap lost them.
    let mut stream: Vec<Option<u8>> = Vec::new();
    let mut at = 0;
    let mut step = 1 + usize::from(control >> 4);
    while at < rest.len() {
        let chunk = &rest[at..(at + step).min(rest.len())];
        framer.feed(chunk, &mut out);
        stream.extend(chunk.iter().map(|&b| Some(b)));
        at += chunk.len();
        // A byte that follows a chunk chooses the next step, and now and then a gap.
        if let Some(&b) = rest.get(at) {
            step = 1 + usize::from(b % 61);
            if b >= 250 {
                let length = u64::from(b - 240);
                framer.gap(length, &mut out);
                stream.extend(std::iter::repeat(None).take(length as usize));
            }
        }
    }
    framer.close(&mut out);
    let mut end = 0u64;
    for event in &out {
        let (start, length) = match event {
            Event::Framed { start, data, .. } => {
                let (s, e) = (*start as usize, *start as usize + data.len());
                let held: Vec<Option<u8>> = data.iter().map(|&b| Some(b)).collect();
                assert_eq!(stream.get(s..e), Some(held.as_slice()));
                (*start, data.len() as u64)
            }
            Event::Skipped { start, length, .. } => (*start, *length),
        };
        assert!(start >= end);
        end = start + length;
    }
});
