//! Any bytes into the XML-RPC tokenizer, with caps tight and loose: it may decline,
//! it must never panic, loop or allocate beyond the body.
#![no_main]

use cvipsniff_accel::xmlrpc::{decode, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode(data, Limits { size: 8 << 20, depth: 64, elements: 50_000 });
    let _ = decode(data, Limits { size: 4096, depth: 3, elements: 10 });
});
