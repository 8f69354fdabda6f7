//! The CVIPv2 framer of one direction of a TCP stream: the twin of
//! `dissectors/cvip/framer.py` (`CvipFramer`), which is the reference. Same state
//! machine, same decisions on evidence, same events with the same texts, whatever the
//! cuts between `feed` calls; the Python docstring and `dissectors/cvip/DECISIONS.md`
//! ("Framing on evidence") say why each rule is what it is. Each method here carries the
//! name of the Python method it mirrors, so a change to one is easy to make to both;
//! `tests/test_cvip_framer_equivalence.py` feeds both the same streams and compares
//! every event.
//!
//! Byte searches use `memchr`; every wait for more bytes re-examines a bounded window
//! (linear time, as the reference), and no input can panic: every index is checked
//! against the buffer, and stream offsets saturate rather than overflow.

use std::sync::LazyLock;

use memchr::{memchr2, memmem};

pub const HEADER_SIZE: usize = 9;
pub const DEFAULT_SIZE_CAP: u64 = 16 * 1024 * 1024;
/// `dissectors.cvip.header.SIZE_CAP`: the cap `parse_header` uses when given none (a
/// resync candidate's byte order is decided with it, whatever the framer's own cap).
const PARSE_CAP: u64 = 16 * 1024 * 1024;
const MAX_LEADING_BLANKS: usize = 64;
const ROOT_END_MAX: usize = 40;
const COMPACT_AT: usize = 64 * 1024;
const PING_REQUEST_SIZE: u64 = 16;
const PING_RESPONSE_SIZE: u64 = 37;
const MSG_TYPE_NONE: u8 = 0x00;
const MSG_TYPE_PING: u8 = 0x01;

pub const SKIPPED: &str = "cvip.framing.skipped";
pub const TRUNCATED: &str = "cvip.framing.truncated";
pub const SIZE_CAP: &str = "cvip.header.size_cap";
pub const SIZE_MISMATCH: &str = "cvip.header.size_mismatch";
const SKIPPED_REASON: &str = "bytes before a plausible CVIP header (garbage, a capture that \
                              starts mid-message, or resync after a gap)";
const ROOT_NAMES: [&[u8]; 3] = [b"methodCall", b"methodResponse", b"AnalyticsData"];

/// A framing problem (severity "error", cited to the header's section by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub rule: &'static str,
    pub message: String,
    pub offset: u64,
    pub length: u64,
}

/// `Framed` and `Skipped` of `dissectors.base`, with this protocol's problems.
pub type Event = crate::framing::Event<Problem>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Sync,
    Body,
    Discard,
    Resync,
}

/// `parse_header`'s answer, as far as framing needs it.
struct Header {
    msg_type: u8,
    size: u64,
    order_from_size: bool,
}

/// The blanks that may precede an XML body's `<` (`header.XML_LEAD`: a UTF-8 byte order
/// mark counts as blank).
pub(crate) fn blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0xef | 0xbb | 0xbf)
}

fn xml_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn sane_size(size: u64, cap: u64) -> bool {
    (HEADER_SIZE as u64..=cap).contains(&size)
}

/// `header.parse_header` for the 9 bytes at `at` (the caller checked they are there).
fn parse_header(buf: &[u8], at: usize, cap: u64) -> Header {
    let little = buf[at] == 0x01 && buf[at + 1] == 0x02;
    let raw = [buf[at + 5], buf[at + 6], buf[at + 7], buf[at + 8]];
    let (be, le) = (u64::from(u32::from_be_bytes(raw)), u64::from(u32::from_le_bytes(raw)));
    let (first, other) = if little { (le, be) } else { (be, le) };
    let flipped = !sane_size(first, cap) && sane_size(other, cap);
    Header { msg_type: buf[at + 2], size: if flipped { other } else { first },
             order_from_size: flipped }
}

/// The searcher of `</`, built once: every message's end is searched for, and building
/// a searcher per search cost more than the search (a message is a few hundred bytes).
static END_TAG_OPEN: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"</"));

/// `_ROOT_END.search(buf, from, limit)`: the first end tag of a CVIP root element
/// (`</ methodCall >`, any ASCII case, blanks around the name) wholly before `limit`, as
/// (start, end).
fn find_root_end(buf: &[u8], from: usize, limit: usize) -> Option<(usize, usize)> {
    let hay = buf.get(..limit)?;
    let mut at = from;
    while at < hay.len() {
        let start = at + END_TAG_OPEN.find(&hay[at..])?;
        let mut k = start + 2;
        while k < hay.len() && xml_blank(hay[k]) {
            k += 1;
        }
        let name = ROOT_NAMES.iter().find(|name| {
            hay.get(k..k + name.len()).is_some_and(|s| s.eq_ignore_ascii_case(name))
        });
        if let Some(name) = name {
            k += name.len();
            while k < hay.len() && xml_blank(hay[k]) {
                k += 1;
            }
            if k < hay.len() && hay[k] == b'>' {
                return Some((start, k + 1));
            }
        }
        at = start + 1;
    }
    None
}

/// `_VERSION_BYTES.search(buf, from)`: the first `02 01` or `01 02` at or after `from`.
fn find_version(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at < buf.len() {
        let i = at + memchr2(0x01, 0x02, &buf[at..])?;
        match buf.get(i + 1) {
            Some(&next) if next == 3 - buf[i] => return Some(i),
            Some(_) => at = i + 1,
            None => return None,
        }
    }
    None
}

/// Cuts one direction's reassembled byte stream into CVIPv2 messages (`CvipFramer`).
pub struct Framer {
    pub size_cap: u64,
    pub size_includes_header: bool,
    buf: Vec<u8>,
    pos: usize,
    base: u64,
    mode: Mode,
    msg_len: u64,
    scan: usize,
    skip_start: u64,
    skip_len: u64,
    discard_left: u64,
    discard_start: u64,
    discard_seen: u64,
    discard_rule: &'static str,
    discard_reason: String,
    xml: bool,
    end_scan: usize,
    open_ended: bool,
    declared: u64,
    closing: bool,
}

/// Whether `cut` is "wait for more bytes" or a length (0: the declared size stands).
enum Cut {
    Wait,
    At(u64),
}

impl Framer {
    pub fn new(size_cap: u64, size_includes_header: bool) -> Self {
        Framer {
            size_cap,
            size_includes_header,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            mode: Mode::Sync,
            msg_len: 0,
            scan: 0,
            skip_start: 0,
            skip_len: 0,
            discard_left: 0,
            discard_start: 0,
            discard_seen: 0,
            discard_rule: SIZE_CAP,
            discard_reason: String::new(),
            xml: false,
            end_scan: 0,
            open_ended: false,
            declared: 0,
            closing: false,
        }
    }

    /// Bytes held (the reference's `len(_buf)`), for memory tests.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated for the buffer (0 when idle).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    // ---- Framer protocol -------------------------------------------------------------

    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Event>) {
        let mut data = data;
        if self.mode == Mode::Discard && self.pos == self.buf.len() {
            // Not buffering an oversized body: count it down straight from the input.
            let take = self.discard_left.min(data.len() as u64);
            let new_base = self.end_offset().saturating_add(take);
            self.release_all(new_base);
            self.discard(take, out);
            data = &data[take as usize..];
        }
        self.buf.extend_from_slice(data);
        self.run(out);
        self.compact();
    }

    pub fn gap(&mut self, length: u64, out: &mut Vec<Event>) {
        self.decide_now(out);
        let avail = self.avail();
        let here = self.base.saturating_add(self.pos as u64);
        let mut resume = Mode::Resync;
        if self.mode == Mode::Discard {
            self.discard(avail, out);
            self.emit_discarded(out, true);
            if self.discard_left > length {
                // The gap fell inside the run: keep counting down after it.
                self.discard_left -= length;
                self.discard_start = self.end_offset().saturating_add(length);
                resume = Mode::Discard;
            } else {
                resume = if self.discard_left == length { Mode::Sync } else { Mode::Resync };
                self.discard_left = 0;
            }
        } else if self.mode == Mode::Body && self.open_ended {
            self.emit_truncated(out, format!("message cut by a gap of {length} bytes after \
                                              {avail} bytes, before its XML ended"));
        } else if self.mode == Mode::Body {
            // BODY waits only while fewer than msg_len bytes are there: remaining > 0.
            let remaining = self.msg_len.saturating_sub(avail);
            self.emit_truncated(out, format!("message cut by a gap of {length} bytes after \
                                              {avail} of {} bytes", self.msg_len));
            if length < remaining {
                let left = remaining - length;
                self.start_discard(here.saturating_add(avail).saturating_add(length), left,
                                   TRUNCATED, format!("rest of a message cut by a gap ({left} \
                                                       bytes after the gap)"));
                resume = Mode::Discard;
            } else if length == remaining {
                resume = Mode::Sync;
            }
        } else if self.mode == Mode::Sync && avail > 0 && self.starts_like_header() {
            self.emit_truncated(out, format!("header cut by a gap of {length} bytes"));
        } else {
            self.garbage(avail);
        }
        self.flush_skipped(out);
        let new_base = self.end_offset().saturating_add(length);
        self.release_all(new_base);
        self.mode = resume;
        self.scan = 0;
    }

    pub fn close(&mut self, out: &mut Vec<Event>) {
        self.decide_now(out);
        let avail = self.avail();
        if self.mode == Mode::Discard {
            self.discard(avail, out);
            self.emit_discarded(out, false);
        } else if self.mode == Mode::Body && self.open_ended {
            self.emit_truncated(out, format!("stream ended after {avail} bytes, before the \
                                              message's XML did"));
        } else if self.mode == Mode::Body {
            self.emit_truncated(out, format!("stream ended after {avail} of {} bytes",
                                             self.msg_len));
        } else if self.mode == Mode::Sync && avail > 0 && self.starts_like_header() {
            self.emit_truncated(out, format!("stream ended inside a header ({avail} of \
                                              {HEADER_SIZE} bytes)"));
        } else {
            self.garbage(avail);
        }
        self.flush_skipped(out);
        let new_base = self.end_offset();
        self.release_all(new_base);
        self.mode = Mode::Sync;
    }

    // ---- the state machine (`_run`) ---------------------------------------------------

    fn run(&mut self, out: &mut Vec<Event>) {
        loop {
            let avail = self.avail();
            match self.mode {
                Mode::Discard => {
                    let take = self.discard_left.min(avail);
                    if take == 0 {
                        return;
                    }
                    self.pos += take as usize;
                    self.discard(take, out);
                }
                Mode::Sync => {
                    if avail < 2 {
                        return;
                    }
                    let pos = self.pos;
                    let little = match (self.buf[pos], self.buf[pos + 1]) {
                        (0x02, 0x01) => false,
                        (0x01, 0x02) => true,
                        _ => {
                            match self.other_version(pos) {
                                None => return,
                                Some(false) => self.enter_resync(),
                                Some(true) => {}
                            }
                            continue;
                        }
                    };
                    if avail < HEADER_SIZE as u64 {
                        return;
                    }
                    let raw = [self.buf[pos + 5], self.buf[pos + 6], self.buf[pos + 7],
                               self.buf[pos + 8]];
                    let size = u64::from(if little { u32::from_le_bytes(raw) }
                                         else { u32::from_be_bytes(raw) });
                    let total = self.total(size);
                    if (HEADER_SIZE as u64..=self.size_cap).contains(&total) {
                        self.start_body(pos, size, total, false);
                        continue;
                    }
                    match self.absurd_size(pos) {
                        None => return,
                        Some(true) => continue,
                        Some(false) => {}
                    }
                    if total < HEADER_SIZE as u64 {
                        self.enter_resync();
                    } else if total > self.size_cap {
                        self.flush_skipped(out);
                        let problem = Problem {
                            rule: SIZE_CAP,
                            message: format!("declared size {size} bytes is beyond the {}-byte \
                                              cap; body counted down, not buffered",
                                             self.size_cap),
                            offset: 5,
                            length: 4,
                        };
                        out.push(Event::Framed {
                            start: self.offset(self.pos),
                            data: self.buf[self.pos..self.pos + HEADER_SIZE].to_vec(),
                            problems: vec![problem],
                            truncated: true,
                        });
                        self.pos += HEADER_SIZE;
                        let reason = format!("body of a message declaring {size} bytes (cap {})",
                                             self.size_cap);
                        self.start_discard(self.offset(self.pos), total - HEADER_SIZE as u64,
                                           SIZE_CAP, reason);
                        self.mode = Mode::Discard;
                    }
                }
                Mode::Body => {
                    if self.xml {
                        match self.xml_end(avail) {
                            Cut::Wait => return,
                            Cut::At(0) => {}
                            Cut::At(cut) => {
                                self.emit_at_xml_end(cut, out);
                                continue;
                            }
                        }
                    }
                    if avail < self.msg_len {
                        return;
                    }
                    if self.skip_len > 0 {
                        self.flush_skipped(out);
                    }
                    if self.open_ended {
                        self.emit_cut_at_cap(out);
                        continue;
                    }
                    let start = self.pos;
                    let end = start + self.msg_len as usize;
                    self.pos = end;
                    out.push(Event::Framed { start: self.offset(start),
                                             data: self.buf[start..end].to_vec(),
                                             problems: Vec::new(), truncated: false });
                    self.mode = Mode::Sync;
                }
                Mode::Resync => {
                    if !self.resync_step() {
                        return;
                    }
                }
            }
        }
    }

    // ---- deciding a header on its evidence --------------------------------------------

    /// `_start_body`.
    fn start_body(&mut self, pos: usize, size: u64, total: u64, open_ended: bool) {
        self.msg_len = total;
        self.declared = size;
        self.open_ended = open_ended;
        self.xml = total > HEADER_SIZE as u64 && self.buf[pos + 2] == MSG_TYPE_NONE;
        self.end_scan = pos + HEADER_SIZE;
        self.mode = Mode::Body;
    }

    /// `_xml_follows`.
    fn xml_follows(&self, at: usize) -> Option<bool> {
        let body = at + HEADER_SIZE;
        let stop = self.buf.len().min(body + MAX_LEADING_BLANKS + 1);
        if let Some(&b) = self.buf.get(body..stop).and_then(|s| s.iter().find(|&&b| !blank(b))) {
            return Some(b == b'<');
        }
        if stop == body + MAX_LEADING_BLANKS + 1 || self.closing {
            return Some(false);
        }
        None
    }

    /// `_other_version`.
    fn other_version(&mut self, pos: usize) -> Option<bool> {
        let avail = self.buf.len() - pos;
        let (first, second) = (self.buf[pos], self.buf[pos + 1]);
        if !matches!(first, 1 | 2) && !matches!(second, 1 | 2) {
            return Some(false);
        }
        if avail >= 3 && !matches!(self.buf[pos + 2], MSG_TYPE_NONE | MSG_TYPE_PING) {
            return Some(false);
        }
        if avail < HEADER_SIZE {
            return if self.closing { Some(false) } else { None };
        }
        let header = parse_header(&self.buf, pos, self.size_cap);
        self.start_message(pos, &header, true)
    }

    /// `_absurd_size`.
    fn absurd_size(&mut self, pos: usize) -> Option<bool> {
        let header = parse_header(&self.buf, pos, self.size_cap);
        self.start_message(pos, &header, header.order_from_size)
    }

    /// `_start_message`.
    fn start_message(&mut self, pos: usize, header: &Header, size_trusted: bool)
                     -> Option<bool> {
        let total = self.total(header.size);
        if header.msg_type == MSG_TYPE_PING {
            if size_trusted && (total == PING_REQUEST_SIZE || total == PING_RESPONSE_SIZE) {
                self.start_body(pos, header.size, total, false);
                return Some(true);
            }
            return Some(false);
        }
        if header.msg_type != MSG_TYPE_NONE {
            return Some(false);
        }
        match self.xml_follows(pos) {
            Some(true) => {}
            other => return other,
        }
        if size_trusted && (HEADER_SIZE as u64) < total && total <= self.size_cap {
            self.start_body(pos, header.size, total, false);
        } else {
            self.start_body(pos, header.size, self.size_cap, true);
        }
        Some(true)
    }

    /// `_xml_end`.
    fn xml_end(&mut self, avail: u64) -> Cut {
        let pos = self.pos;
        let limit = pos + avail.min(self.msg_len) as usize;
        let Some((m_start, m_end)) = find_root_end(&self.buf, self.end_scan, limit) else {
            if avail >= self.msg_len {
                self.xml = false; // nothing ends it early: the declared size stands
            } else {
                self.end_scan = self.end_scan.max(limit.saturating_sub(ROOT_END_MAX));
            }
            return Cut::At(0);
        };
        self.end_scan = m_start; // found again at once if a decision has to wait
        let mut end = m_end;
        let stop = self.buf.len();
        while end < stop && blank(self.buf[end]) && ((end - pos) as u64) < self.msg_len {
            end += 1;
        }
        if (end - pos) as u64 >= self.msg_len && !self.open_ended {
            self.xml = false; // the XML fills the declared size
            return Cut::At(0);
        }
        if end == stop && !self.closing {
            return Cut::Wait; // the blanks may go on
        }
        if self.open_ended {
            return Cut::At((end - pos) as u64);
        }
        let verdict = match self.plausible(end) {
            Some(v) => v,
            None if !self.closing => return Cut::Wait,
            None => false,
        };
        if verdict {
            return Cut::At((end - pos) as u64);
        }
        self.end_scan = m_end; // something else follows inside the message
        Cut::At(0)
    }

    /// `_emit_at_xml_end`.
    fn emit_at_xml_end(&mut self, length: u64, out: &mut Vec<Event>) {
        self.flush_skipped(out);
        let start = self.pos;
        let mut problems = Vec::new();
        if !self.open_ended {
            problems.push(Problem {
                rule: SIZE_MISMATCH,
                message: format!("Packet Size says {} bytes, but the message's XML ends after \
                                  {length} and the next header starts there; message ended at \
                                  its XML", self.declared),
                offset: 5,
                length: 4,
            });
        } else if self.total(self.declared) > self.size_cap {
            problems.push(Problem {
                rule: SIZE_CAP,
                message: format!("Packet Size {} is beyond the {}-byte cap in either byte \
                                  order; message ended where its XML ended", self.declared,
                                 self.size_cap),
                offset: 5,
                length: 4,
            });
        }
        let end = start + length as usize;
        out.push(Event::Framed { start: self.offset(start), data: self.buf[start..end].to_vec(),
                                 problems, truncated: false });
        self.pos = end;
        self.xml = false;
        self.open_ended = false;
        self.mode = Mode::Sync;
    }

    /// `_emit_cut_at_cap`.
    fn emit_cut_at_cap(&mut self, out: &mut Vec<Event>) {
        let start = self.pos;
        let problem = Problem {
            rule: SIZE_CAP,
            message: format!("no end of the XML within the {}-byte cap; message cut there",
                             self.size_cap),
            offset: 5,
            length: 4,
        };
        let end = start + self.msg_len as usize;
        out.push(Event::Framed { start: self.offset(start), data: self.buf[start..end].to_vec(),
                                 problems: vec![problem], truncated: true });
        self.pos = end;
        self.xml = false;
        self.open_ended = false;
        self.mode = Mode::Resync;
        self.scan = self.pos;
    }

    /// `_decide_now`.
    fn decide_now(&mut self, out: &mut Vec<Event>) {
        self.closing = true;
        self.run(out);
        self.closing = false;
    }

    /// `_enter_resync`.
    fn enter_resync(&mut self) {
        self.mode = Mode::Resync;
        self.scan = self.pos + 1;
    }

    /// `_resync_step`.
    fn resync_step(&mut self) -> bool {
        let mut scan = self.scan.max(self.pos);
        loop {
            let Some(candidate) = find_version(&self.buf, scan) else {
                // Everything before the last byte is garbage; the last byte may still be
                // the first half of a version pair.
                let mut end = self.buf.len();
                if end > scan && matches!(self.buf[end - 1], 0x01 | 0x02) {
                    end -= 1;
                }
                self.garbage(end.saturating_sub(self.pos) as u64);
                self.scan = self.pos;
                return false;
            };
            match self.plausible(candidate) {
                None => {
                    self.garbage((candidate - self.pos) as u64);
                    self.scan = candidate;
                    return false;
                }
                Some(true) => {
                    self.garbage((candidate - self.pos) as u64);
                    self.mode = Mode::Sync;
                    return true;
                }
                Some(false) => scan = candidate + 1,
            }
        }
    }

    /// `_plausible`.
    fn plausible(&self, at: usize) -> Option<bool> {
        let avail = self.buf.len().checked_sub(at)?;
        if avail < HEADER_SIZE {
            return None;
        }
        let header = parse_header(&self.buf, at, PARSE_CAP);
        let total = self.total(header.size);
        if header.msg_type == MSG_TYPE_PING {
            return Some(total == PING_REQUEST_SIZE || total == PING_RESPONSE_SIZE);
        }
        if header.msg_type != MSG_TYPE_NONE || total <= HEADER_SIZE as u64
            || total > self.size_cap {
            return Some(false);
        }
        let window = (total - HEADER_SIZE as u64).min(MAX_LEADING_BLANKS as u64 + 1) as usize;
        let body = at + HEADER_SIZE;
        let seen = window.min(avail - HEADER_SIZE);
        if let Some(&b) = self.buf[body..body + seen].iter().find(|&&b| !blank(b)) {
            return Some(b == b'<');
        }
        if avail - HEADER_SIZE < window { None } else { Some(false) }
    }

    // ---- helpers ------------------------------------------------------------------------

    fn avail(&self) -> u64 {
        (self.buf.len() - self.pos) as u64
    }

    /// The stream offset of `_buf[i]`.
    fn offset(&self, i: usize) -> u64 {
        self.base.saturating_add(i as u64)
    }

    /// The stream offset just past the buffer.
    fn end_offset(&self) -> u64 {
        self.offset(self.buf.len())
    }

    /// `_total`.
    fn total(&self, declared: u64) -> u64 {
        if self.size_includes_header { declared } else { declared + HEADER_SIZE as u64 }
    }

    /// `_starts_like_header`.
    fn starts_like_header(&self) -> bool {
        let head = &self.buf[self.pos..self.buf.len().min(self.pos + 2)];
        matches!(head, [0x02, 0x01] | [0x01, 0x02] | [0x01] | [0x02])
    }

    /// `_garbage`.
    fn garbage(&mut self, length: u64) {
        if length == 0 {
            return;
        }
        if self.skip_len == 0 {
            self.skip_start = self.offset(self.pos);
        }
        self.skip_len += length;
        self.pos += length as usize;
    }

    /// `_flush_skipped`.
    fn flush_skipped(&mut self, out: &mut Vec<Event>) {
        if self.skip_len > 0 {
            out.push(Event::Skipped { start: self.skip_start, length: self.skip_len,
                                      rule: SKIPPED, reason: SKIPPED_REASON.to_owned() });
            self.skip_len = 0;
        }
    }

    /// `_emit_truncated`.
    fn emit_truncated(&mut self, out: &mut Vec<Event>, why: String) {
        self.flush_skipped(out);
        let data = self.buf[self.pos..].to_vec();
        let problem = Problem { rule: TRUNCATED, message: why, offset: 0,
                                length: data.len() as u64 };
        out.push(Event::Framed { start: self.offset(self.pos), data, problems: vec![problem],
                                 truncated: true });
        self.pos = self.buf.len();
    }

    /// `_start_discard`.
    fn start_discard(&mut self, start: u64, length: u64, rule: &'static str, reason: String) {
        self.discard_left = length;
        self.discard_start = start;
        self.discard_seen = 0;
        self.discard_rule = rule;
        self.discard_reason = reason;
    }

    /// `_discard`: count `take` bytes of the discarded run (already consumed).
    fn discard(&mut self, take: u64, out: &mut Vec<Event>) {
        let take = take.min(self.discard_left);
        self.discard_left -= take;
        self.discard_seen += take;
        if self.discard_left == 0 && self.mode == Mode::Discard {
            self.emit_discarded(out, false);
            self.mode = Mode::Sync;
        }
    }

    /// `_emit_discarded`.
    fn emit_discarded(&mut self, out: &mut Vec<Event>, cut_by_gap: bool) {
        if self.discard_seen > 0 {
            let mut reason = self.discard_reason.clone();
            if cut_by_gap {
                reason.push_str("; interrupted by a gap");
            } else if self.discard_left > 0 {
                reason.push_str(&format!("; stream ended {} bytes short", self.discard_left));
            }
            out.push(Event::Skipped { start: self.discard_start, length: self.discard_seen,
                                      rule: self.discard_rule, reason });
        }
        self.discard_start = self.discard_start.saturating_add(self.discard_seen);
        self.discard_seen = 0;
    }

    /// `_release_all`: drop the buffer; the next byte fed has stream offset `new_base`.
    fn release_all(&mut self, new_base: u64) {
        self.buf = Vec::new();
        self.pos = 0;
        self.base = new_base;
    }

    /// `_compact`.
    fn compact(&mut self) {
        let pos = self.pos;
        if pos > 0 && (pos >= COMPACT_AT || pos * 2 >= self.buf.len()) {
            self.buf.drain(..pos);
            self.base = self.base.saturating_add(pos as u64);
            self.scan = self.scan.saturating_sub(pos);
            self.end_scan = self.end_scan.saturating_sub(pos);
            self.pos = 0;
            // An idle framer holds no memory (200,000 of them for 100,000 open flows), and
            // one large message does not pin its size.
            if self.buf.is_empty() {
                self.buf = Vec::new();
            } else if self.buf.capacity() > 4096 && self.buf.len() < self.buf.capacity() / 4 {
                self.buf.shrink_to_fit();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &[u8], txn: u16) -> Vec<u8> {
        let mut m = vec![0x02, 0x01, 0x00];
        m.extend_from_slice(&txn.to_be_bytes());
        m.extend_from_slice(&((body.len() + HEADER_SIZE) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn feed_all(framer: &mut Framer, chunks: &[&[u8]]) -> Vec<Event> {
        let mut out = Vec::new();
        for chunk in chunks {
            framer.feed(chunk, &mut out);
        }
        framer.close(&mut out);
        out
    }

    fn framed(start: u64, data: &[u8]) -> Event {
        Event::Framed { start, data: data.to_vec(), problems: Vec::new(), truncated: false }
    }

    const CALL: &[u8] = b"<methodCall><methodName>a.b</methodName></methodCall>";

    #[test]
    fn messages_whole_and_cut_anywhere_alike() {
        let (a, b) = (message(CALL, 1), message(b"<methodResponse/>", 2));
        let stream = [a.clone(), b.clone()].concat();
        let whole = feed_all(&mut Framer::new(DEFAULT_SIZE_CAP, true), &[&stream]);
        assert_eq!(whole, vec![framed(0, &a), framed(a.len() as u64, &b)]);
        for cut in 0..=stream.len() {
            let (x, y) = stream.split_at(cut);
            assert_eq!(feed_all(&mut Framer::new(DEFAULT_SIZE_CAP, true), &[x, y]), whole);
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(feed_all(&mut Framer::new(DEFAULT_SIZE_CAP, true), &bytes), whole);
        let mut idle = Framer::new(DEFAULT_SIZE_CAP, true);
        idle.feed(&stream, &mut Vec::new());
        assert_eq!(idle.capacity(), 0); // every byte consumed: nothing held
    }

    #[test]
    fn garbage_is_skipped_once_then_resynced() {
        let a = message(CALL, 1);
        let stream = [b"junk\x02\x01zz".as_slice(), &a].concat();
        let out = feed_all(&mut Framer::new(DEFAULT_SIZE_CAP, true), &[&stream]);
        assert_eq!(out.len(), 2);
        assert!(matches!(&out[0], Event::Skipped { start: 0, length: 8, rule: SKIPPED, .. }));
        assert_eq!(out[1], framed(8, &a));
    }

    #[test]
    fn size_past_the_next_header_ends_at_the_xml() {
        let mut a = message(CALL, 1);
        a[8] += 20; // the size points 20 bytes into the next message
        let b = message(CALL, 2);
        let out = feed_all(&mut Framer::new(DEFAULT_SIZE_CAP, true), &[&[a.clone(), b.clone()].concat()]);
        let Event::Framed { start: 0, data, problems, truncated: false } = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(data, &a);
        assert_eq!(problems[0].rule, SIZE_MISMATCH);
        assert!(problems[0].message.starts_with("Packet Size says 82 bytes, but the message's \
                                                 XML ends after 62 and the next header"));
        assert_eq!(out[1], framed(a.len() as u64, &b));
    }

    #[test]
    fn oversized_body_is_counted_down_unbuffered() {
        let mut framer = Framer::new(100, true);
        let mut out = Vec::new();
        let mut header = vec![0x02, 0x01, 0x00, 0x00, 0x05];
        header.extend_from_slice(&1000u32.to_be_bytes());
        framer.feed(&header, &mut out);
        framer.feed(&[b'x'; 500], &mut out);
        assert_eq!((framer.buffered(), framer.capacity()), (0, 0));
        framer.gap(10, &mut out);
        framer.close(&mut out);
        assert!(matches!(&out[0], Event::Framed { truncated: true, problems, .. }
                         if problems[0].rule == SIZE_CAP));
        let Event::Skipped { start: 9, length: 500, rule: SIZE_CAP, reason } = &out[1] else {
            panic!("{out:?}")
        };
        assert!(reason.ends_with("(cap 100); interrupted by a gap"), "{reason}");
    }

    #[test]
    fn root_end_search_is_the_reference_regex() {
        assert_eq!(find_root_end(b"x</ methodcall\t>", 0, 16), Some((1, 16)));
        assert_eq!(find_root_end(b"x</ methodcall\t>", 0, 15), None); // '>' past the limit
        assert_eq!(find_root_end(b"</a></METHODRESPONSE>", 0, 21), Some((4, 21)));
        assert_eq!(find_root_end(b"</methodCall>", 1, 13), None);
        assert_eq!(find_root_end(b"</AnalyticsData>", 20, 3), None);
        assert_eq!(find_version(b"\x01\x01\x02", 0), Some(1));
        assert_eq!(find_version(b"\x02\x02", 0), None);
        assert_eq!(find_version(b"\x02\x01", 5), None);
    }

    /// Pieces of hostile streams: every header shape the framer decides on evidence.
    fn piece(next: &mut impl FnMut() -> u64) -> Vec<u8> {
        let bodies: [&[u8]; 7] = [CALL, b"<methodResponse></ METHODresponse >", b"   <x",
                                  b"\xef\xbb\xbf<AnalyticsData></AnalyticsData>\r\n", b"zz",
                                  b"", b"</methodCall>"];
        match next() % 4 {
            0 => (0..next() % 12).map(|_| [0x01, 0x02, b'<', b' ', 0xff][next() as usize % 5])
                .collect(),
            _ => {
                let body = bodies[next() as usize % bodies.len()];
                let version: [[u8; 2]; 5] = [[2, 1], [1, 2], [2, 0], [1, 1], [9, 9]];
                let mut m = version[next() as usize % 5].to_vec();
                m.push([0, 0, 1, 7][next() as usize % 4]);
                m.extend_from_slice(&(next() as u16).to_be_bytes());
                let total = (body.len() + HEADER_SIZE) as u32;
                let size = [total, total + 5, total.swap_bytes(), 3, 16, 37, u32::MAX,
                            next() as u32][next() as usize % 8];
                m.extend_from_slice(&size.to_be_bytes());
                m.extend_from_slice(body);
                m
            }
        }
    }

    /// Stable stand-in for the fuzz target: hostile streams cut and gapped at random, under
    /// any cap, never panic; every message's bytes are the stream's own at its offset, the
    /// events come in stream order without overlap, and without gaps the events do not
    /// depend on the cuts.
    #[test]
    fn hostile_streams_never_panic_and_keep_offsets() {
        let mut rng = crate::testrand::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = || rng.next();
        for _ in 0..4000 {
            let stream: Vec<u8> = (0..1 + next() % 6).flat_map(|_| piece(&mut next)).collect();
            let cap = [DEFAULT_SIZE_CAP, 0, 9, 16, 40, 100][next() as usize % 6];
            let includes = next() % 4 != 0;
            let mut framer = Framer::new(cap, includes);
            let mut whole = Framer::new(cap, includes);
            let (mut out, mut expected) = (Vec::new(), Vec::new());
            // The virtual stream: fed bytes, and None for the bytes a gap lost.
            let mut virtual_stream: Vec<Option<u8>> = Vec::new();
            let gaps = next() % 3 == 0;
            let mut at = 0;
            while at < stream.len() {
                let step = 1 + (next() as usize % (stream.len() - at));
                framer.feed(&stream[at..at + step], &mut out);
                virtual_stream.extend(stream[at..at + step].iter().map(|&b| Some(b)));
                at += step;
                if gaps && next() % 3 == 0 {
                    let length = next() % 50;
                    framer.gap(length, &mut out);
                    virtual_stream.extend(std::iter::repeat_n(None, length as usize));
                }
            }
            framer.close(&mut out);
            crate::framing::assert_in_stream_order(&out, &virtual_stream);
            if !gaps {
                whole.feed(&stream, &mut expected);
                whole.close(&mut expected);
                assert_eq!(out, expected);
            }
        }
    }
}
