//! `cvipsniff flows` in one pass over a classic pcap or pcapng file, for the plain case
//! only.
//!
//! The reference is `FlowTable` (`cvipsniff/flows/table.py`, `tcp.py`, `udp.py`) fed by
//! the capture readers and the packet decoder. Most captures are *plain*: every frame
//! takes the decoder's fast path (Ethernet, IPv4 without options, TCP or UDP, complete;
//! here also behind VLAN tags or a Linux cooked header) or is one it drops without a word
//! (ARP, LLDP, STP, ICMP, ICMPv6...), time never goes
//! backwards, and every TCP segment arrives exactly where the receiver expects it. For
//! such a capture the reference only counts: packets, bytes, delivered bytes, first and
//! last times, roles and how each flow closed; no note, no gap, no buffer. This module
//! computes exactly that without building a Python object per packet, including which
//! flows the reference's table still holds: closed connections forgotten after
//! TIME-WAIT, and the flows a full table evicts (a SYN flood, a scan).
//!
//! The moment anything else shows up — any other frame off the decoder's fast path, a
//! retransmission, an out-of-order or overlapping segment, a FIN ahead of a hole, data
//! after a FIN, a zero window, a reused 4-tuple, a UDP datagram that may be a capture
//! duplicate, a corrupt or truncated record or block, an odd pcapng block or time — the
//! pass *declines* (returns None)
//! and the caller runs the reference over the whole file. So the answer is always the
//! reference's, and this code never has to decide anything the reference decides
//! differently. Declining is conservative by design: a check here may decline a capture
//! the reference would count plainly (a UDP datagram of the same length and hash within
//! the duplicate window), never the other way round.

use std::collections::{HashMap, VecDeque};
use std::io::Read;

use crate::capture::Window;
use crate::packets::fast_path;

/// Per direction, what `flows` prints (the other `DirectionStats` fields stay 0 in a
/// plain capture).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub packets: u64,
    pub bytes: u64,
    pub delivered: u64,
}

/// How a flow ended (None: still open at the end of the capture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    Fin,
    Rst,
    /// Dropped to make room in a full table (`FlowTable._evict`).
    Evicted,
}

/// One flow as the reference's `Flow` holds it after the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    pub tcp: bool,
    pub client: ([u8; 4], u16),
    pub server: ([u8; 4], u16),
    pub first_frame: u64,
    pub first_ts: u64,
    pub last_ts: u64,
    pub mid_session: bool,
    pub closed: Option<Closed>,
    pub stats: [Counts; 2],
}

/// What the pass needs from the reference's configuration.
pub struct Config<'a> {
    /// The protocols' well-known ports (roles of flows picked up mid-session).
    pub server_ports: &'a [u16],
    /// `FlowTable`'s `max_flows`: at this many flows the reference may start evicting.
    pub max_flows: usize,
    /// `FlowTable`'s `closed_linger_ns` (TIME-WAIT of closed connections).
    pub linger_ns: u64,
    /// `[MIN_TS_NS, END_TS_NS)` of `cvipsniff.timestamps`: a pcapng time outside is noted.
    pub ts_range: (i128, i128),
}

// ---- the classic pcap record walk ------------------------------------------------------

const SYN: u16 = 0x02;
const FIN: u16 = 0x01;
const RST: u16 = 0x04;
const ACK: u16 = 0x10;
/// As `cvipsniff.flows.udp.DUPLICATE_WINDOW_NS`.
const DUPLICATE_WINDOW_NS: u64 = 1_000_000;
/// As `cvipsniff.capture.pcap`.
const STANDARD_MAX_CAPLEN: u32 = 262_144;
const MAX_RECORD: u32 = 16 << 20;
const LINKTYPE_MASK: u32 = 0x03FF_FFFF;

// ---- flow state ------------------------------------------------------------------------

#[derive(Default)]
struct Half {
    started: bool,
    isn: Option<u32>,
    next_seq: u32,
    /// A FIN was seen; in a plain capture it sits at the next expected byte, so the
    /// direction is finished at once.
    finished: bool,
    window_seen: bool,
}

struct Conn {
    flow: usize,
    halves: [Half; 2],
    /// The two table keys (client → server, server → client).
    keys: [u128; 2],
    /// Dropped from the table (closed and silent for `linger_ns`): no longer tracked.
    forgotten: bool,
}

/// Per direction: (length, hash, time) of the previous datagram.
type LastDatagram = Option<(usize, u64, u64)>;

fn key(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> u128 {
    (u128::from(u32::from_be_bytes(src)) << 64)
        | (u128::from(sport) << 48)
        | (u128::from(u32::from_be_bytes(dst)) << 16)
        | u128::from(dport)
}

/// The signed distance `a - b` on the sequence circle (`cvipsniff.flows.seqnum`).
fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

fn hash(data: &[u8]) -> u64 {
    // FNV-1a: only ever compared for equality, a collision merely declines.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

struct Udp {
    flow: usize,
    last: [LastDatagram; 2],
    keys: [u128; 2],
    forgotten: bool,
}

/// What holds a flow's state: a connection or a conversation (by index).
#[derive(Clone, Copy)]
enum Owner {
    Tcp(usize),
    Udp(usize),
}

struct Table<'a> {
    config: &'a Config<'a>,
    flows: Vec<FlowRow>,
    tcp: HashMap<u128, (usize, usize)>, // key → (connection, direction)
    conns: Vec<Conn>,
    udp: HashMap<u128, (usize, usize)>, // key → (conversation, direction)
    udps: Vec<Udp>,
    /// Flows the reference's table tracks (`len(FlowTable._live)`): every UDP
    /// conversation, every connection not yet forgotten.
    live: usize,
    /// `FlowTable._closing`: closed connections by (last packet time, connection).
    closing: VecDeque<(u64, usize)>,
    /// Per flow, what holds it; and the flows that may still be tracked (compacted when
    /// the table is full).
    owners: Vec<Owner>,
    tracked: Vec<usize>,
}

/// The fields of one fast-path packet the table reads.
struct Seg<'d> {
    frame: u64,
    ts: u64,
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u16,
    window: u16,
    payload: &'d [u8],
}

impl<'a> Table<'a> {
    fn new(config: &'a Config<'a>) -> Self {
        Table { config, flows: Vec::new(), tcp: HashMap::new(), conns: Vec::new(),
                udp: HashMap::new(), udps: Vec::new(), live: 0, closing: VecDeque::new(),
                owners: Vec::new(), tracked: Vec::new() }
    }

    /// `FlowTable._sender_is_client`.
    fn sender_is_client(&self, s: &Seg) -> bool {
        let ports = self.config.server_ports;
        !ports.contains(&s.sport) || ports.contains(&s.dport)
    }

    /// A new flow (its row), held by `owner` (the next connection or conversation): as
    /// `FlowTable._reserve`, closed connections silent for `linger_ns` are forgotten
    /// first, then a full table evicts.
    fn new_flow(&mut self, tcp: bool, s: &Seg, sender_is_client: bool, mid_session: bool)
                -> usize {
        let linger = self.config.linger_ns;
        if self.closing.front().is_some_and(|&(ts, _)| s.ts - ts >= linger) {
            self.retire(s.ts);
        }
        if self.live >= self.config.max_flows {
            self.evict();
        }
        self.live += 1;
        self.tracked.push(self.flows.len());
        self.owners.push(if tcp { Owner::Tcp(self.conns.len()) } else { Owner::Udp(self.udps.len()) });
        let (a, b) = ((s.src, s.sport), (s.dst, s.dport));
        let (client, server) = if sender_is_client { (a, b) } else { (b, a) };
        self.flows.push(FlowRow {
            tcp, client, server, first_frame: s.frame, first_ts: s.ts, last_ts: s.ts,
            mid_session, closed: None, stats: [Counts::default(); 2],
        });
        self.flows.len() - 1
    }

    fn forgotten(&self, flow: usize) -> bool {
        match self.owners[flow] {
            Owner::Tcp(ci) => self.conns[ci].forgotten,
            Owner::Udp(ui) => self.udps[ui].forgotten,
        }
    }

    /// `FlowTable._evict`: the `max_flows / 16` tracked flows first by (open, last packet
    /// time, id) — closed ones first, then the least recently active — are closed as
    /// "evicted" (those still open) and forgotten. (The reference's lazy heap yields
    /// exactly that order; only the set matters here.)
    fn evict(&mut self) {
        let mut tracked = std::mem::take(&mut self.tracked);
        tracked.retain(|&flow| !self.forgotten(flow));
        let mut keys: Vec<(bool, u64, usize)> = tracked.iter()
            .map(|&flow| (self.flows[flow].closed.is_none(), self.flows[flow].last_ts, flow))
            .collect();
        self.tracked = tracked;
        let count = (self.config.max_flows / 16).max(1).min(keys.len());
        if count == 0 {
            return;
        }
        keys.select_nth_unstable(count - 1);
        for &(open, _, flow) in &keys[..count] {
            if open {
                self.flows[flow].closed = Some(Closed::Evicted);
            }
            match self.owners[flow] {
                Owner::Tcp(ci) => self.forget(ci),
                Owner::Udp(ui) => {
                    let conv = &mut self.udps[ui];
                    conv.forgotten = true;
                    for key in conv.keys {
                        self.udp.remove(&key);
                    }
                    self.live -= 1;
                }
            }
        }
    }

    /// `FlowTable._retire`: forget the closed connections silent for `linger_ns` by
    /// `now` (one with later packets waits from the last of them).
    fn retire(&mut self, now: u64) {
        let linger = self.config.linger_ns;
        while let Some(&(ts, ci)) = self.closing.front() {
            if now - ts < linger {
                break;
            }
            self.closing.pop_front();
            if self.conns[ci].forgotten {
                continue; // gone already
            }
            let last = self.flows[self.conns[ci].flow].last_ts;
            if now - last >= linger {
                self.forget(ci);
            } else {
                self.closing.push_back((last, ci));
            }
        }
    }

    /// `FlowTable._forget` of a connection: its keys go, it is no longer tracked.
    fn forget(&mut self, ci: usize) {
        let conn = &mut self.conns[ci];
        if !conn.forgotten {
            conn.forgotten = true;
            for key in conn.keys {
                self.tcp.remove(&key);
            }
            self.live -= 1;
        }
    }

    /// `FlowTable.feed` for a UDP datagram (`UdpConversation.receive`).
    fn udp(&mut self, s: &Seg) -> Option<()> {
        let k = key(s.src, s.sport, s.dst, s.dport);
        let rev = key(s.dst, s.dport, s.src, s.sport);
        if k == rev {
            return None; // a 4-tuple that is its own reverse: left to the reference
        }
        let (index, direction) = match self.udp.get(&k) {
            Some(&entry) => entry,
            None => {
                let client = self.sender_is_client(s);
                let flow = self.new_flow(false, s, client, false);
                let index = self.udps.len();
                let keys = if client { [k, rev] } else { [rev, k] };
                self.udps.push(Udp { flow, last: [None, None], keys, forgotten: false });
                let d = usize::from(!client);
                self.udp.insert(rev, (index, 1 - d));
                self.udp.insert(k, (index, d));
                (index, d)
            }
        };
        let n = s.payload.len();
        let h = hash(s.payload);
        let conv = &mut self.udps[index];
        if let Some((len, prev_hash, ts)) = conv.last[direction] {
            if len == n && prev_hash == h && s.ts - ts <= DUPLICATE_WINDOW_NS {
                return None; // maybe a capture duplicate (a note): the reference decides
            }
        }
        conv.last[direction] = Some((n, h, s.ts));
        let row = &mut self.flows[conv.flow];
        row.last_ts = s.ts;
        let c = &mut row.stats[direction];
        c.packets += 1;
        c.bytes += n as u64;
        c.delivered += n as u64;
        Some(())
    }

    /// `FlowTable.feed` for a TCP segment (`_tcp_slow`, `TcpConnection.receive`), in the
    /// plain case; None for anything else.
    fn tcp(&mut self, s: &Seg) -> Option<()> {
        let k = key(s.src, s.sport, s.dst, s.dport);
        let rev = key(s.dst, s.dport, s.src, s.sport);
        if k == rev {
            return None;
        }
        let mut found = self.tcp.get(&k).copied();
        if let Some((ci, _)) = found {
            let row = &self.flows[self.conns[ci].flow];
            if row.closed.is_some() && s.ts - row.last_ts >= self.config.linger_ns {
                // Closed and silent past TIME-WAIT: forgotten, a new connection.
                self.forget(ci);
                found = None;
            }
        }
        let (ci, direction) = match found {
            Some(entry) => entry,
            None => self.open_tcp(s, k, rev)?,
        };
        let n = s.payload.len();
        let flags = s.flags;
        let conn = &mut self.conns[ci];
        let row = &mut self.flows[conn.flow];
        let closed = row.closed.is_some();
        if found.is_some() {
            let half = &conn.halves[direction];
            if flags & SYN != 0
                && (half.isn.is_some() || half.started || row.mid_session || closed) {
                // `syn_is_new`: a new connection on a reused 4-tuple (a note), or the
                // same ISN again (a retransmission): either way not plain. (What is
                // left is the first SYN of this direction: the SYN/ACK.)
                return None;
            }
            if closed && n > 0 {
                // New bytes reuse the 4-tuple; old ones are retransmissions: not plain.
                return None;
            }
        }
        row.last_ts = s.ts;
        let c = &mut row.stats[direction];
        c.packets += 1;
        c.bytes += n as u64;
        let [h0, h1] = &mut conn.halves;
        let (half, peer) = if direction == 0 { (h0, h1) } else { (h1, h0) };
        if s.window != 0 {
            half.window_seen = true;
        } else if half.window_seen && flags & (SYN | RST) == 0 && !closed {
            return None; // a zero window: probes may follow
        }
        if closed {
            return Some(()); // a late packet without bytes or SYN: counted, nothing more
        }
        let mut seq = s.seq;
        if flags & SYN != 0 {
            if half.isn.is_some() {
                return None;
            }
            half.isn = Some(seq);
            half.started = true;
            half.next_seq = seq.wrapping_add(1);
            if flags & ACK != 0 && !peer.started {
                // A SYN/ACK without the SYN: its ACK gives the client's ISN + 1.
                peer.isn = Some(s.ack.wrapping_sub(1));
                peer.started = true;
                peer.next_seq = s.ack;
            }
            seq = seq.wrapping_add(1);
        } else if !half.started {
            half.started = true;
            half.next_seq = seq;
        }
        let mut rel = seq_diff(seq, half.next_seq); // stream offset - next offset
        if n > 0 {
            let keep_alive = n <= 1 && flags & (SYN | FIN | RST) == 0
                && rel == if half.finished { 0 } else { -1 };
            if !keep_alive {
                if half.finished || rel != 0 {
                    return None; // data after the FIN, a retransmission, a hole
                }
                c.delivered += n as u64;
                half.next_seq = half.next_seq.wrapping_add(n as u32);
                rel = -(n as i64);
            }
        }
        if flags & FIN != 0 && !half.finished {
            if rel + n as i64 > 0 {
                return None; // bytes missing before the FIN
            }
            half.finished = true;
        }
        if flags & RST != 0 {
            row.closed = Some(Closed::Rst);
        } else if half.finished && peer.finished {
            row.closed = Some(Closed::Fin);
        }
        if row.closed.is_some() {
            self.closing.push_back((s.ts, ci));
        }
        Some(())
    }

    /// `FlowTable._open_tcp`: (connection, direction of this packet's sender).
    fn open_tcp(&mut self, s: &Seg, k: u128, rev: u128) -> Option<(usize, usize)> {
        let (mid_session, client) = if s.flags & SYN != 0 {
            (false, s.flags & ACK == 0) // a SYN/ACK comes from the server
        } else {
            (true, self.sender_is_client(s))
        };
        let flow = self.new_flow(true, s, client, mid_session);
        let keys = if client { [k, rev] } else { [rev, k] };
        let ci = self.conns.len();
        self.conns.push(Conn { flow, halves: Default::default(), keys, forgotten: false });
        self.tcp.insert(keys[1], (ci, 1));
        self.tcp.insert(keys[0], (ci, 0));
        Some((ci, usize::from(!client)))
    }
}

const SNAP_HEADER: [u8; 6] = [0xaa, 0xaa, 0x03, 0, 0, 0];

/// Whether the reference decoder drops an Ethernet frame off the fast path without a note
/// (`decode_general` returning None): a non-IP EtherType (ARP, LLDP...), 802.3 without
/// SNAP (STP...), or an IPv4/IPv6 packet of another protocol than TCP or UDP (ICMP,
/// ICMPv6, IGMP...) whose header the reference reads without complaint. Anything it
/// would decode or note (VLAN tags, SNAP, IPv6 extension headers, a header that lies)
/// is not.
fn ignored(d: &[u8]) -> bool {
    if d.len() < 14 {
        return false; // too short for Ethernet: a note
    }
    let be16 = |at: usize| usize::from(u16::from_be_bytes([d[at], d[at + 1]]));
    let captured = d.len() - 14;
    match be16(12) {
        0x0800 => {
            if captured < 20 {
                return false;
            }
            let header_length = usize::from(d[14] & 0x0F) << 2;
            let total_length = match be16(16) { 0 => captured, n => n };
            d[14] >> 4 == 4 && header_length >= 20 && total_length >= header_length
                && header_length <= captured && d[23] != 6 && d[23] != 17
        }
        0x86DD => {
            // No bytes missing (the reference may note them), no extension header
            // (walked, and may hold TCP or UDP) and not TCP or UDP itself.
            captured >= 40 && d[14] >> 4 == 6 && 40 + be16(18) <= captured
                && !matches!(d[20], 0 | 6 | 17 | 43 | 44 | 51 | 60)
        }
        0x8100 | 0x88A8 | 0x9100 | 0x9200 | 0x9300 => false, // VLAN tags: walked before
        ethertype if ethertype <= 1500 => d.len() < 22 || d[14..20] != SNAP_HEADER,
        _ => true,
    }
}

/// Frames in, flows out: the frame numbering, the time check and the decoder's choice
/// before the table.
struct Frames<'a> {
    table: Table<'a>,
    number: u64,
    last_ts: u64,
}

impl Frames<'_> {
    /// One frame of the capture; None declines.
    fn frame(&mut self, ts: u64, linktype: u32, data: &[u8]) -> Option<()> {
        self.number += 1;
        if ts < self.last_ts {
            return None; // time went backwards: eviction keys and retirement differ
        }
        self.last_ts = ts;
        let d = link_payload(linktype, data)?;
        let Some(f) = fast_path(crate::packets::LINKTYPE_ETHERNET, d) else {
            // Dropped by the reference without a note, or another shape: its general
            // decoder's.
            return ignored(d).then_some(());
        };
        let s = Seg {
            frame: self.number, ts, src: f.src, dst: f.dst, sport: f.sport, dport: f.dport,
            seq: f.seq, ack: f.ack, flags: f.flags, window: f.window,
            payload: &d[f.payload.0..f.payload.1],
        };
        if f.protocol == 6 { self.table.tcp(&s) } else { self.table.udp(&s) }
    }
}

const LINKTYPE_LINUX_SLL: u32 = 113;

/// A frame as an Ethernet frame without VLAN tags: the frame itself, or the slice of it
/// whose bytes 12..14 hold the EtherType of the network header that starts at byte 14
/// (`cvipsniff/packets/link.py`: a Linux cooked capture's protocol field, the EtherType
/// after any stack of 802.1Q/802.1ad tags). The reference decodes those frames by its
/// general path, which for the inner shapes the fast path takes builds the same Packet
/// (the VLAN ids aside, which flows do not use). None for other link types and wherever
/// the reference notes the link header (too short, a cut tag, more than 8 tags).
fn link_payload(linktype: u32, data: &[u8]) -> Option<&[u8]> {
    let mut d = match linktype {
        crate::packets::LINKTYPE_ETHERNET if data.len() >= 14 => data,
        LINKTYPE_LINUX_SLL if data.len() >= 16 => &data[2..],
        _ => return None,
    };
    for _ in 0..=8 {
        if !matches!(u16::from_be_bytes([d[12], d[13]]), 0x8100 | 0x88A8 | 0x9100 | 0x9200 | 0x9300) {
            return Some(d);
        }
        if d.len() < 18 {
            return None; // the frame ends inside the tag
        }
        d = &d[4..];
    }
    None // a ninth tag
}

fn u32_in(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let v: [u8; 4] = b[at..at + 4].try_into().unwrap();
    if big_endian { u32::from_be_bytes(v) } else { u32::from_le_bytes(v) }
}

fn u16_in(b: &[u8], at: usize, big_endian: bool) -> u16 {
    let v: [u8; 2] = b[at..at + 2].try_into().unwrap();
    if big_endian { u16::from_be_bytes(v) } else { u16::from_le_bytes(v) }
}

/// The flows of a classic pcap or a pcapng file read from `input`, as the reference's
/// `flows` lists them (in id order), or None: not a plain capture (see the module docs),
/// another format (compressed...), or a read error — the reference then reads the file
/// itself.
pub fn flow_stats<R: Read>(input: R, config: &Config) -> Option<Vec<FlowRow>> {
    let mut chunks = Window::new(input);
    let mut frames = Frames { table: Table::new(config), number: 0, last_ts: 0 };
    if chunks.fill(4).ok()? < 4 {
        return None;
    }
    if chunks.buf[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        walk_pcapng(&mut chunks, &mut frames, config)?;
    } else {
        walk_pcap(&mut chunks, &mut frames)?;
    }
    Some(frames.table.flows)
}

/// `cvipsniff.capture.pcap.iter_pcap` without its resync: a corrupt or cut record
/// declines.
fn walk_pcap<R: Read>(chunks: &mut Window<R>, frames: &mut Frames) -> Option<()> {
    if chunks.fill(24).ok()? < 24 {
        return None;
    }
    let head: [u8; 24] = chunks.buf[..24].try_into().ok()?;
    chunks.pos = 24;
    let (big_endian, nanosecond, hsize) = match head[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false, 16),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false, 16),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true, 16),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true, 16),
        [0x34, 0xcd, 0xb2, 0xa1] => (false, false, 24),
        [0xa1, 0xb2, 0xcd, 0x34] => (true, false, 24),
        _ => return None,
    };
    let snaplen = u32_in(&head, 16, big_endian);
    let linktype = u32_in(&head, 20, big_endian) & LINKTYPE_MASK;
    let max_caplen = snaplen.clamp(STANDARD_MAX_CAPLEN, MAX_RECORD);
    let scale: u64 = if nanosecond { 1 } else { 1000 };
    loop {
        let got = chunks.fill(hsize).ok()?;
        if got < hsize {
            // The clean end, or a partial record header (a note): the reference's.
            return (got == 0).then_some(());
        }
        let at = chunks.pos;
        let (sec, frac, incl) = (u32_in(&chunks.buf, at, big_endian),
                                 u32_in(&chunks.buf, at + 4, big_endian),
                                 u32_in(&chunks.buf, at + 8, big_endian));
        if incl > max_caplen {
            return None; // corrupt: the reference resyncs and notes it
        }
        let length = hsize + incl as usize;
        if chunks.fill(length).ok()? < length {
            return None; // a truncated last record (a note)
        }
        let ts = u64::from(sec) * 1_000_000_000 + u64::from(frac) * scale;
        frames.frame(ts, linktype, &chunks.buf[chunks.pos + hsize..chunks.pos + length])?;
        chunks.pos += length;
    }
}

const BT_SHB: u32 = 0x0A0D_0D0A;
const BT_IDB: u32 = 1;
const BT_OPB: u32 = 2;
const BT_SPB: u32 = 3;
const BT_EPB: u32 = 6;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// An interface's link type and timestamp arithmetic (`_interface` of pcapng.py):
/// nanoseconds = raw * multiplier / divisor + offset; None where the divisor does not fit
/// 64 bits (declined if a packet uses it).
type Iface = Option<(u32, u128, u128, i128)>;

/// `_resolution` of pcapng.py.
fn resolution(code: u8) -> Option<(u128, u128)> {
    let exponent = u32::from(code & 0x7F);
    if code & 0x80 != 0 {
        return (exponent < 64).then(|| (1_000_000_000, 1u128 << exponent));
    }
    if exponent <= 9 {
        return Some((10u128.pow(9 - exponent), 1));
    }
    (exponent - 9 <= 19).then(|| (1, 10u128.pow(exponent - 9)))
}

/// An Interface Description Block's interface, or None where the reference notes its
/// options as malformed (`_options`).
fn interface(b: &[u8], big_endian: bool) -> Option<Iface> {
    let linktype = u32::from(u16_in(b, 8, big_endian));
    let stop = b.len() - 4;
    let (mut tsresol, mut tsoffset): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    let mut at = 16;
    let well_formed = loop {
        if at + 4 > stop {
            break at == stop;
        }
        let (code, length) = (u16_in(b, at, big_endian), usize::from(u16_in(b, at + 2, big_endian)));
        if code == 0 {
            break true;
        }
        let value_end = at + 4 + length;
        if value_end > stop {
            break false;
        }
        let value = &b[at + 4..value_end];
        if code == IF_TSRESOL && tsresol.is_none() {
            tsresol = Some(value);
        } else if code == IF_TSOFFSET && tsoffset.is_none() {
            tsoffset = Some(value);
        }
        at = value_end + (4 - length % 4) % 4;
    };
    if !well_formed {
        return None;
    }
    let code = tsresol.map_or(6, |v| v.first().copied().unwrap_or(6));
    let offset = match tsoffset {
        Some(v) if v.len() == 8 => {
            let raw: [u8; 8] = v.try_into().ok()?;
            let seconds = if big_endian { i64::from_be_bytes(raw) } else { i64::from_le_bytes(raw) };
            i128::from(seconds) * 1_000_000_000
        }
        _ => 0,
    };
    Some(resolution(code).map(|(multiplier, divisor)| (linktype, multiplier, divisor, offset)))
}

/// `cvipsniff.capture.pcapng.iter_pcapng` for well-formed files of Section Header,
/// Interface Description and Enhanced Packet Blocks (other block types are skipped by
/// their length, as there); a Simple or obsolete Packet Block, anything the reference
/// notes (a corrupt or cut block, malformed options, an odd time...) declines.
fn walk_pcapng<R: Read>(chunks: &mut Window<R>, frames: &mut Frames, config: &Config)
                        -> Option<()> {
    let mut big_endian = false;
    let mut interfaces: Vec<Iface> = Vec::new();
    loop {
        let got = chunks.fill(12).ok()?;
        if got < 12 {
            return (got == 0).then_some(());
        }
        let at = chunks.pos;
        let btype = u32_in(&chunks.buf, at, big_endian);
        if btype == BT_SHB {
            big_endian = match chunks.buf[at + 8..at + 12] {
                [0x1a, 0x2b, 0x3c, 0x4d] => true,
                [0x4d, 0x3c, 0x2b, 0x1a] => false,
                _ => return None,
            };
        }
        let length = u32_in(&chunks.buf, at + 4, big_endian);
        if length < 12 || length & 3 != 0 || length > MAX_RECORD {
            return None;
        }
        let length = length as usize;
        if chunks.fill(length).ok()? < length {
            return None;
        }
        let b = &chunks.buf[chunks.pos..chunks.pos + length];
        if u32_in(b, length - 4, big_endian) as usize != length {
            return None;
        }
        match btype {
            BT_EPB => {
                if length < 32 {
                    return None;
                }
                let interface = u32_in(b, 8, big_endian) as usize;
                let raw = (u64::from(u32_in(b, 12, big_endian)) << 32)
                    | u64::from(u32_in(b, 16, big_endian));
                let caplen = u32_in(b, 20, big_endian) as usize;
                if interface >= interfaces.len() || caplen > length - 32 {
                    return None;
                }
                let (linktype, multiplier, divisor, offset) = interfaces[interface]?;
                let ts = (u128::from(raw) * multiplier / divisor) as i128 + offset;
                if !(config.ts_range.0..config.ts_range.1).contains(&ts) || ts < 0 {
                    return None; // an odd time (a note)
                }
                frames.frame(u64::try_from(ts).ok()?, linktype, &b[28..28 + caplen])?;
            }
            BT_IDB => {
                if length < 20 {
                    return None;
                }
                interfaces.push(interface(b, big_endian)?);
            }
            BT_SHB => {
                if length < 28 || u16_in(b, 12, big_endian) != 1 {
                    return None; // too short or another version: a note
                }
                interfaces.clear();
            }
            BT_SPB | BT_OPB => return None,
            _ => {} // statistics, names, secrets, custom...: skipped, as the reference does
        }
        chunks.pos += length;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: &[u16] = &[7563];
    const CONFIG: Config<'static> = Config { server_ports: PORTS, max_flows: 8,
                                             linger_ns: 240_000_000_000,
                                             ts_range: (0, 253_402_300_800_000_000_000) };

    #[allow(clippy::too_many_arguments)]
    fn tcp(src: u8, sport: u16, dst: u8, dport: u16, seq: u32, ack: u32, flags: u8,
           payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&sport.to_be_bytes());
        body.extend_from_slice(&dport.to_be_bytes());
        body.extend_from_slice(&seq.to_be_bytes());
        body.extend_from_slice(&ack.to_be_bytes());
        body.extend_from_slice(&[0x50, flags, 0x20, 0, 0, 0, 0, 0]);
        body.extend_from_slice(payload);
        let total = (20 + body.len()) as u16;
        let mut v = vec![0u8; 12];
        v.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        v.extend_from_slice(&total.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, src, 10, 0, 0, dst]);
        v.extend_from_slice(&body);
        v
    }

    /// A nanosecond little-endian pcap file of (time, frame) records.
    fn pcap(frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut v = vec![0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (ts, data) in frames {
            v.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
            v.extend_from_slice(&((ts % 1_000_000_000) as u32).to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(data);
        }
        v
    }

    fn block(btype: u32, body: &[u8]) -> Vec<u8> {
        let length = (12 + body.len().div_ceil(4) * 4) as u32;
        let mut v = [btype.to_le_bytes(), length.to_le_bytes()].concat();
        v.extend_from_slice(body);
        v.resize(length as usize - 4, 0);
        v.extend_from_slice(&length.to_le_bytes());
        v
    }

    /// A little-endian pcapng file: a section, one Ethernet interface in microseconds
    /// (the default resolution), a statistics block, the frames as EPBs.
    fn pcapng(frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut v = block(BT_SHB, &[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff]);
        v.extend(block(BT_IDB, &[1, 0, 0, 0, 0, 0, 0, 0]));
        v.extend(block(5, &[0; 12]));
        for (ts, data) in frames {
            let raw = ts / 1000;
            let mut body = [0u32, (raw >> 32) as u32, raw as u32, data.len() as u32,
                            data.len() as u32].map(u32::to_le_bytes).concat();
            body.extend_from_slice(data);
            v.extend(block(BT_EPB, &body));
        }
        v
    }

    fn session() -> Vec<(u64, Vec<u8>)> {
        let t = 1_000_000_000_000;
        vec![
            (t, tcp(2, 40000, 1, 7563, 99, 0, 0x02, b"")),
            (t + 1, tcp(1, 7563, 2, 40000, 499, 100, 0x12, b"")),
            (t + 2, tcp(2, 40000, 1, 7563, 100, 500, 0x10, b"")),
            (t + 3, tcp(2, 40000, 1, 7563, 100, 500, 0x18, b"request")),
            (t + 4, tcp(1, 7563, 2, 40000, 500, 107, 0x18, b"the answer")),
            (t + 5, tcp(2, 40000, 1, 7563, 106, 510, 0x10, b"\0")), // keep-alive
            (t + 6, tcp(2, 40000, 1, 7563, 107, 510, 0x11, b"")),
            (t + 7, tcp(1, 7563, 2, 40000, 510, 108, 0x11, b"")),
            (t + 8, tcp(2, 40000, 1, 7563, 108, 511, 0x10, b"")), // after the close
        ]
    }

    #[test]
    fn a_plain_session_is_counted() {
        let rows = flow_stats(&pcap(&session())[..], &CONFIG).unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert!(r.tcp && !r.mid_session);
        assert_eq!((r.client, r.server), (([10, 0, 0, 2], 40000), ([10, 0, 0, 1], 7563)));
        assert_eq!((r.first_frame, r.last_ts - r.first_ts, r.closed), (1, 8, Some(Closed::Fin)));
        assert_eq!(r.stats, [Counts { packets: 6, bytes: 8, delivered: 7 },
                             Counts { packets: 3, bytes: 10, delivered: 10 }]);
    }

    #[test]
    fn closed_flows_make_room_after_time_wait() {
        // Twenty sessions a second apart on different ports, a table of two flows: each
        // closed one is forgotten after its half-second TIME-WAIT, so no eviction.
        let config = Config { max_flows: 2, linger_ns: 500_000_000, ..CONFIG };
        let mut frames = Vec::new();
        for i in 0..20u64 {
            for (ts, mut data) in session() {
                data[34..36].copy_from_slice(&(41000 + i as u16).to_be_bytes());
                data[36..38].copy_from_slice(&7563u16.to_be_bytes());
                if data[29] == 1 { // server → client: ports the other way round
                    data[34..36].copy_from_slice(&7563u16.to_be_bytes());
                    data[36..38].copy_from_slice(&(41000 + i as u16).to_be_bytes());
                }
                frames.push((ts + i * 1_000_000_000, data));
            }
        }
        let rows = flow_stats(&pcap(&frames)[..], &config).unwrap();
        assert_eq!(rows.len(), 20);
        assert!(rows.iter().all(|r| r.closed == Some(Closed::Fin) && r.stats[0].packets == 6));
        // With a TIME-WAIT of over two gaps, the third session finds two flows held: one
        // is evicted, silently (closed already, it stays "fin"): the same rows.
        let config = Config { linger_ns: 2_500_000_000, ..config };
        assert_eq!(flow_stats(&pcap(&frames)[..], &config).unwrap(), rows);
    }

    #[test]
    fn vlan_tags_and_linux_cooked_frames() {
        let plain = flow_stats(&pcap(&session())[..], &CONFIG).unwrap();
        let mut tagged = session();
        for (i, (_, data)) in tagged.iter_mut().enumerate() {
            for _ in 0..=i % 3 { // one to three tags, 802.1Q and 802.1ad
                data.splice(12..12, [0x81 + (i as u8 & 1) * 7, (i as u8 & 1) * 0xa8, 0, 7]);
            }
        }
        assert_eq!(flow_stats(&pcap(&tagged)[..], &CONFIG).unwrap(), plain);
        assert_eq!(link_payload(1, &[0x81, 0, 0, 1][..]), None); // shorter than Ethernet
        let cut_tag = [&[0u8; 12][..], &[0x81, 0x00, 0x00, 0x07, 0x81, 0x00]].concat();
        assert_eq!(link_payload(1, &cut_tag), None);
        // Linux cooked (v1): a 16-byte header whose protocol field sits where Ethernet's
        // EtherType would, two bytes later.
        let cooked: Vec<_> = session().into_iter()
            .map(|(ts, data)| (ts, [&[0u8, 0][..], &data].concat())).collect();
        let mut file = pcap(&cooked);
        file[20] = 113;
        assert_eq!(flow_stats(&file[..], &CONFIG).unwrap(), plain);
        file[20] = 114; // another link type: the reference's
        assert!(flow_stats(&file[..], &CONFIG).is_none());
    }

    #[test]
    fn pcapng_the_same_as_pcap() {
        let frames: Vec<_> = session().into_iter().map(|(ts, d)| (ts * 1000, d)).collect();
        let rows = flow_stats(&pcapng(&frames)[..], &CONFIG).unwrap();
        assert_eq!(rows, flow_stats(&pcap(&frames)[..], &CONFIG).unwrap());
        let file = pcapng(&frames);
        assert!(flow_stats(&file[..file.len() - 4], &CONFIG).is_none()); // cut block
        let mut spb = file.clone();
        spb.extend(block(BT_SPB, &[0; 8]));
        assert!(flow_stats(&spb[..], &CONFIG).is_none());
    }

    #[test]
    fn anything_unusual_declines() {
        let plain = session();
        let mut retransmitted = plain.clone();
        retransmitted.insert(4, plain[3].clone());
        let mut hole = plain.clone();
        hole.remove(3);
        let mut backwards = plain.clone();
        backwards[5].0 = 0;
        let mut data_after_close = plain.clone();
        data_after_close.push((plain[8].0, tcp(2, 40000, 1, 7563, 108, 511, 0x18, b"more")));
        let mut bad_ip = plain.clone();
        bad_ip[2].1[14] = 0x55; // IP version 5: the reference notes it
        let mut nine_tags = plain.clone();
        for _ in 0..9 {
            nine_tags[2].1.splice(12..12, [0x81, 0x00, 0x00, 0x07]); // the reference notes it
        }
        for frames in [retransmitted, hole, backwards, data_after_close, bad_ip, nine_tags] {
            assert!(flow_stats(&pcap(&frames)[..], &CONFIG).is_none());
        }
        let file = pcap(&plain);
        assert!(flow_stats(&file[..file.len() - 3], &CONFIG).is_none()); // cut record
        assert!(flow_stats(&file[..20], &CONFIG).is_none()); // cut header
    }

    #[test]
    fn a_full_table_evicts_the_least_recently_active() {
        // Nine lone SYNs through a table of eight: the ninth evicts one flow (8 / 16,
        // at least one), the least recently active; its port's next SYN is a new flow.
        let syn = |ts: u64, port: u16| (ts, tcp(2, port, 1, 7563, 1, 0, 0x02, b""));
        let mut frames: Vec<_> = (0..8u16).map(|i| syn(1_000 + u64::from(i), 40000 + i))
            .collect();
        frames[0].0 = 999; // oldest
        frames.push(syn(2_000, 40008));
        frames.push(syn(2_001, 40000));
        let rows = flow_stats(&pcap(&frames)[..], &CONFIG).unwrap();
        assert_eq!(rows.len(), 10);
        // The ninth flow evicted the first (the oldest); the tenth, on the first's port
        // again, the next least recently active (port 40001).
        let evicted: Vec<_> = rows.iter().map(|r| r.closed == Some(Closed::Evicted)).collect();
        assert_eq!(evicted, [true, true, false, false, false, false, false, false, false,
                             false]);
        assert_eq!((rows[9].client.1, rows[9].first_frame), (40000, 10));
    }

    #[test]
    fn frames_the_reference_drops_silently_are_skipped() {
        let mut frames = session();
        let arp = [&[0u8; 12][..], &[0x08, 0x06], &[0; 28]].concat();
        let mut icmp = tcp(2, 0, 1, 0, 0, 0, 0, b"");
        icmp[23] = 1;
        let stp = [&[0u8; 12][..], &[0x00, 0x26, 0x42, 0x42, 0x03], &[0; 41]].concat();
        let mut icmpv6 = vec![0u8; 12];
        icmpv6.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 58, 255]);
        icmpv6.extend_from_slice(&[0; 40]);
        for (i, noise) in [arp, icmp, stp, icmpv6].into_iter().enumerate() {
            assert!(ignored(&noise), "{i}");
            frames.insert(2 * i + 1, (frames[2 * i].0, noise));
        }
        let rows = flow_stats(&pcap(&frames)[..], &CONFIG).unwrap();
        assert_eq!(rows, flow_stats(&pcap(&session())[..], &CONFIG).unwrap()
            .into_iter().map(|mut r| { r.first_frame = 1; r }).collect::<Vec<_>>());
        let mut short_ipv6 = vec![0u8; 12];
        short_ipv6.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 9, 58, 255]);
        short_ipv6.extend_from_slice(&[0; 40]); // one byte fewer than announced
        assert!(!ignored(&short_ipv6));
    }

    /// Stable stand-in for a fuzz target: arbitrary bytes after a pcap header, and
    /// damaged copies of a plain file, never panic.
    #[test]
    fn arbitrary_files_never_panic() {
        let mut rng = crate::testrand::XorShift::new(0x1234_5678_9ABC_DEF1);
        let mut next = || rng.next();
        let plain = pcap(&session());
        let plain_ng = pcapng(&session());
        for _ in 0..3_000 {
            let mut file = if next() & 3 == 0 {
                plain_ng.clone()
            } else if next() & 1 == 0 {
                plain.clone()
            } else {
                let mut v = plain[..24].to_vec();
                v.extend((0..next() % 200).map(|_| next() as u8));
                v
            };
            for _ in 0..next() % 4 {
                let at = (next() as usize) % file.len();
                file[at] = next() as u8;
            }
            let cut = (next() as usize) % (file.len() + 1);
            let _ = flow_stats(&file[..cut], &CONFIG);
        }
    }
}
