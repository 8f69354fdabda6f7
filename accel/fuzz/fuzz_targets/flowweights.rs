//! Any bytes as a capture file into the flow-weight pass of the split: it may stop early,
//! it must never panic, and it loses no weight it counted.
#![no_main]

use cvipsniff_accel::flowweights::{weigh, Costs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let costs = Costs { packet: 3, segment: 7, push: 11 };
    if let Ok(Some(w)) = weigh(data, costs, 8, 2) {
        assert!(w.heavy.len() <= 2);
        assert!(w.heavy.windows(2).all(|p| p[0].1 >= p[1].1));
    }
});
