//! The record walks of capture files: the run of well-formed Enhanced Packet Blocks
//! (pcapng) or records (classic pcap) in a buffer.
//!
//! Only the common case is walked here; whatever the Python reader has to think about —
//! a block that runs past the buffer, a corrupt length, any block other than an EPB, an
//! interface it has not declared — stops the walk at that offset, and the reference code
//! in `cvipsniff/capture/pcapng.py` takes over from there. So the walk never decides
//! anything the reference would decide differently.
//!
//! Classic pcap is walked here only for a worker of a split that skips other workers'
//! records (`walk_pcap` in py.rs): where every record becomes a Frame, the Python loop is
//! bound by the same object creation a compiled walk has to do, and measured the same,
//! 0.65 µs a record.

fn u32_at(buf: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) })
}

pub const BT_EPB: u32 = 6;
pub const EPB_FIXED: u32 = 32;
pub const MAX_BLOCK: u32 = 16 << 20;

/// An Enhanced Packet Block.
#[derive(Debug, PartialEq, Eq)]
pub struct Epb {
    pub interface: u32,
    pub ts: u64,
    pub caplen: u32,
    pub origlen: u32,
    pub data: usize,
    pub next: usize,
}

/// The EPB at `pos` if it is whole in `buf`, well formed (lengths agree and are sane,
/// the captured length fits) and names one of the `interfaces` declared; else None.
pub fn pcapng_epb(buf: &[u8], pos: usize, big_endian: bool, interfaces: usize) -> Option<Epb> {
    if buf.len().checked_sub(pos)? < EPB_FIXED as usize {
        return None;
    }
    let field = |i: usize| u32_at(buf, pos + 4 * i, big_endian);
    let (btype, length, interface) = (field(0)?, field(1)?, field(2)?);
    let (ts_high, ts_low, caplen, origlen) = (field(3)?, field(4)?, field(5)?, field(6)?);
    let next = pos.checked_add(length as usize)?;
    if btype != BT_EPB || next > buf.len() || (interface as usize) >= interfaces {
        return None;
    }
    if caplen.checked_add(EPB_FIXED)? > length || length > MAX_BLOCK || length & 3 != 0 {
        return None;
    }
    if u32_at(buf, next - 4, big_endian)? != length {
        return None;
    }
    Some(Epb {
        interface,
        ts: (u64::from(ts_high) << 32) | u64::from(ts_low),
        caplen,
        origlen,
        data: pos + 28,
        next,
    })
}

/// A classic pcap record header's fields, and where its bytes and the next record are.
#[derive(Debug, PartialEq, Eq)]
pub struct PcapRecord {
    pub sec: u32,
    pub frac: u32,
    pub incl: u32,
    pub orig: u32,
    pub data: usize,
    pub next: usize,
}

/// The classic pcap record at `pos` if its header (`header_size` bytes: 16, or 24 in the
/// "modified" format) and all its captured bytes are in `buf` and it declares no more
/// than `max_caplen` of them; else None (the reference reads on, or resyncs: its
/// `iter_pcap` in `cvipsniff/capture/pcap.py` tests exactly this).
pub fn pcap_record(buf: &[u8], pos: usize, big_endian: bool, header_size: usize,
                   max_caplen: u32) -> Option<PcapRecord> {
    let data = pos.checked_add(header_size)?;
    if data > buf.len() || header_size < 16 {
        return None;
    }
    let field = |i: usize| u32_at(buf, pos + 4 * i, big_endian);
    let (sec, frac, incl, orig) = (field(0)?, field(1)?, field(2)?, field(3)?);
    if incl > max_caplen {
        return None;
    }
    let next = data.checked_add(incl as usize)?;
    if next > buf.len() {
        return None;
    }
    Some(PcapRecord { sec, frac, incl, orig, data, next })
}

// ---- a streaming window over a capture file ----------------------------------------------

use std::io::{self, Read};

/// Bytes read from a capture file in chunks of this size (a record longer than it grows
/// the buffer to fit).
const CHUNK: usize = 1 << 20;

/// A reader's bytes through one reused buffer: the whole-file passes (`flowstats`,
/// `flowweights`) walk records in `buf[pos..]` and ask for the next `n` bytes with
/// [`Window::fill`], so memory stays one chunk whatever the file's size.
pub struct Window<R: Read> {
    src: R,
    pub buf: Vec<u8>,
    pub pos: usize,
    end: usize,
}

impl<R: Read> Window<R> {
    pub fn new(src: R) -> Self {
        Window { src, buf: Vec::new(), pos: 0, end: 0 }
    }

    /// At least `need` bytes from `pos` on in the buffer, unless the input ends first
    /// (then the bytes left: fewer than `need`).
    pub fn fill(&mut self, need: usize) -> io::Result<usize> {
        if self.end - self.pos >= need {
            return Ok(need);
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.buf.len() < need.max(CHUNK) {
            self.buf.resize(need.max(CHUNK), 0);
        }
        while self.end < need {
            let got = match self.src.read(&mut self.buf[self.end..]) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if got == 0 {
                break;
            }
            self.end += got;
        }
        Ok(need.min(self.end))
    }

    /// Whether `n` bytes are available from `pos` on (false: the input ends before).
    pub fn need(&mut self, n: usize) -> io::Result<bool> {
        Ok(self.fill(n)? >= n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_records_walk_and_stop() {
        let mut buf = Vec::new();
        for x in [7u32, 9, 3, 60] {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        buf.extend_from_slice(b"abc");
        let record = pcap_record(&buf, 0, false, 16, 100).unwrap();
        assert_eq!(record, PcapRecord { sec: 7, frac: 9, incl: 3, orig: 60, data: 16,
                                        next: 19 });
        assert!(pcap_record(&buf, 0, false, 16, 2).is_none()); // over the cap: resync
        assert!(pcap_record(&buf[..18], 0, false, 16, 100).is_none()); // cut short
        assert!(pcap_record(&buf, 0, false, 24, 100).is_none()); // modified: longer header
        assert!(pcap_record(&buf, 4, false, 16, 100).is_none());
        assert_eq!(pcap_record(&buf, 0, true, 16, u32::MAX), None); // 3 << 24 bytes: cut
    }

    fn epb(interface: u32, caplen: u32, pad_to: u32) -> Vec<u8> {
        let length = 32 + pad_to;
        let mut v = Vec::new();
        for x in [BT_EPB, length, interface, 1, 2, caplen, caplen + 1] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend(std::iter::repeat_n(0x11, pad_to as usize));
        v.extend_from_slice(&length.to_be_bytes());
        v
    }

    #[test]
    fn epbs_walk_and_stop() {
        let buf = epb(0, 5, 8);
        let block = pcapng_epb(&buf, 0, true, 1).unwrap();
        assert_eq!(block, Epb { interface: 0, ts: (1 << 32) | 2, caplen: 5, origlen: 6,
                                data: 28, next: 40 });
        assert!(pcapng_epb(&buf, 0, true, 0).is_none()); // undeclared interface
        assert!(pcapng_epb(&buf, 0, false, 1).is_none()); // wrong byte order
        assert!(pcapng_epb(&epb(0, 9, 8), 0, true, 1).is_none()); // caplen past the block
        let mut bad = buf.clone();
        *bad.last_mut().unwrap() ^= 4; // trailing length differs
        assert!(pcapng_epb(&bad, 0, true, 1).is_none());
        assert!(pcapng_epb(&buf[..39], 0, true, 1).is_none());
    }

    /// Stable stand-in for the fuzz target: arbitrary buffers and offsets never panic
    /// and every record found lies inside the buffer.
    #[test]
    fn arbitrary_buffers_never_panic() {
        let mut rng = crate::testrand::XorShift::new(0x2545_F491_4F6C_DD1D);
        let mut next = || rng.next();
        for _ in 0..20_000 {
            let len = (next() % 96) as usize;
            let buf: Vec<u8> = (0..len).map(|_| (next() % 7) as u8 * 13).collect();
            let pos = (next() % 100) as usize;
            if let Some(b) = pcapng_epb(&buf, pos, next() & 1 == 0, 3) {
                assert!(b.next <= buf.len() && b.data + b.caplen as usize <= b.next);
            }
            let header = if next() & 1 == 0 { 16 } else { 24 };
            if let Some(r) = pcap_record(&buf, pos, next() & 1 == 0, header, 1 << 20) {
                assert!(r.next <= buf.len() && r.data + r.incl as usize == r.next);
            }
        }
    }
}
