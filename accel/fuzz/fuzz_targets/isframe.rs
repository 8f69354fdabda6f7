//! Any bytes into the ImageServer framer, cut into feeds and gaps by the input itself,
//! under caps the input chooses: it must never panic or loop, every message's bytes must
//! be the stream's own at its offset, the events must come in stream order, and without
//! gaps every byte must be in a message or a skipped stretch.
#![no_main]

use cvipsniff_accel::isframe::{Event, Framer, DEFAULT_MAX_BODY, DEFAULT_MAX_HEADER_BYTES,
                               DEFAULT_MAX_XML_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    let (header, xml, body) = [
        (DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_XML_BYTES, DEFAULT_MAX_BODY),
        (1, 1, 0),
        (16, 20, 3),
        (40, 60, 10),
        (200, 300, 1 << 40),
        (64, 64, u64::MAX),
        (u64::from(u32::MAX), 1, 100),
        (3, u64::MAX, 0),
    ][usize::from(control & 7)];
    let Some(mut framer) = Framer::new(header, xml, body) else { return };
    let mut out = Vec::new();
    // The stream as fed: bytes, and None where a gap lost them.
    let mut stream: Vec<Option<u8>> = Vec::new();
    let mut gaps = false;
    let mut at = 0;
    let mut step = 1 + usize::from(control >> 3);
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
                stream.extend(std::iter::repeat_n(None, length as usize));
                gaps = true;
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
    if !gaps {
        assert_eq!(end, stream.len() as u64);
    }
    assert_eq!(framer.buffered(), 0);
});
