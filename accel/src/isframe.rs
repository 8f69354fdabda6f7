//! The ImageServer framer of one direction of a TCP stream: the twin of
//! `dissectors/imageserver/framer.py` (`ImageServerFramer`), which is the reference. Same
//! states, same decisions, same events with the same texts, whatever the cuts between
//! `feed` calls; the Python docstrings and `dissectors/imageserver/DECISIONS.md` ("An
//! honest Content-length") say why each rule is what it is. Each method here carries the
//! name of the Python method it mirrors, so a change to one is easy to make to both;
//! `tests/test_imageserver_framer_equivalence.py` feeds both the same streams and
//! compares every event.
//!
//! Indices are relative to the unconsumed bytes (the reference deletes consumed bytes from
//! the front of its `bytearray`; here a read position moves and the buffer is compacted
//! after each feed). Byte searches use `memchr`; every index is checked against the
//! buffer, sizes read from the wire are counted in `u128` (a Content-length has up to 20
//! digits), and stream offsets saturate rather than overflow, so no input can panic.

use std::sync::LazyLock;

use memchr::{memchr, memchr3, memmem};

pub const DEFAULT_MAX_HEADER_BYTES: u64 = 64 * 1024;
pub const DEFAULT_MAX_XML_BYTES: u64 = 1 << 20;
pub const DEFAULT_MAX_BODY: u64 = 64 << 20;

const BLANK_LINE: &[u8] = b"\r\n\r\n";
const CRLF: &[u8] = b"\r\n";
const BOM: &[u8] = b"\xef\xbb\xbf";
const IMAGE_START: &[u8] = b"ImageResponse\r\n";
/// `MESSAGE_STARTS`: byte sequences that begin a message.
const MESSAGE_STARTS: [&[u8]; 6] = [IMAGE_START, b"<?xml", b"\xef\xbb\xbf<?xml", b"<methodcall>",
                                    b"<methodresponse>", b"<livepackage>"];
/// `_XML_STARTS`: the message starts but `IMAGE_START`.
const XML_STARTS: [&[u8]; 5] = [b"<?xml", b"\xef\xbb\xbf<?xml", b"<methodcall>",
                                b"<methodresponse>", b"<livepackage>"];
/// `_XML_INTERRUPTIONS`: inside an XML message, these mean the next message has begun.
const XML_INTERRUPTIONS: [&[u8]; 2] = [b"<?xml", IMAGE_START];
const MAX_START: usize = 16;
const ROOT_WINDOW: usize = 64 * 1024;
/// The longest `_ROOT_NAME` match: `<`, a name of 1 + 254 characters, its terminator.
const ROOT_MATCH_MAX: usize = 257;
/// How many name characters may follow the first in a root name (`{0,254}`).
const ROOT_NAME_REST: usize = 254;
const COMPACT_AT: usize = 64 * 1024;

pub const SKIPPED: &str = "imageserver.framing.skipped";
pub const TRUNCATED: &str = "imageserver.framing.truncated";
pub const HEADER_CAP: &str = "imageserver.framing.header_cap";
pub const LENGTH_CAP: &str = "imageserver.framing.length_cap";
pub const TERMINATOR: &str = "imageserver.framing.terminator";
pub const IMAGE_CONTENT_LENGTH: &str = "imageserver.image.content_length";

/// The spec section a problem cites (`tables.S_INTRO`, `S_IMAGE_SINGLE`,
/// `S_IMAGE_MULTIPART`, `S_LIVE_RESPONSES`; the binding maps them to the reference's
/// strings, in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spec {
    Intro = 0,
    ImageSingle = 1,
    ImageMultipart = 2,
    LiveResponses = 3,
}

/// A framing problem (`rules.problem(rule, message, spec)`: severity from the rule,
/// offset -1, length 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub rule: &'static str,
    pub message: String,
    pub spec: Spec,
}

/// `Framed` and `Skipped` of `dissectors.base`, with this protocol's problems.
pub type Event = crate::framing::Event<Problem>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Seek,
    Resync,
    Xml,
    Head,
    Body,
    Open,
    Multi,
    Discard,
}

/// What `_classify` says of the bytes at a message's lead (None: wait).
enum Kind {
    Image,
    Xml,
    Garbage,
}

/// `_message_follows`: where the next message starts after a body, or not.
enum Follows {
    Wait,
    No,
    At(usize),
}

/// `_walk_parts`' answer (None there is `Wait` here).
enum Walk {
    Wait,
    Close(usize),
    End(usize),
    Search(usize),
}

/// The blanks `_WHITESPACE` skips between messages.
fn whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// What Python's `str.strip()` strips from latin-1 text (`str.isspace` below 256).
fn py_space(b: u8) -> bool {
    matches!(b, 0x09..=0x0d | 0x1c..=0x1f | 0x20 | 0x85 | 0xa0)
}

fn py_strip(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !py_space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !py_space(b)).map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// `bytes.strip(b" \t")`.
fn strip_blanks(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// Python's `buf[a:b]` for non-negative `a`, `b`.
fn slice(buf: &[u8], a: usize, b: usize) -> &[u8] {
    let b = b.min(buf.len());
    &buf[a.min(b)..b]
}

/// Python's `buf.startswith(token, i)`.
fn starts_at(buf: &[u8], token: &[u8], i: usize) -> bool {
    buf.get(i..).is_some_and(|s| s.starts_with(token))
}

/// The searcher of the blank line, built once (most searches are for it, and most are
/// short: building a searcher per search would cost as much as the search).
static BLANK_LINE_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(BLANK_LINE));

/// Python's `buf.find(needle, start, end)` (non-empty needle, non-negative bounds).
fn find(buf: &[u8], needle: &[u8], start: usize, end: usize) -> Option<usize> {
    let end = end.min(buf.len());
    let hay = buf.get(start..end)?;
    let found = if needle == BLANK_LINE { BLANK_LINE_FINDER.find(hay) }
                else { memmem::find(hay, needle) };
    found.map(|i| i + start)
}

/// `_starts_message`: whether `buf[i:limit]` begins with one of `starts`; None when more
/// bytes are needed to tell (only if `limit` is not `hard`).
fn starts_message(buf: &[u8], i: usize, limit: usize, hard: bool, starts: &[&[u8]])
                  -> Option<bool> {
    let mut undecided = false;
    for token in starts {
        if i.saturating_add(token.len()) <= limit {
            if starts_at(buf, token, i) {
                return Some(true);
            }
        } else if !hard && token.starts_with(slice(buf, i, limit)) {
            undecided = true;
        }
    }
    if undecided { None } else { Some(false) }
}

/// `_find_next_start`: the first `\r\n\r\n` at or after `pos` followed by a message start
/// wholly before `limit`, and where to resume next time.
fn find_next_start(buf: &[u8], mut pos: usize, limit: usize, hard: bool)
                   -> (Option<usize>, usize) {
    loop {
        let Some(p) = find(buf, BLANK_LINE, pos, limit) else {
            return (None, pos.max(limit.saturating_sub(BLANK_LINE.len() - 1)));
        };
        match starts_message(buf, p + BLANK_LINE.len(), limit, hard, &MESSAGE_STARTS) {
            Some(true) => return (Some(p), p),
            None => return (None, p),
            Some(false) => pos = p + 1,
        }
    }
}

/// `_message_follows`: after a body ending at `i` without its trailer.
fn message_follows(buf: &[u8], i: usize) -> Follows {
    let n = buf.len();
    let here = starts_message(buf, i, n, false, &MESSAGE_STARTS);
    if here == Some(true) {
        return Follows::At(i);
    }
    if starts_at(buf, CRLF, i) {
        match starts_message(buf, i + CRLF.len(), n, false, &MESSAGE_STARTS) {
            Some(true) => return Follows::At(i + CRLF.len()),
            None => return Follows::Wait,
            Some(false) => {}
        }
    } else if n.saturating_sub(i) < 2 && CRLF.starts_with(slice(buf, i, n)) {
        return Follows::Wait;
    }
    if here.is_none() { Follows::Wait } else { Follows::No }
}

/// The earliest of `MESSAGE_STARTS` wholly in `buf` at or after `from`.
fn find_message_start(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at < buf.len() {
        let c = at + memchr3(b'I', b'<', BOM[0], &buf[at..])?;
        if MESSAGE_STARTS.iter().any(|token| starts_at(buf, token, c)) {
            return Some(c);
        }
        at = c + 1;
    }
    None
}

fn root_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn root_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
}

/// `_ROOT_NAME.search(buf, from, window)` (`<([A-Za-z_][-\w.:]{0,254})[\s/>]`, bytes
/// semantics): the name's (start, end) and the match's end.
fn find_root(buf: &[u8], from: usize, window: usize) -> Option<(usize, usize, usize)> {
    let hay = slice(buf, 0, window);
    let mut at = from;
    while at < hay.len() {
        let lt = at + memchr(b'<', &hay[at..])?;
        let first = lt + 1;
        if hay.get(first).is_some_and(|&b| root_name_start(b)) {
            let mut k = first + 1;
            while k < hay.len() && k - first - 1 < ROOT_NAME_REST && root_name_char(hay[k]) {
                k += 1;
            }
            if hay.get(k).is_some_and(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b
                                                      | 0x0c | b'/' | b'>')) {
                return Some((first, k, k + 1));
            }
        }
        at = first;
    }
    None
}

/// What `headers.quick_scan` gives the framer from a header block.
#[derive(Debug, Default, PartialEq, Eq)]
struct Heads {
    /// The media type starts with `multipart/`.
    multipart: bool,
    /// The first Content-length, if it is 1 to 20 digits.
    content_length: Option<u128>,
    /// The multipart boundary, if any and not empty.
    boundary: Option<Vec<u8>>,
}

/// `headers.split_lines`: each line of `block`, its line end (LF, or CR-LF) excluded.
fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= block.len() {
            return None;
        }
        let rest = &block[pos..];
        let (line, next) = match memchr(b'\n', rest) {
            Some(nl) => (&rest[..nl], pos + nl + 1),
            None => (rest, block.len()),
        };
        pos = next;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// `headers.media_type`, as far as framing needs it: (multipart, boundary).
fn media_type(value: &[u8]) -> (bool, Option<Vec<u8>>) {
    let mut pieces = value.split(|&b| b == b';');
    let head = py_strip(pieces.next().unwrap_or_default());
    let multipart = head.get(..10).is_some_and(|h| h.eq_ignore_ascii_case(b"multipart/"));
    let mut boundary: Option<&[u8]> = None;
    for piece in pieces {
        let Some(eq) = memchr(b'=', piece) else { continue };
        if !py_strip(&piece[..eq]).eq_ignore_ascii_case(b"boundary") {
            continue;
        }
        let mut v = py_strip(&piece[eq + 1..]);
        if v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"' {
            v = &v[1..v.len() - 1];
        }
        boundary = Some(v); // the last one wins, as in the reference's dict
    }
    (multipart, boundary.filter(|b| !b.is_empty()).map(<[u8]>::to_vec))
}

/// `headers.content_length`.
fn content_length(value: &[u8]) -> Option<u128> {
    let digits = py_strip(value);
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u128, |n, &d| n * 10 + u128::from(d - b'0')))
}

/// `headers.quick_scan`: the first Content-type and the first Content-length win.
fn quick_scan(block: &[u8]) -> Heads {
    let mut heads = Heads::default();
    let (mut ctype_seen, mut clen_seen) = (false, false);
    for line in lines(block) {
        let Some(colon) = memchr(b':', line) else { continue };
        let name = &line[..colon];
        if !ctype_seen && name.eq_ignore_ascii_case(b"content-type") {
            ctype_seen = true;
            (heads.multipart, heads.boundary) = media_type(strip_blanks(&line[colon + 1..]));
        } else if !clen_seen && name.eq_ignore_ascii_case(b"content-length") {
            clen_seen = true;
            heads.content_length = content_length(strip_blanks(&line[colon + 1..]));
        }
    }
    heads
}

/// The per-message bookkeeping `_new_message` resets.
struct Message {
    lead: usize,
    scan: usize,
    blank_end: Option<usize>,
    root_scan: Option<usize>,
    close_tag: Vec<u8>,
    close_scan: usize,
    close_end: Option<usize>,
    ws_scan: usize,
    cut_scan: usize,
    cut_at: Option<usize>,
    body_start: usize,
    body_end: usize,
    next_scan: usize,
    overrun: bool,
    close_delimiter: Vec<u8>,
    embedded: Option<usize>,
    part_at: Option<usize>,
    part_scan: usize,
    part_end: Option<u128>,
}

impl Default for Message {
    fn default() -> Self {
        Message { lead: 0, scan: 0, blank_end: None, root_scan: Some(0), close_tag: Vec::new(),
                  close_scan: 0, close_end: None, ws_scan: 0, cut_scan: 0, cut_at: None,
                  body_start: 0, body_end: 0, next_scan: 0, overrun: false,
                  close_delimiter: Vec::new(), embedded: None, part_at: None, part_scan: 0,
                  part_end: None }
    }
}

/// Cuts one direction of an ImageServer TCP stream into messages (`ImageServerFramer`).
pub struct Framer {
    pub max_header_bytes: u64,
    pub max_xml_bytes: u64,
    pub max_body: u64,
    header_cap: usize,
    xml_cap: usize,
    body_cap: usize,
    buf: Vec<u8>,
    head: usize,
    base: u64,
    state: State,
    strict: bool,
    skip_start: u64,
    skip_len: u64,
    skip_rule: &'static str,
    skip_reason: String,
    remaining: u128,
    expect_trailer: bool,
    early_rule: &'static str,
    closing: bool,
    m: Message,
}

impl Framer {
    /// A framer with these caps, or None for caps the twin does not take: a header or XML
    /// cap of 0 (the reference then never stops cutting empty messages) or one that does
    /// not fit this machine's indices.
    pub fn new(max_header_bytes: u64, max_xml_bytes: u64, max_body: u64) -> Option<Self> {
        if max_header_bytes == 0 || max_xml_bytes == 0 {
            return None;
        }
        Some(Framer {
            max_header_bytes,
            max_xml_bytes,
            max_body,
            header_cap: usize::try_from(max_header_bytes).ok()?,
            xml_cap: usize::try_from(max_xml_bytes).ok()?,
            body_cap: usize::try_from(max_body).ok()?,
            buf: Vec::new(),
            head: 0,
            base: 0,
            state: State::Seek,
            strict: false,
            skip_start: 0,
            skip_len: 0,
            skip_rule: SKIPPED,
            skip_reason: String::new(),
            remaining: 0,
            expect_trailer: false,
            early_rule: SKIPPED,
            closing: false,
            m: Message::default(),
        })
    }

    /// Bytes held (the reference's `len(_buf)`).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.head
    }

    /// Bytes allocated for the buffer (0 when idle).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    // ---- Framer protocol -------------------------------------------------------------

    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Event>) {
        if data.is_empty() {
            return;
        }
        self.buf.extend_from_slice(data);
        while self.step(out) {}
        self.compact();
    }

    pub fn gap(&mut self, length: u64, out: &mut Vec<Event>) {
        if length == 0 {
            return;
        }
        self.settle(out);
        self.give_up(out, length);
        self.compact();
    }

    pub fn close(&mut self, out: &mut Vec<Event>) {
        self.settle(out);
        self.give_up(out, 0);
        self.compact();
    }

    /// `_settle`: the decisions that wait for bytes the stream will not bring any more.
    fn settle(&mut self, out: &mut Vec<Event>) {
        self.closing = true;
        while self.step(out) {}
        self.closing = false;
    }

    // ---- steps -----------------------------------------------------------------------

    /// `_step`: one step of the state's reader; true when it made progress.
    fn step(&mut self, out: &mut Vec<Event>) -> bool {
        match self.state {
            State::Seek => self.seek(out),
            State::Resync => self.resync(out),
            State::Xml => self.xml(out),
            State::Head => self.head(out),
            State::Body => self.body(out),
            State::Open => {
                self.until_next_start(out, "ImageResponse without a usable Content-length")
            }
            State::Multi => self.multi(out),
            State::Discard => self.discard(out),
        }
    }

    /// `_seek`.
    fn seek(&mut self, out: &mut Vec<Event>) -> bool {
        let buf = &self.buf[self.head..];
        let n = buf.len();
        if n == 0 {
            return false;
        }
        let mut i = self.m.scan;
        if i == 0 {
            if n < BOM.len() && BOM.starts_with(buf) {
                return false;
            }
            if buf.starts_with(BOM) {
                i = BOM.len();
            }
        }
        while i < n && whitespace(buf[i]) {
            i += 1;
        }
        self.m.scan = i;
        if i >= n {
            if n as u64 > self.max_header_bytes {
                self.skip_now(out, n, SKIPPED, "whitespace between messages".to_owned());
            }
            return false;
        }
        let Some(kind) = self.classify(i) else { return false };
        self.m.lead = i;
        match kind {
            Kind::Image => {
                self.state = State::Head;
                self.m.scan = i;
            }
            Kind::Xml => {
                self.state = State::Xml;
                self.m.scan = i;
                self.m.cut_scan = i;
                self.m.root_scan = Some(i);
            }
            Kind::Garbage => {
                self.start_resync(SKIPPED, "bytes that start no ImageServer message".to_owned());
                self.strict = true;
                return true;
            }
        }
        self.strict = false;
        true
    }

    /// `_classify` (the caller checked `i` is inside the buffer).
    fn classify(&self, i: usize) -> Option<Kind> {
        let buf = &self.buf[self.head..];
        if starts_at(buf, IMAGE_START, i) {
            return Some(Kind::Image);
        }
        let head = slice(buf, i, i + MAX_START);
        if head.len() < IMAGE_START.len() && IMAGE_START.starts_with(head) {
            return None;
        }
        if buf.get(i) != Some(&b'<') {
            return Some(Kind::Garbage);
        }
        if !self.strict {
            return Some(Kind::Xml);
        }
        match starts_message(buf, i, buf.len(), false, &XML_STARTS)? {
            true => Some(Kind::Xml),
            false => Some(Kind::Garbage),
        }
    }

    /// `_start_resync`.
    fn start_resync(&mut self, rule: &'static str, reason: String) {
        self.state = State::Resync;
        self.skip_start = self.base;
        self.skip_len = 0;
        self.skip_rule = rule;
        self.skip_reason = reason;
        self.m.scan = 0;
    }

    /// `_resync`.
    fn resync(&mut self, out: &mut Vec<Event>) -> bool {
        let buf = &self.buf[self.head..];
        let n = buf.len();
        if let Some(found) = find_message_start(buf, self.m.scan) {
            self.consume_skipped(found);
            self.flush_skipped(out);
            self.state = State::Seek;
            self.new_message();
            return true;
        }
        // Keep only what could be the beginning of a message start.
        self.consume_skipped(n.saturating_sub(MAX_START - 1));
        self.m.scan = 0;
        false
    }

    /// `_xml`.
    fn xml(&mut self, out: &mut Vec<Event>) -> bool {
        let buf = &self.buf[self.head..];
        let n = buf.len();
        let m = &mut self.m;
        let lead = m.lead;
        let cap = lead.saturating_add(self.xml_cap);
        let limit = n.min(cap);
        if m.close_tag.is_empty() {
            if let Some(root_scan) = m.root_scan {
                let window_end = lead.saturating_add(ROOT_WINDOW);
                let window = limit.min(window_end);
                match find_root(buf, root_scan, window) {
                    Some((name_start, name_end, end)) => {
                        m.close_tag = [b"</".as_slice(), &buf[name_start..name_end], b">"].concat();
                        m.close_scan = end;
                    }
                    // No usable root: the blank line alone decides.
                    None if window >= window_end || window == cap => m.root_scan = None,
                    None => {
                        m.root_scan = Some(root_scan.max(window.saturating_sub(ROOT_MATCH_MAX)));
                    }
                }
            }
        }
        if m.blank_end.is_none() {
            match find(buf, BLANK_LINE, m.scan, limit) {
                Some(p) => m.blank_end = Some(p + BLANK_LINE.len()),
                None => m.scan = m.scan.max(limit.saturating_sub(BLANK_LINE.len() - 1)),
            }
        }
        if !m.close_tag.is_empty() && m.close_end.is_none() {
            let len = m.close_tag.len();
            match find(buf, &m.close_tag, m.close_scan, limit) {
                Some(c) => {
                    m.close_end = Some(c + len);
                    m.ws_scan = c + len;
                }
                None => m.close_scan = m.close_scan.max((limit + 1).saturating_sub(len)),
            }
        }
        let mut after_close = None;
        if m.close_end.is_some() {
            let mut k = m.ws_scan;
            while k < limit && whitespace(buf[k]) {
                k += 1;
            }
            m.ws_scan = k;
            if k < limit {
                after_close = Some(k);
            }
        }
        if m.cut_at.is_none() {
            for token in XML_INTERRUPTIONS {
                if let Some(t) = find(buf, token, m.cut_scan + 1, limit) {
                    if m.cut_at.is_none_or(|c| t < c) {
                        m.cut_at = Some(t);
                    }
                }
            }
            if m.cut_at.is_none() {
                m.cut_scan = m.cut_scan.max(limit.saturating_sub(MAX_START));
            }
        }
        if let Some(end) = [m.blank_end, after_close, m.cut_at].into_iter().flatten().min() {
            let mut problems = Vec::new();
            if Some(end) != m.blank_end {
                problems.push(Problem {
                    rule: TERMINATOR,
                    message: "XML message not ended by the double CR-LF; the next message \
                              starts right after it".to_owned(),
                    spec: Spec::Intro,
                });
            }
            self.emit(out, end, problems, false);
            return true;
        }
        if n >= cap {
            let message = format!("XML message longer than {} bytes without its terminator; \
                                   cut there", self.max_xml_bytes);
            self.cut_over_cap(out, cap, HEADER_CAP, message, Spec::Intro,
                              "rest of an over-long XML message".to_owned());
            return true;
        }
        false
    }

    /// `_head`.
    fn head(&mut self, out: &mut Vec<Event>) -> bool {
        let buf = &self.buf[self.head..];
        let n = buf.len();
        let lead = self.m.lead;
        let cap = lead.saturating_add(self.header_cap);
        let limit = n.min(cap);
        let Some(p) = find(buf, BLANK_LINE, self.m.scan, limit) else {
            self.m.scan = self.m.scan.max(limit.saturating_sub(BLANK_LINE.len() - 1));
            if n >= cap {
                let message = format!("ImageResponse header block longer than {} bytes; cut \
                                       there", self.max_header_bytes);
                self.cut_over_cap(out, cap, HEADER_CAP, message, Spec::ImageSingle,
                                  "rest of an over-long header block".to_owned());
                return true;
            }
            return false;
        };
        let start = p + BLANK_LINE.len();
        let heads = quick_scan(slice(buf, lead, p));
        self.m.body_start = start;
        match (heads.multipart, heads.boundary, heads.content_length) {
            (true, Some(boundary), _) => {
                self.state = State::Multi;
                self.m.close_delimiter = [b"\r\n--".as_slice(), &boundary, b"--"].concat();
                self.m.close_scan = start - CRLF.len();
                self.m.next_scan = p;
                self.m.part_at = Some(start);
            }
            (_, _, None) => {
                self.state = State::Open;
                self.m.next_scan = p;
            }
            (_, _, Some(clen)) if clen > u128::from(self.max_body) => {
                let problem = Problem {
                    rule: LENGTH_CAP,
                    message: format!("Content-length {clen} exceeds the {}-byte cap; the body \
                                      is skipped, not buffered", self.max_body),
                    spec: Spec::ImageSingle,
                };
                self.emit(out, start, vec![problem], false);
                self.start_discard(clen, LENGTH_CAP,
                                   format!("body of {clen} bytes beyond the length cap"),
                                   IMAGE_CONTENT_LENGTH);
            }
            (_, _, Some(clen)) => {
                self.state = State::Body;
                // clen <= max_body, which fits a usize.
                self.m.body_end = start.saturating_add(usize::try_from(clen).unwrap_or(usize::MAX));
                self.m.next_scan = p;
            }
        }
        true
    }

    /// `_body`: a body of known length (see the reference's docstring).
    fn body(&mut self, out: &mut Vec<Event>) -> bool {
        let buf = &self.buf[self.head..];
        let n = buf.len();
        let closing = self.closing;
        let m = &mut self.m;
        let (start, end) = (m.body_start, m.body_end);
        if !m.overrun {
            let limit = n.min(end);
            if m.embedded.is_none() {
                // Most segments of an image hold no blank line at all: answered here.
                if find(buf, BLANK_LINE, m.next_scan, limit).is_none() {
                    m.next_scan = m.next_scan.max(limit.saturating_sub(BLANK_LINE.len() - 1));
                } else {
                    let (p, resume) = find_next_start(buf, m.next_scan, limit,
                                                      n >= end || closing);
                    m.next_scan = resume;
                    if p.is_some() {
                        m.embedded = p;
                    }
                }
            }
            let embedded = m.embedded;
            if n < end.saturating_add(BLANK_LINE.len()) {
                return match embedded {
                    // The stream ends before the length.
                    Some(p) if closing => self.emit_at_embedded(out, p),
                    _ => false,
                };
            }
            if starts_at(buf, BLANK_LINE, end) {
                if let Some(p) = embedded {
                    let after = end + BLANK_LINE.len();
                    match starts_message(buf, after, n, closing, &MESSAGE_STARTS) {
                        None => return false,
                        Some(false) if !(closing && after == n) => {
                            return self.emit_at_embedded(out, p);
                        }
                        _ => {}
                    }
                }
                self.emit(out, end + BLANK_LINE.len(), Vec::new(), false);
                return true;
            }
            if let Some(p) = embedded {
                return self.emit_at_embedded(out, p);
            }
            match message_follows(buf, end) {
                Follows::Wait => return false,
                Follows::At(follows) => {
                    let problem = Problem {
                        rule: TERMINATOR,
                        message: "ImageResponse body not followed by the double CR-LF".to_owned(),
                        spec: Spec::ImageSingle,
                    };
                    self.emit(out, follows, vec![problem], false);
                    return true;
                }
                Follows::No => {}
            }
            // Body longer than declared, or junk after it: on to the next message start.
            m.overrun = true;
            m.next_scan = start.saturating_sub(BLANK_LINE.len())
                .max(end.saturating_sub(BLANK_LINE.len() + MAX_START));
        }
        self.until_next_start(out, "ImageResponse body ran past its Content-length")
    }

    /// The problem of a Content-length whose next message starts right after the header
    /// block (the bytes alone cannot show it to the dissector).
    fn lied_at_once(&self) -> Problem {
        Problem {
            rule: IMAGE_CONTENT_LENGTH,
            message: format!("Content-length {} but the next message starts right after \
                              the header block", self.m.body_end - self.m.body_start),
            spec: Spec::ImageSingle,
        }
    }

    /// `_emit_at_embedded`: the Content-length lied; end at the blank line at `p`.
    fn emit_at_embedded(&mut self, out: &mut Vec<Event>, p: usize) -> bool {
        let mut problems = Vec::new();
        if p + BLANK_LINE.len() == self.m.body_start {
            problems.push(self.lied_at_once());
        }
        self.emit(out, p + BLANK_LINE.len(), problems, false);
        true
    }

    /// `_to_next_start` (and `_open`): end the message at the next `\r\n\r\n` + message
    /// start (bounded).
    fn until_next_start(&mut self, out: &mut Vec<Event>, what: &str) -> bool {
        let buf = &self.buf[self.head..];
        let n = buf.len();
        let cap = self.m.body_start.saturating_add(self.body_cap);
        let (p, resume) = find_next_start(buf, self.m.next_scan, n.min(cap), n >= cap);
        self.m.next_scan = resume;
        if let Some(p) = p {
            let mut problems = Vec::new();
            if p + BLANK_LINE.len() == self.m.body_start && self.state == State::Body {
                problems.push(self.lied_at_once());
            }
            self.emit(out, p + BLANK_LINE.len(), problems, false);
            return true;
        }
        if n >= cap {
            let message = format!("{what}, beyond the {}-byte cap; cut there", self.max_body);
            self.cut_over_cap(out, cap, LENGTH_CAP, message, Spec::ImageSingle,
                              format!("rest of an {what}"));
            return true;
        }
        false
    }

    /// `_walk_parts`: follow the parts by their own Content-lengths (see the reference's
    /// docstring).
    fn walk_parts(&mut self, q: usize) -> Walk {
        let buf = &self.buf[self.head..];
        let n = buf.len();
        let closing = self.closing;
        let m = &mut self.m;
        let delimiter = &m.close_delimiter;
        // b"--" + boundary
        let dash = delimiter.get(CRLF.len()..delimiter.len().saturating_sub(2)).unwrap_or_default();
        let body_cap = (m.body_start as u128).saturating_add(self.body_cap as u128);
        let mut q = q;
        loop {
            if n < q.saturating_add(dash.len() + 2) {
                return if closing { Walk::Search(q) } else { Walk::Wait };
            }
            if !starts_at(buf, dash, q) {
                return Walk::Search(q);
            }
            let after = q + dash.len();
            if starts_at(buf, b"--", after) {
                return Walk::Close(q.saturating_sub(CRLF.len()));
            }
            if !starts_at(buf, CRLF, after) {
                return Walk::Search(q);
            }
            let data_end = match m.part_end {
                Some(data_end) => data_end,
                None => {
                    let limit = n.min(after.saturating_add(self.header_cap));
                    let Some(head_end) = find(buf, BLANK_LINE, after.max(m.part_scan), limit)
                    else {
                        if limit == n && !closing {
                            m.part_scan = after.max(n.saturating_sub(BLANK_LINE.len() - 1));
                            return Walk::Wait;
                        }
                        return Walk::Search(q);
                    };
                    let Some(clen) = quick_scan(slice(buf, after + CRLF.len(), head_end))
                        .content_length else { return Walk::Search(q) };
                    let data_end = (head_end + BLANK_LINE.len()) as u128 + clen;
                    m.part_end = Some(data_end);
                    data_end
                }
            };
            if data_end > body_cap {
                return Walk::Search(q); // beyond the cap: the search cuts it there
            }
            // data_end <= body_start + max_body, which fits a usize.
            let data_end = usize::try_from(data_end).unwrap_or(usize::MAX);
            let need = data_end.saturating_add(CRLF.len() + dash.len());
            if n < need {
                return if closing { Walk::Search(q) } else { Walk::Wait };
            }
            if starts_at(buf, CRLF, data_end) && starts_at(buf, dash, data_end + CRLF.len()) {
                q = data_end + CRLF.len();
                m.part_at = Some(q);
                m.part_end = None;
                m.close_scan = m.close_scan.max(data_end);
                m.next_scan = m.next_scan.max(data_end);
                continue;
            }
            if starts_at(buf, BLANK_LINE, data_end) {
                match starts_message(buf, data_end + BLANK_LINE.len(), n, closing,
                                     &MESSAGE_STARTS) {
                    None => return Walk::Wait,
                    Some(true) => return Walk::End(data_end),
                    Some(false) => {}
                }
            }
            return Walk::Search(data_end);
        }
    }

    /// `_multi`.
    fn multi(&mut self, out: &mut Vec<Event>) -> bool {
        let n = self.buffered();
        if let (None, Some(q)) = (self.m.close_end, self.m.part_at) {
            match self.walk_parts(q) {
                Walk::Wait => {
                    if n >= self.m.body_start.saturating_add(self.body_cap) {
                        self.m.part_at = None; // let the cap below cut it
                    } else {
                        return false;
                    }
                }
                Walk::Close(at) => {
                    self.m.part_at = None;
                    self.m.close_end = Some(at + self.m.close_delimiter.len());
                }
                Walk::End(at) => {
                    // No closing boundary: the parts' lengths end the body; the message
                    // takes the double CR-LF (the dissector reports the missing boundary).
                    self.m.part_at = None;
                    self.emit(out, at + BLANK_LINE.len(), Vec::new(), false);
                    return true;
                }
                Walk::Search(at) => {
                    self.m.part_at = None;
                    self.m.close_scan = self.m.close_scan.max(at.saturating_sub(CRLF.len()));
                    self.m.next_scan = self.m.next_scan.max(at.saturating_sub(BLANK_LINE.len()));
                }
            }
        }
        let buf = &self.buf[self.head..];
        let end = match self.m.close_end {
            Some(end) => end,
            None => {
                let cap = self.m.body_start.saturating_add(self.body_cap);
                let limit = n.min(cap);
                let m = &mut self.m;
                let c = find(buf, &m.close_delimiter, m.close_scan, limit);
                let (p, resume) = find_next_start(buf, m.next_scan, limit, n >= cap);
                m.next_scan = resume;
                match (c, p) {
                    (Some(c), p) if p.is_none_or(|p| c < p) => {
                        m.close_end = Some(c + m.close_delimiter.len());
                        c + m.close_delimiter.len()
                    }
                    (_, Some(p)) => {
                        // A new message began before the closing boundary; the dissector
                        // reports the unclosed multipart from the bytes.
                        self.emit(out, p + BLANK_LINE.len(), Vec::new(), false);
                        return true;
                    }
                    _ => {
                        m.close_scan = m.close_scan
                            .max((limit + 1).saturating_sub(m.close_delimiter.len()));
                        if n >= cap {
                            let message = format!("multipart body longer than {} bytes \
                                                   without its closing boundary; cut there",
                                                  self.max_body);
                            self.cut_over_cap(out, cap, LENGTH_CAP, message, Spec::ImageMultipart,
                                              "rest of an over-long multipart body".to_owned());
                            return true;
                        }
                        return false;
                    }
                }
            }
        };
        if starts_at(buf, BLANK_LINE, end) {
            self.emit(out, end + BLANK_LINE.len(), Vec::new(), false);
            return true;
        }
        if n < end.saturating_add(BLANK_LINE.len()) && BLANK_LINE.starts_with(slice(buf, end, n)) {
            return false;
        }
        let follows = match message_follows(buf, end) {
            Follows::Wait => return false,
            Follows::At(at) => at,
            Follows::No => end + if starts_at(buf, CRLF, end) { CRLF.len() } else { 0 },
        };
        let problem = Problem {
            rule: TERMINATOR,
            message: "closing boundary not followed by the double CR-LF".to_owned(),
            spec: Spec::ImageMultipart,
        };
        self.emit(out, follows, vec![problem], false);
        true
    }

    // ---- counting down ---------------------------------------------------------------

    /// `_start_discard`.
    fn start_discard(&mut self, count: u128, rule: &'static str, reason: String,
                     early_rule: &'static str) {
        self.state = State::Discard;
        self.remaining = count;
        self.expect_trailer = true;
        self.skip_start = self.base;
        self.skip_len = 0;
        self.skip_rule = rule;
        self.skip_reason = reason;
        self.early_rule = early_rule;
        self.m.next_scan = 0;
    }

    /// `_discard`.
    fn discard(&mut self, out: &mut Vec<Event>) -> bool {
        if self.remaining > 0 {
            let buf = &self.buf[self.head..];
            let n = buf.len();
            let hard = n as u128 >= self.remaining;
            let limit = if hard { usize::try_from(self.remaining).unwrap_or(n) } else { n };
            let (p, resume) = find_next_start(buf, self.m.next_scan, limit, hard);
            if let Some(p) = p {
                // The declared length lied: a message starts inside it.
                self.consume_skipped(p + BLANK_LINE.len());
                self.skip_rule = self.early_rule;
                self.skip_reason.push_str(&format!("; the next message starts after {} bytes, \
                                                    before the declared end", self.skip_len));
                self.flush_skipped(out);
                self.state = State::Seek;
                self.new_message();
                return true;
            }
            let take = if hard { limit } else { resume };
            self.consume_skipped(take);
            self.remaining = self.remaining.saturating_sub(take as u128);
            self.m.next_scan = resume.saturating_sub(take);
            if self.remaining > 0 {
                return false;
            }
        }
        if self.expect_trailer {
            let buf = &self.buf[self.head..];
            if buf.len() < BLANK_LINE.len() && BLANK_LINE.starts_with(buf) {
                return false;
            }
            if buf.starts_with(BLANK_LINE) {
                self.consume_skipped(BLANK_LINE.len());
            }
        }
        self.flush_skipped(out);
        self.state = State::Seek;
        self.strict = true;
        self.new_message();
        true
    }

    // ---- gap / end of stream -----------------------------------------------------------

    /// `_give_up`: flush whatever is in progress, then (for a gap) step over `gap` lost
    /// bytes.
    fn give_up(&mut self, out: &mut Vec<Event>, gap: u64) {
        let cause = if gap > 0 { format!("a gap of {gap} bytes") }
                    else { "the end of the stream".to_owned() };
        // Declared body bytes (then a trailer) still expected at the current offset.
        let mut body_left: u128 = 0;
        match self.state {
            State::Seek => {
                let n = self.buffered();
                if n > 0 {
                    let what = if self.m.scan >= n { "whitespace" }
                               else { "an incomplete message start" };
                    self.skip_now(out, n, SKIPPED, format!("{what} before {cause}"));
                }
            }
            State::Resync => {
                self.consume_skipped(self.buffered());
                self.flush_skipped(out);
            }
            State::Discard => body_left = self.flush_discard(out, gap),
            _ => body_left = self.flush_message(out, &cause),
        }
        let n = self.buffered();
        if n > 0 {
            // Bytes after a counted-down body that are not its trailer.
            self.skip_now(out, n, SKIPPED, format!("bytes before {cause}"));
        }
        self.new_message();
        self.state = State::Seek;
        self.strict = true;
        if gap > 0 {
            self.base = self.base.saturating_add(gap);
            if body_left > u128::from(gap) {
                // The lost bytes ended inside a body of known length: skip the rest of it
                // exactly, then expect its trailer.
                self.start_discard(body_left - u128::from(gap), TRUNCATED,
                                   format!("rest of an ImageResponse body cut by {cause}"),
                                   TRUNCATED);
            }
        }
    }

    /// `_flush_discard`: give up a count-down; return the body bytes still expected.
    fn flush_discard(&mut self, out: &mut Vec<Event>, gap: u64) -> u128 {
        let take = (self.buffered() as u128).min(self.remaining);
        self.consume_skipped(take as usize);
        self.remaining -= take;
        if self.remaining == 0 && self.expect_trailer {
            let trailer = slice(&self.buf[self.head..], 0, BLANK_LINE.len());
            if BLANK_LINE.starts_with(trailer) {
                self.consume_skipped(trailer.len());
            }
        } else if self.remaining > 0 && gap == 0 {
            self.skip_reason.push_str(&format!("; the stream ended {} bytes early",
                                               self.remaining));
        }
        self.flush_skipped(out);
        self.remaining
    }

    /// `_flush_message`: emit a message in progress as it is; return the body bytes
    /// still expected (an ImageResponse body of known length cut short).
    fn flush_message(&mut self, out: &mut Vec<Event>, cause: &str) -> u128 {
        let n = self.buffered();
        let (start, end) = (self.m.body_start, self.m.body_end);
        match self.state {
            State::Xml => {
                // Without its root's end tag the message was cut; with it, only the
                // terminator is missing.
                let truncated = self.m.close_end.is_none();
                let problem = if truncated {
                    Problem { rule: TRUNCATED, message: format!("XML message cut by {cause}"),
                              spec: Spec::Intro }
                } else {
                    Problem { rule: TERMINATOR,
                              message: format!("XML message not ended by the double CR-LF \
                                                before {cause}"),
                              spec: Spec::Intro }
                };
                self.emit(out, n, vec![problem], truncated);
            }
            State::Head => {
                let problem = Problem {
                    rule: TRUNCATED,
                    message: format!("ImageResponse header block cut by {cause}"),
                    spec: Spec::ImageSingle,
                };
                self.emit(out, n, vec![problem], true);
            }
            State::Body if !self.m.overrun && n < end => {
                let problem = Problem {
                    rule: TRUNCATED,
                    message: format!("ImageResponse body cut by {cause} after {} of {} bytes",
                                     n.saturating_sub(start), end - start),
                    spec: Spec::ImageSingle,
                };
                self.emit(out, n, vec![problem], true);
                return (end - n) as u128;
            }
            State::Multi if self.m.close_end.is_none() => {
                let problem = Problem {
                    rule: TRUNCATED,
                    message: format!("multipart body cut by {cause} before its closing \
                                      boundary"),
                    spec: Spec::ImageMultipart,
                };
                self.emit(out, n, vec![problem], true);
            }
            // OPEN: ended by its trailer after all.
            _ if self.buf[self.head..].ends_with(BLANK_LINE) => {
                self.emit(out, n, Vec::new(), false);
            }
            _ => {
                // Complete but for the trailer: BODY, MULTI, OPEN or an overrun BODY.
                let problem = Problem {
                    rule: TERMINATOR,
                    message: format!("ImageResponse not followed by the double CR-LF before \
                                      {cause}"),
                    spec: Spec::LiveResponses,
                };
                self.emit(out, n, vec![problem], false);
            }
        }
        0
    }

    // ---- output ------------------------------------------------------------------------

    /// `_cut_over_cap`: a message grew past a cap: hand over its first `cap` bytes, cut,
    /// with the cap's problem, and skip what follows until a plausible message start.
    fn cut_over_cap(&mut self, out: &mut Vec<Event>, cap: usize, rule: &'static str,
                    message: String, spec: Spec, rest: String) {
        self.emit(out, cap, vec![Problem { rule, message, spec }], true);
        self.start_resync(rule, rest);
    }

    /// `_emit`: cut the first `end` bytes as one message.
    fn emit(&mut self, out: &mut Vec<Event>, end: usize, problems: Vec<Problem>,
            truncated: bool) {
        if end == 0 {
            return;
        }
        let data = if self.head == 0 && end < self.buf.len() && end * 2 >= self.buf.len() {
            // The message is most of the buffer (an image, typically): hand the buffer
            // over and keep a copy of the shorter rest instead.
            let rest = self.buf.split_off(end);
            std::mem::replace(&mut self.buf, rest)
        } else if self.head == 0 && end >= self.buf.len() {
            std::mem::take(&mut self.buf)
        } else {
            let data = slice(&self.buf[self.head..], 0, end).to_vec();
            self.drop_front(end);
            data
        };
        out.push(Event::Framed { start: self.base, data, problems, truncated });
        self.base = self.base.saturating_add(end as u64);
        self.state = State::Seek;
        self.new_message();
    }

    /// `_new_message`.
    fn new_message(&mut self) {
        self.m = Message::default();
    }

    /// `_consume_skipped`.
    fn consume_skipped(&mut self, count: usize) {
        if count > 0 {
            self.drop_front(count);
            self.base = self.base.saturating_add(count as u64);
            self.skip_len = self.skip_len.saturating_add(count as u64);
        }
    }

    /// `_flush_skipped`.
    fn flush_skipped(&mut self, out: &mut Vec<Event>) {
        if self.skip_len > 0 {
            out.push(Event::Skipped { start: self.skip_start, length: self.skip_len,
                                      rule: self.skip_rule, reason: self.skip_reason.clone() });
        }
        self.skip_start = self.base;
        self.skip_len = 0;
    }

    /// `_skip_now`.
    fn skip_now(&mut self, out: &mut Vec<Event>, count: usize, rule: &'static str,
                reason: String) {
        out.push(Event::Skipped { start: self.base, length: count as u64, rule, reason });
        self.drop_front(count);
        self.base = self.base.saturating_add(count as u64);
        self.new_message();
    }

    /// `del _buf[:count]` (the read position moves; `compact` reclaims the space).
    fn drop_front(&mut self, count: usize) {
        self.head = self.head.saturating_add(count).min(self.buf.len());
    }

    /// Drop consumed bytes: at once when none is left (an idle framer holds no memory,
    /// 200,000 of them for 100,000 open flows), else when they are many or most.
    fn compact(&mut self) {
        let head = self.head;
        if head == self.buf.len() {
            self.buf = Vec::new();
            self.head = 0;
        } else if head > 0 && (head >= COMPACT_AT || head * 2 >= self.buf.len()) {
            self.buf.drain(..head);
            self.head = 0;
            if self.buf.capacity() > 4096 && self.buf.len() < self.buf.capacity() / 4 {
                self.buf.shrink_to_fit();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framer() -> Framer {
        Framer::new(DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_XML_BYTES, DEFAULT_MAX_BODY)
            .expect("default caps")
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

    const CALL: &[u8] = b"<methodcall><requestid>1</requestid></methodcall>\r\n\r\n";
    const IMAGE: &[u8] = b"ImageResponse\r\nContent-length: 5\r\n\r\n\xff\xd8\r\n\r\n\r\n\r\n";
    const MULTI: &[u8] = b"ImageResponse\r\nContent-Type: Multipart/related; boundary=\"B\"\r\n\r\n\
                           --B\r\nContent-length: 2\r\n\r\n--\r\n--B--\r\n\r\n";

    #[test]
    fn messages_whole_and_cut_anywhere_alike() {
        let stream = [b" \r\n".as_slice(), CALL, IMAGE, MULTI].concat();
        let whole = feed_all(&mut framer(), &[&stream]);
        let lead = 3 + CALL.len() as u64;
        assert_eq!(whole, vec![framed(0, &stream[..lead as usize]),
                               framed(lead, IMAGE), framed(lead + IMAGE.len() as u64, MULTI)]);
        for cut in 0..=stream.len() {
            let (x, y) = stream.split_at(cut);
            assert_eq!(feed_all(&mut framer(), &[x, y]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(feed_all(&mut framer(), &bytes), whole);
        let mut idle = framer();
        idle.feed(&stream, &mut Vec::new());
        assert_eq!((idle.buffered(), idle.capacity()), (0, 0)); // nothing held
    }

    #[test]
    fn garbage_is_skipped_once_then_resynced() {
        let stream = [b"zz<q>junk".as_slice(), CALL].concat();
        let out = feed_all(&mut framer(), &[&stream]);
        let Event::Skipped { start: 0, length: 9, rule: SKIPPED, reason } = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(reason, "bytes that start no ImageServer message");
        assert_eq!(out[1], framed(9, CALL));
    }

    #[test]
    fn oversized_body_is_counted_down_then_cut_by_a_gap() {
        let mut framer = Framer::new(DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_XML_BYTES, 10)
            .expect("caps");
        let head = b"ImageResponse\r\nContent-length: 99999999999999999999\r\n\r\n";
        let mut out = Vec::new();
        framer.feed(head, &mut out);
        framer.feed(&[b'x'; 500], &mut out);
        assert!(framer.buffered() < 16);
        framer.gap(10, &mut out);
        framer.feed(&[b'y'; 100], &mut out);
        framer.close(&mut out);
        let Event::Framed { problems, .. } = &out[0] else { panic!("{out:?}") };
        assert_eq!(problems[0].message, "Content-length 99999999999999999999 exceeds the \
                                         10-byte cap; the body is skipped, not buffered");
        let Event::Skipped { start, length: 500, rule: LENGTH_CAP, .. } = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(*start, head.len() as u64);
        // After the gap, the rest of the body is counted down (to the end of the stream).
        let Event::Skipped { start, length: 100, rule: TRUNCATED, reason } = &out[2] else {
            panic!("{out:?}")
        };
        assert_eq!(*start, head.len() as u64 + 510);
        assert_eq!(reason, "rest of an ImageResponse body cut by a gap of 10 bytes; the stream \
                            ended 99999999999999999389 bytes early");
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn header_scan_is_the_references() {
        let heads = quick_scan(b"ImageResponse\r\ncontent-TYPE:  \xa0MULTIPART/x ; a=1;\
                                 \x85Boundary\x0b= \"q=r\" \r\nContent-Length: \x0b12\xa0\r\r\n\
                                 Content-length: 3");
        assert_eq!(heads, Heads { multipart: true, content_length: Some(12),
                                  boundary: Some(b"q=r".to_vec()) });
        let heads = quick_scan(b"Content-type: multipart/x; boundary=a; boundary=\"\"\n\
                                 Content-length : 5\nContent-length: 123456789012345678901");
        assert_eq!(heads, Heads { multipart: true, content_length: None, boundary: None });
        assert_eq!(quick_scan(b"Content-length: 99999999999999999999").content_length,
                   Some(99_999_999_999_999_999_999));
    }

    #[test]
    fn root_search_is_the_references_regex() {
        let long = [b"<".as_slice(), &[b'n'; 255], b">"].concat();
        assert_eq!(find_root(&long, 0, long.len()), Some((1, 256, 257))); // 1 + 254 name bytes
        let longer = [b"<".as_slice(), &[b'n'; 256], b">"].concat();
        assert_eq!(find_root(&longer, 0, longer.len()), None); // a name of 256: no match
        assert_eq!(find_root(&long[1..], 0, 256), None);
        let ok = [b"<".as_slice(), &[b'n'; 254], b"/"].concat();
        assert_eq!(find_root(&ok, 0, ok.len()), Some((1, 255, 256)));
        assert_eq!(find_root(&ok, 0, ok.len() - 1), None); // its terminator past the window
        assert_eq!(find_root(b"x<1a> <_a.b:c-d\x0b", 0, 16), Some((7, 15, 16)));
        assert_eq!(find_root(b"<a>", 1, 3), None);
    }

    #[test]
    fn zero_header_and_xml_caps_are_declined() {
        assert!(Framer::new(0, 1, 1).is_none());
        assert!(Framer::new(1, 0, 1).is_none());
        assert!(Framer::new(1, 1, 0).is_some());
    }

    /// Pieces of hostile streams: the shapes the framer decides on.
    fn piece(next: &mut impl FnMut() -> u64) -> Vec<u8> {
        const PIECES: [&[u8]; 18] = [
            CALL, IMAGE, MULTI, b"\r\n\r\n", b"\r\n", b"ImageResponse\r\n", b"<?xml", b"<",
            b"\xef\xbb\xbf", b"<methodcall>", b"</methodcall>", b"Content-length: 3\r\n",
            b"Content-type: multipart/a; boundary=B\r\n", b"--B\r\n", b"--B--", b"  ",
            b"\xff\xd8abc", b"<livepackage>",
        ];
        match next() % 4 {
            0 => (0..next() % 8).map(|_| [b'\r', b'\n', b'<', b'-', 0xff][next() as usize % 5])
                .collect(),
            _ => PIECES[next() as usize % PIECES.len()].to_vec(),
        }
    }

    /// Stable stand-in for the fuzz target: hostile streams cut and gapped at random, under
    /// any cap, never panic; every message's bytes are the stream's own at its offset, the
    /// events come in stream order without overlap, and without gaps every byte is in an
    /// event and (under the default caps) the events do not depend on the cuts. (Under a
    /// header cap smaller than a run of blanks between messages they do, in the reference
    /// too: fed at once, the run leads the next message; cut before its end, it is skipped
    /// as "whitespace between messages".)
    #[test]
    fn hostile_streams_never_panic_and_keep_offsets() {
        let mut rng = crate::testrand::XorShift::new(0x1234_5678_9ABC_DEF1);
        let mut next = || rng.next();
        for _ in 0..3000 {
            let stream: Vec<u8> = (0..1 + next() % 8).flat_map(|_| piece(&mut next)).collect();
            let caps = [(DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_XML_BYTES, DEFAULT_MAX_BODY),
                        (1, 1, 0), (16, 20, 3), (40, 60, 10), (200, 300, 1 << 62)];
            let (h, x, b) = caps[next() as usize % caps.len()];
            let mut framer = Framer::new(h, x, b).expect("caps");
            let mut whole = Framer::new(h, x, b).expect("caps");
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
            let end = crate::framing::assert_in_stream_order(&out, &virtual_stream);
            if !gaps {
                assert_eq!(end, stream.len() as u64, "every byte accounted for: {out:?}");
            }
            if !gaps && h == DEFAULT_MAX_HEADER_BYTES {
                whole.feed(&stream, &mut expected);
                whole.close(&mut expected);
                assert_eq!(out, expected);
            }
        }
    }
}
