//! The packet decoder's fast path: Ethernet II, IPv4 without options and not a fragment,
//! complete in the frame, TCP or UDP with consistent lengths — the shape nearly every
//! frame has. Anything else is None, and the reference decoder
//! (`cvipsniff/packets/decoder.py`, `decode_general`) handles the frame.

/// What the fast path reads from a frame; `payload` is a range of the frame's bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Fast {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub protocol: u8,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u16,
    pub window: u16,
    pub payload: (usize, usize),
}

pub const LINKTYPE_ETHERNET: u32 = 1;

fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

/// The fast-path reading of a frame, or None.
pub fn fast_path(linktype: u32, d: &[u8]) -> Option<Fast> {
    if linktype != LINKTYPE_ETHERNET || d.len() < 54 {
        return None;
    }
    let total_length = usize::from(be16(d, 16));
    if be16(d, 12) != 0x0800 || d[14] != 0x45 || be16(d, 20) & 0x3FFF != 0
        || total_length < 40 || total_length > d.len() - 14 {
        return None;
    }
    let end = 14 + total_length;
    let (protocol, sport, dport) = (d[23], be16(d, 34), be16(d, 36));
    let src = [d[26], d[27], d[28], d[29]];
    let dst = [d[30], d[31], d[32], d[33]];
    let seq = be32(d, 38);
    match protocol {
        6 => {
            let offset_byte = d[46];
            let header_length = usize::from(offset_byte >> 4) << 2;
            if header_length < 20 || header_length > total_length - 20 {
                return None;
            }
            Some(Fast {
                src, dst, protocol, sport, dport, seq, ack: be32(d, 42),
                flags: u16::from(d[47]) | (u16::from(offset_byte & 1) << 8),
                window: be16(d, 48),
                payload: (34 + header_length, end),
            })
        }
        // The UDP length (the high half of what TCP calls seq) must agree with IPv4's.
        17 if (seq >> 16) as usize == total_length - 20 => Some(Fast {
            src, dst, protocol, sport, dport, seq: 0, ack: 0, flags: 0, window: 0,
            payload: (42, end),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(protocol: u8, transport: &[u8], payload: &[u8]) -> Vec<u8> {
        let total = 20 + transport.len() + payload.len();
        let mut v = vec![0u8; 12];
        v.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        v.extend_from_slice(&(total as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0, 0x40, 0, 64, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        v.extend_from_slice(transport);
        v.extend_from_slice(payload);
        v.extend_from_slice(&[0; 6]); // Ethernet padding is not payload
        v
    }

    #[test]
    fn tcp_and_udp() {
        let mut tcp = vec![0x1b, 0xc6, 0x9c, 0x40, 0, 0, 0, 7, 0, 0, 0, 9, 0x51, 0x18, 1, 0];
        tcp.extend_from_slice(&[0; 8]); // checksum, urgent, 4 option bytes (offset 6 words)
        tcp[12] = 0x61;
        let f = fast_path(1, &frame(6, &tcp, b"hello")).unwrap();
        assert_eq!((f.sport, f.dport, f.seq, f.ack, f.flags, f.window), (7110, 40000, 7, 9, 0x118, 256));
        assert_eq!(f.payload, (58, 63));
        let udp = [0x1b, 0xc6, 0x1b, 0xc6, 0, 20, 0, 0];
        let f = fast_path(1, &frame(17, &udp, b"ping request")).unwrap();
        assert_eq!((f.protocol, f.payload), (17, (42, 54)));
        let bad_udp = [0x1b, 0xc6, 0x1b, 0xc6, 0, 21, 0, 0];
        assert!(fast_path(1, &frame(17, &bad_udp, b"ping request")).is_none());
        assert!(fast_path(113, &frame(17, &udp, b"ping request")).is_none());
        // below 40 bytes of IPv4: the reference's general path decides
        assert!(fast_path(1, &frame(17, &[0x1b, 0xc6, 0x1b, 0xc6, 0, 12, 0, 0], b"ping")).is_none());
    }

    #[test]
    fn arbitrary_frames_never_panic() {
        let mut rng = crate::testrand::XorShift::new(0xDEAD_BEEF_1234_5678);
        let mut next = || rng.next();
        for _ in 0..50_000 {
            let len = (next() % 90) as usize;
            let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len > 23 && next() & 1 == 0 {
                d[12] = 8;
                d[13] = 0;
                d[14] = 0x45;
                d[20] = 0;
                d[21] = 0;
                d[23] = if next() & 1 == 0 { 6 } else { 17 };
                let total = (next() % 80) as u16;
                d[16..18].copy_from_slice(&total.to_be_bytes());
            }
            if let Some(f) = fast_path(1, &d) {
                assert!(f.payload.0 <= f.payload.1 && f.payload.1 <= d.len());
            }
        }
    }
}
