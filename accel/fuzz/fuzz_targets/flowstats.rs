//! Any bytes as a capture file into the statistics-only pass of `cvipsniff flows` (after
//! a valid pcap header half of the time, so records get walked): it may decline, it must
//! never panic, and a flow it answers has sane counters.
#![no_main]

use cvipsniff_accel::flowstats::{flow_stats, Config};
use libfuzzer_sys::fuzz_target;

const HEADER: [u8; 24] = [0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                          0xff, 0xff, 0, 0, 1, 0, 0, 0];

fuzz_target!(|data: &[u8]| {
    let config = Config { server_ports: &[7563, 80], max_flows: 64, linger_ns: 1_000_000 };
    let with_header = [&HEADER[..], data].concat();
    for file in [data, &with_header[..]] {
        if let Some(rows) = flow_stats(file, &config) {
            assert!(rows.len() <= 64);
            for r in rows {
                assert!(r.first_ts <= r.last_ts);
                for c in r.stats {
                    assert!(c.delivered <= c.bytes);
                }
            }
        }
    }
});
