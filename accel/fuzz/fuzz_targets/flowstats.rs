//! Any bytes as a capture file into the statistics-only pass of `cvipsniff flows` (as
//! they are, after a pcap header and after a pcapng section header, so records and blocks
//! get walked): it may decline, it must never panic, and a flow it answers has sane
//! counters.
#![no_main]

use cvipsniff_accel::flowstats::{flow_stats, Config};
use libfuzzer_sys::fuzz_target;

const HEADER: [u8; 24] = [0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                          0xff, 0xff, 0, 0, 1, 0, 0, 0];

const SECTION: [u8; 28] = [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0,
                           0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0];

fuzz_target!(|data: &[u8]| {
    let config = Config { server_ports: &[7563, 80], max_flows: 64, linger_ns: 1_000_000,
                          ts_range: (0, 1 << 70) };
    let with_header = [&HEADER[..], data].concat();
    let with_section = [&SECTION[..], data].concat();
    for file in [data, &with_header[..], &with_section[..]] {
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
