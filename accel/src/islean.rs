//! The lean ImageServer dissection of conformant messages, decided in one pass.
//!
//! `dissectors/imageserver` is the reference. In lean mode (no field tree) with the
//! default options, most messages of real traffic come out of it with no problem at all;
//! for those, [`dissect`] returns what the lean record holds (kind, summary, requestid,
//! method and the attrs, in the reference's insertion order). For anything else it returns
//! `None` and the caller runs the reference: an image answer whose head (or, multipart,
//! whole message) may hold a secret, an XML message where the reference's scrub
//! could change its record (see `scrub_is_identity`), an XML document outside the narrow
//! subset read here, any shape the reference would report anything about, any method,
//! form, header or body not ported. Bodies read: a single JPEG, and multipart bodies of
//! JPEG and generic byte data parts (walked as `genericbytedata.walk` walks them). The
//! `PrivacyMask` header is read in its three forms, the base64 XML one where it is the
//! canonical encoding of a document of the subset below. Declining is always safe; only
//! a wrong answer is a failure.
//!
//! What the reference's tables say (element layouts, value forms, headers, caps) comes in
//! as [`Tables`], built once from `tables.py` by the binding: nothing of the document is
//! restated here. What is code here mirrors code there (`xmlmessage._Walker`,
//! `values.parse_*`, `checks`, `connectparam`, `imageresponse.dissect_image`,
//! `multipart.walk`, `genericbytedata.walk`, `jpeg.inspect`, `privacymask._grid`,
//! `privacymask._xml`).
//!
//! The XML subset (every document in it is one `xmlplain.parse_plain` reads, so the
//! reference's record comes from the same tree; and one `xmltree.parse` reads without a
//! finding into the same elements and attributes, which the privacy mask relies on):
//! ASCII; an optional declaration of version 1.0 in UTF-8; elements with ASCII names
//! without colons, attributes quoted, values without tabs, line breaks, `<` or `&`; text
//! without `>` and with `&` only in the five predefined entities; no comments, CDATA,
//! processing instructions or DTDs; no `xmlns`; carriage returns only after the root
//! element; within the depth and element caps.
//!
//! No input panics: every index is checked, recursion is bounded by the depth cap.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::secrets::may_hold_secrets;

/// The value forms of `tables.Form` that the lean walk judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    YesNo,
    Number,
    Time,
    Float,
    Text,
    Enum,
    Container,
    Empty,
    Free,
    PrivacyMask,
    ContentType,
    /// A password: never judged, its value masked by the reference (and never shown here).
    Secret,
    /// `key=value&amp;...` with a token inside: judged by the message's `connectparam`
    /// check, not by the element walk.
    ConnectParam,
    /// Any form not ported (a new one): its message is declined.
    Other,
}

impl Form {
    /// The form named by a `tables.Form` value.
    pub fn from_name(name: &str) -> Form {
        match name {
            "yes/no" => Form::YesNo,
            "number" => Form::Number,
            "ms-time" => Form::Time,
            "float" => Form::Float,
            "text" => Form::Text,
            "enum" => Form::Enum,
            "container" => Form::Container,
            "empty" => Form::Empty,
            "free" => Form::Free,
            "privacymask" => Form::PrivacyMask,
            "content-type" => Form::ContentType,
            "secret" => Form::Secret,
            "connectparam" => Form::ConnectParam,
            _ => Form::Other,
        }
    }
}

/// `tables.Attribute`, the fields the walk reads.
#[derive(Clone, Debug)]
pub struct AttrSpec {
    pub name: String,
    pub form: Form,
    pub required: bool,
    pub values: Vec<String>,
    pub minimum: Option<i128>,
    pub maximum: Option<i128>,
}

/// `tables.Element`, the fields the walk reads (with the default options:
/// `recommended` only matters when `report_recommended` is on).
#[derive(Clone, Debug)]
pub struct ElemSpec {
    pub name: String,
    pub form: Form,
    pub required: bool,
    pub repeated: bool,
    pub values: Vec<String>,
    pub children: Vec<ElemSpec>,
    pub attributes: Vec<AttrSpec>,
    pub minimum: Option<i128>,
    pub maximum: Option<i128>,
    pub choice: bool,
}

/// One request variant (`tables.Shape`): its label and elements.
#[derive(Clone, Debug)]
pub struct ShapeSpec {
    pub label: String,
    pub elements: Vec<ElemSpec>,
}

/// `tables.Method`: its request variants, what answers it, the elements of its XML
/// response (`ANSWER_COMMON` where it has none) and its message-level checks.
#[derive(Clone, Debug)]
pub struct MethodSpec {
    pub name: String,
    pub requests: Vec<ShapeSpec>,
    pub answered_by: String,
    pub response: Vec<ElemSpec>,
    pub checks: Vec<String>,
}

/// `tables.Header`, the fields the head walk reads.
#[derive(Clone, Debug)]
pub struct HeaderSpec {
    /// Lower case, as `IMAGE_HEADERS_BY_NAME` keys it.
    pub lower: String,
    pub form: Form,
    pub required: bool,
    pub values: Vec<String>,
}

/// Everything the lean dissection reads from the Python side, once.
#[derive(Clone, Debug)]
pub struct Tables {
    /// `ROOTS`: root element name → record kind.
    pub roots: Vec<(String, String)>,
    pub methods: Vec<MethodSpec>,
    pub livepackage: Vec<ElemSpec>,
    /// `tables._ENVELOPE` and `tables._ADAPTIVE_ONLY` (`is_adaptive_streaming_only`).
    pub envelope: Vec<String>,
    pub adaptive_only: Vec<String>,
    /// The default options' plausible time window and caps.
    pub time_min: i128,
    pub time_max: i128,
    pub max_xml_bytes: usize,
    pub max_xml_depth: usize,
    pub max_xml_elements: usize,
    pub max_header_lines: usize,
    pub max_header_line: usize,
    /// `IMAGE_FIRST_LINE`.
    pub image_first_line: String,
    pub headers: Vec<HeaderSpec>,
    /// The media type `CONTENT_TYPES` maps to the body kind "jpeg".
    pub jpeg_media: String,
    /// `jpeg.SOF_MARKERS` (its keys) and `jpeg._STANDALONE` (markers without a length).
    pub sof_markers: Vec<u8>,
    pub jpeg_standalone: Vec<u8>,
    /// `privacymask`: the "none" value, the grid prefix, the cell cap, the root element
    /// of the base64 XML form.
    pub privacymask_none: String,
    pub privacymask_grid_prefix: String,
    pub privacymask_max_cells: u64,
    pub privacymask_root: String,
    /// The media types `CONTENT_TYPES` maps to "multipart" and "genericbytedata".
    pub multipart_media: String,
    pub gbd_media: String,
    /// `PART_HEADERS`, `PART_CONTENT_TYPES` and the default options' `max_parts`.
    pub part_headers: Vec<HeaderSpec>,
    pub part_media: Vec<String>,
    pub max_parts: usize,
    /// `genericbytedata`: its constants and tables (the byte layouts are code, as there).
    pub gbd: GbdTables,
}

/// What `genericbytedata.walk` reads from its module: the data types and their names,
/// the codecs that start a video block, the codec names, the packet cap.
#[derive(Clone, Debug)]
pub struct GbdTables {
    pub video: u16,
    pub multi: u16,
    /// `DATA_TYPES`: code → layout name.
    pub data_types: Vec<(u16, String)>,
    /// `VIDEO_BLOCK_CODECS` (a range: first, last).
    pub video_block_codecs: (u16, u16),
    pub codecs: Vec<(u16, String)>,
    pub max_packets: usize,
}

/// An attribute value of the lean record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Str(String),
    /// `status_items`: `[{"id": id, "value": value}, ...]`.
    Items(Vec<(String, String)>),
    /// A list of strings (`part_kinds`).
    Strs(Vec<String>),
    /// `gbd_packets`: per packet that carries coded data, `{"layout", "codec", "keyframe",
    /// "payload_offset", "payload_length"}`.
    Packets(Vec<GbdPacket>),
}

/// One entry of `gbd_packets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GbdPacket {
    pub layout: String,
    pub codec: String,
    pub keyframe: bool,
    pub payload_offset: i64,
    pub payload_length: i64,
}

/// What the lean record holds, attrs in the reference's insertion order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lean {
    pub kind: String,
    pub info: String,
    pub txn: Option<i64>,
    pub is_response: bool,
    pub method: Option<String>,
    pub attrs: Vec<(&'static str, Value)>,
}

/// `xmlmessage.base_attrs()`.
fn base_attrs() -> Vec<(&'static str, Value)> {
    vec![
        ("requestid", Value::None),
        ("methodname", Value::None),
        ("content_length", Value::None),
        ("body_kind", Value::None),
        ("parts", Value::Int(0)),
    ]
}

fn set(attrs: &mut [(&'static str, Value)], key: &str, value: Value) {
    if let Some(slot) = attrs.iter_mut().find(|(k, _)| *k == key) {
        slot.1 = value;
    }
}

// ---- entry --------------------------------------------------------------------------------

const BOM: &[u8] = b"\xef\xbb\xbf";

/// `xmltree.skip_prolog_whitespace`.
fn skip_prolog(data: &[u8]) -> usize {
    let mut pos = if data.starts_with(BOM) { BOM.len() } else { 0 };
    while pos < data.len() && matches!(data[pos], b' ' | b'\t' | b'\r' | b'\n') {
        pos += 1;
    }
    pos
}

/// The lean record `dissectors.imageserver.dissect(data, "tcp", DissectOptions(tree=False))`
/// gives, when it has no problem and every step is one ported here; else None.
pub fn dissect(data: &[u8], t: &Tables) -> Option<Lean> {
    let start = skip_prolog(data);
    let body = data.get(start..)?;
    if body.starts_with(t.image_first_line.as_bytes()) {
        // The reference scrubs (not ported) where the bytes that can name a secret may
        // hold one (`dissector.named_part`): the head up to its first blank line, or all
        // of a multipart message (each part has a head).
        let head = BLANK_LINE_FINDER.find(body).map_or(data, |end| &data[..start + end]);
        let multipart = head.to_ascii_lowercase().windows(9).any(|w| w == b"multipart");
        if may_hold_secrets(if multipart { data } else { head }) {
            return None;
        }
        return image(data, start, t);
    }
    if body.first() == Some(&b'<') {
        return xml(body, t, may_hold_secrets(data));
    }
    None
}

// ---- XML: the tree ------------------------------------------------------------------------

const NONE: u32 = u32::MAX;
/// Longer names are declined (libxml2 caps names; we stay far below).
const MAX_NAME: usize = 256;
/// More attributes on one element are declined.
const MAX_ATTRS: usize = 64;

const DECLARATIONS: [&[u8]; 8] = [
    b"<?xml version=\"1.0\"?>",
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
    b"<?xml version=\"1.0\" encoding=\"utf-8\"?>",
    b"<?xml version=\"1.0\" encoding=\"US-ASCII\"?>",
    b"<?xml version='1.0'?>",
    b"<?xml version='1.0' encoding='UTF-8'?>",
    b"<?xml version='1.0' encoding='utf-8'?>",
    b"<?xml version='1.0' encoding='US-ASCII'?>",
];

struct Node<'a> {
    name: &'a str,
    /// The `<` of its start tag and one past the `>` of its end (or empty) tag.
    start: usize,
    end: usize,
    /// Its content (between the tags; empty for `<x/>`).
    inner: (usize, usize),
    attrs: (u32, u32),
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
}

struct Doc<'a> {
    body: &'a [u8],
    nodes: Vec<Node<'a>>,
    attrs: Vec<(&'a str, &'a str)>,
    /// Some attribute value holds a space (`xmlplain._Builder.spaced`).
    spaced: bool,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}

/// `str.strip()` on text of the subset (its only whitespace: space, tab, line feed).
fn trim(text: &str) -> &str {
    text.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n')
}

fn as_str(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// XML's five predefined entities: what each stands for.
const ENTITIES: [(&str, char); 5] =
    [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>'), ("&quot;", '"'), ("&apos;", '\'')];

/// Whether every `&` of `text` starts one of the five predefined entities (character
/// references are outside the subset: `xmlplain` leaves them to the scanner).
fn entities_predefined(text: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'&', &text[from..]).map(|i| from + i) {
        let rest = &text[i..];
        let Some((entity, _)) = ENTITIES.iter().find(|(e, _)| rest.starts_with(e.as_bytes()))
        else {
            return false;
        };
        from = i + entity.len();
    }
    true
}

/// `xmltree.unescape` (and lxml) on text whose entities are all predefined ones.
fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        match ENTITIES.iter().find(|(e, _)| tail.starts_with(e)) {
            Some((entity, ch)) => {
                out.push(*ch);
                rest = &tail[entity.len()..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

impl<'a> Doc<'a> {
    fn node(&self, index: u32) -> Option<&Node<'a>> {
        self.nodes.get(index as usize)
    }

    fn children(&self, index: u32) -> Kids<'_, 'a> {
        Kids { doc: self, next: self.node(index).map_or(NONE, |n| n.first_child) }
    }

    fn node_attrs(&self, node: &Node<'a>) -> &[(&'a str, &'a str)] {
        self.attrs.get(node.attrs.0 as usize..node.attrs.1 as usize).unwrap_or(&[])
    }

    fn first(&self, parent: u32, name: &str) -> Option<u32> {
        self.children(parent).find(|&c| self.node(c).is_some_and(|n| n.name == name))
    }

    fn attr(&self, node: u32, name: &str) -> Option<&'a str> {
        let node = self.node(node)?;
        self.node_attrs(node).iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    /// The pieces of text between its children (`el.text` and the children's tails).
    fn pieces(&self, index: u32) -> Vec<&'a [u8]> {
        let Some(node) = self.node(index) else { return Vec::new() };
        let mut out = Vec::new();
        let mut pos = node.inner.0;
        for child in self.children(index) {
            if let Some(c) = self.node(child) {
                out.push(self.body.get(pos..c.start).unwrap_or(&[]));
                pos = c.end;
            }
        }
        out.push(self.body.get(pos..node.inner.1).unwrap_or(&[]));
        out
    }

    /// Its text as `_Builder` makes it: the pieces joined (entities expanded), stripped.
    fn text(&self, index: u32) -> Cow<'a, str> {
        let pieces = self.pieces(index);
        if pieces.len() == 1 && !pieces[0].contains(&b'&') {
            return Cow::Borrowed(trim(as_str(pieces[0]).unwrap_or("")));
        }
        let joined: String = pieces.iter().filter_map(|p| as_str(p)).collect();
        Cow::Owned(trim(&unescape(&joined)).to_owned())
    }

    /// Whether its stripped text is empty.
    fn text_blank(&self, index: u32) -> bool {
        self.pieces(index).iter().all(|p| p.iter().all(|&b| is_space(b)))
    }
}

struct Kids<'d, 'a> {
    doc: &'d Doc<'a>,
    next: u32,
}

impl Iterator for Kids<'_, '_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let current = self.next;
        self.next = self.doc.node(current)?.next_sibling;
        Some(current)
    }
}

/// `xmlplain.is_plain`'s and our byte-level conditions on the whole document.
fn plain_bytes(body: &[u8], t: &Tables) -> bool {
    if body.len() > t.max_xml_bytes {
        return false;
    }
    let mut end = body.len();
    while end > 0 && matches!(body[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
        end -= 1;
    }
    let core = &body[..end];
    core.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n')
        && XMLNS_FINDER.find(core).is_none()
}

/// The element tree of a document of the subset, or None.
fn parse<'a>(body: &'a [u8], t: &Tables) -> Option<Doc<'a>> {
    if !plain_bytes(body, t) {
        return None;
    }
    let mut p = Parser { body, pos: 0 };
    if body.starts_with(b"<?") {
        let decl = DECLARATIONS.iter().find(|d| body.starts_with(d))?;
        p.pos = decl.len();
    }
    p.skip_space();
    let mut doc = Doc { body, nodes: Vec::new(), attrs: Vec::new(), spaced: false };
    let mut stack: Vec<u32> = Vec::new();
    loop {
        if p.peek()? != b'<' {
            // Text inside an element (never before the root: skipped above).
            let stop = memchr::memchr(b'<', &body[p.pos..]).map(|i| p.pos + i)?;
            let text = &body[p.pos..stop];
            if stack.is_empty() || text.contains(&b'>') || !entities_predefined(text) {
                return None;
            }
            p.pos = stop;
            continue;
        }
        if p.at(1) == Some(b'/') {
            let open = stack.pop()?;
            let tag_start = p.pos;
            p.pos += 2;
            let name = p.name()?;
            p.skip_space();
            p.expect(b'>')?;
            let node = doc.nodes.get_mut(open as usize)?;
            if node.name != name {
                return None;
            }
            node.inner.1 = tag_start;
            node.end = p.pos;
            if stack.is_empty() {
                break;
            }
            continue;
        }
        let index = doc.nodes.len();
        if index >= t.max_xml_elements || stack.len() >= t.max_xml_depth {
            return None;
        }
        let index = index as u32;
        let start = p.pos;
        p.pos += 1;
        let name = p.name()?;
        let first_attr = doc.attrs.len() as u32;
        let empty = p.start_tag_rest(&mut doc, first_attr)?;
        let node = Node {
            name,
            start,
            end: p.pos,
            inner: (p.pos, p.pos),
            attrs: (first_attr, doc.attrs.len() as u32),
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
        };
        doc.nodes.push(node);
        if let Some(&parent) = stack.last() {
            let last = doc.nodes.get(parent as usize)?.last_child;
            if last == NONE {
                doc.nodes.get_mut(parent as usize)?.first_child = index;
            } else {
                doc.nodes.get_mut(last as usize)?.next_sibling = index;
            }
            doc.nodes.get_mut(parent as usize)?.last_child = index;
        } else if index != 0 {
            return None; // a second root
        }
        if !empty {
            stack.push(index);
        } else if stack.is_empty() {
            break; // `<root/>`
        }
    }
    // After the root: whitespace only.
    body[p.pos..].iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')).then_some(doc)
}

struct Parser<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.body.get(self.pos).copied()
    }

    fn at(&self, ahead: usize) -> Option<u8> {
        self.body.get(self.pos.checked_add(ahead)?).copied()
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    fn skip_space(&mut self) -> bool {
        let before = self.pos;
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
        self.pos > before
    }

    fn name(&mut self) -> Option<&'a str> {
        let start = self.pos;
        if !is_name_start(self.peek()?) {
            return None;
        }
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        if self.pos - start > MAX_NAME {
            return None;
        }
        as_str(&self.body[start..self.pos])
    }

    /// After a start tag's name: its attributes, then `>` (false) or `/>` (true).
    fn start_tag_rest(&mut self, doc: &mut Doc<'a>, first: u32) -> Option<bool> {
        loop {
            let spaced = self.skip_space();
            match self.peek()? {
                b'>' => {
                    self.pos += 1;
                    return Some(false);
                }
                b'/' => {
                    self.pos += 1;
                    self.expect(b'>')?;
                    return Some(true);
                }
                b if spaced && is_name_start(b) => {
                    let name = self.name()?;
                    self.skip_space();
                    self.expect(b'=')?;
                    self.skip_space();
                    let quote = self.peek()?;
                    if quote != b'"' && quote != b'\'' {
                        return None;
                    }
                    self.pos += 1;
                    let len = memchr::memchr(quote, &self.body[self.pos..])?;
                    let raw = &self.body[self.pos..self.pos + len];
                    if raw.iter().any(|&b| matches!(b, b'<' | b'&' | b'\t' | b'\n')) {
                        return None;
                    }
                    self.pos += len + 1;
                    let value = as_str(raw)?;
                    let mine = doc.attrs.get(first as usize..).unwrap_or(&[]);
                    if mine.len() >= MAX_ATTRS || mine.iter().any(|(k, _)| *k == name) {
                        return None;
                    }
                    doc.spaced |= raw.contains(&b' ');
                    doc.attrs.push((name, value));
                }
                _ => return None,
            }
        }
    }
}

/// `xmlplain._RAW_BREAK_IN_VALUE.search(body)`: an `=`, blanks, a quote, then a tab or
/// line break before the closing quote (or with none after it).
fn raw_break_in_value(body: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'=', &body[from..]).map(|i| from + i) {
        from = i + 1;
        let mut j = i + 1;
        while j < body.len() && matches!(body[j], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            j += 1;
        }
        let Some(&quote) = body.get(j) else { continue };
        if quote != b'"' && quote != b'\'' {
            continue;
        }
        for &b in &body[j + 1..] {
            if b == quote {
                break;
            }
            if matches!(b, b'\t' | b'\n' | b'\r') {
                return true;
            }
        }
    }
    false
}

// ---- XML: the walk ------------------------------------------------------------------------

/// Judges elements against their layout as `xmlmessage._Walker` does in lean mode; any
/// finding (or anything not ported) is a None.
struct Walker<'d, 'a> {
    doc: &'d Doc<'a>,
    t: &'d Tables,
    /// How many elements were judged as `Form::Secret` (their values the reference masks).
    secrets: std::cell::Cell<usize>,
}

/// `_by_name(specs)[name]`: the last spec of that name (a dict built in order).
fn by_name<'s, S>(specs: &'s [S], name: &str, key: impl Fn(&S) -> &str) -> Option<&'s S> {
    specs.iter().rev().find(|s| key(s) == name)
}

impl Walker<'_, '_> {
    fn no_text(&self, node: u32) -> Option<()> {
        self.doc.text_blank(node).then_some(())
    }

    /// `_Walker.children`: every child known and judged, none repeated that may not be,
    /// every required one present, exactly one option of a choice.
    fn children(&self, node: u32, specs: &[ElemSpec], choice: bool) -> Option<()> {
        let mut kids = self.doc.children(node).peekable();
        if kids.peek().is_none() && specs.is_empty() && !choice {
            return Some(());
        }
        let mut counts: Vec<(&str, u32)> = Vec::new();
        for child in kids {
            let name = self.doc.node(child)?.name;
            let spec = by_name(specs, name, |s| &s.name)?; // unknown: reported
            let count = match counts.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => {
                    slot.1 += 1;
                    slot.1
                }
                None => {
                    counts.push((name, 1));
                    1
                }
            };
            if count == 2 && !spec.repeated {
                return None;
            }
            self.element(child, spec)?;
        }
        let seen = |s: &ElemSpec| counts.iter().any(|(n, _)| *n == s.name);
        if specs.iter().any(|s| s.required && !seen(s)) {
            return None;
        }
        if choice && specs.iter().filter(|s| seen(s)).count() != 1 {
            return None;
        }
        Some(())
    }

    fn element(&self, node: u32, spec: &ElemSpec) -> Option<()> {
        match spec.form {
            Form::Container => {
                self.no_text(node)?;
                self.children(node, &spec.children, spec.choice)?;
            }
            Form::Empty => {
                self.no_text(node)?;
                self.children(node, &[], false)?;
            }
            Form::Free | Form::ConnectParam => {} // the latter: by the `connectparam` check
            Form::Secret => {
                self.children(node, &[], false)?;
                self.secrets.set(self.secrets.get() + 1);
            }
            Form::YesNo | Form::Number | Form::Time | Form::Float | Form::Text | Form::Enum => {
                self.children(node, &[], false)?;
                let text = self.doc.text(node);
                judge(spec.form, &text, &spec.values, spec.minimum, spec.maximum, false, self.t)?;
            }
            _ => return None,
        }
        self.attributes(node, &spec.attributes)
    }

    fn attributes(&self, node: u32, specs: &[AttrSpec]) -> Option<()> {
        let n = self.doc.node(node)?;
        let attrs = self.doc.node_attrs(n);
        if specs.is_empty() && attrs.is_empty() {
            return Some(());
        }
        for (name, value) in attrs {
            let spec = by_name(specs, name, |s| &s.name)?;
            let value = value.trim_matches(' ');
            judge(spec.form, value, &spec.values, spec.minimum, spec.maximum, true, self.t)?;
        }
        let present = |s: &AttrSpec| attrs.iter().any(|(k, _)| *k == s.name);
        specs.iter().all(|s| !s.required || present(s)).then_some(())
    }
}

/// `values.parse(form, text, DEFAULT_OPTIONS, ...)` without a problem: Some(number) for
/// numbers and times, Some(None) for the other accepted forms; None for a problem.
fn judge(form: Form, text: &str, values: &[String], minimum: Option<i128>,
         maximum: Option<i128>, attribute: bool, t: &Tables) -> Option<Option<i128>> {
    match form {
        Form::YesNo => yesno(text, attribute).map(|_| None),
        Form::Number => number(text, minimum, maximum).map(Some),
        Form::Time => time(text, t).map(Some),
        Form::Float => is_float(text).then_some(None),
        Form::Enum => values.iter().any(|v| v == text).then_some(None),
        Form::Text => Some(None),
        _ => None,
    }
}

/// `values.parse_yesno` (not strict): yes/no in any case; in attributes true/false too.
fn yesno(text: &str, attribute: bool) -> Option<bool> {
    let lowered = text.to_ascii_lowercase();
    if !text.is_ascii() {
        return None;
    }
    match lowered.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        "true" if attribute => Some(true),
        "false" if attribute => Some(false),
        _ => None,
    }
}

/// `values.parse_number` without a problem: `[+-]?[0-9]{1,19}` within the range.
fn number(text: &str, minimum: Option<i128>, maximum: Option<i128>) -> Option<i128> {
    let b = text.as_bytes();
    let digits = match b.first()? {
        b'+' | b'-' => b.get(1..)?,
        _ => b,
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: i128 = text.parse().ok()?;
    if minimum.is_some_and(|m| n < m) || maximum.is_some_and(|m| n > m) {
        return None;
    }
    Some(n)
}

/// `values.parse_time` without a problem: `[0-9]{1,16}` within the plausible window.
fn time(text: &str, t: &Tables) -> Option<i128> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 16 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let ms: i128 = text.parse().ok()?;
    (t.time_min <= ms && ms <= t.time_max).then_some(ms)
}

/// `values._FLOAT.fullmatch`:
/// `[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?`.
fn is_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let whole = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        let fraction = digits(&mut i);
        if whole == 0 && fraction == 0 {
            return false;
        }
    } else if whole == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exponent = digits(&mut i);
        if !(1..=3).contains(&exponent) {
            return false;
        }
    }
    i == b.len()
}

// ---- XML: the records ---------------------------------------------------------------------

/// The lean record of an XML message. `secretive`: its bytes may hold a secret, so the
/// reference builds the full tree, scrubs the record (`secrets.Scrubber`) and drops the
/// tree; answered only where that scrub can change nothing (see [`scrub_is_identity`]).
fn xml(body: &[u8], t: &Tables, secretive: bool) -> Option<Lean> {
    let doc = parse(body, t)?;
    if doc.spaced && raw_break_in_value(body) {
        return None; // `parse_plain` gives up: the scanner's record, not ported
    }
    let root_name = doc.node(0)?.name;
    let kind = t.roots.iter().find(|(name, _)| name == root_name)?.1.as_str();
    let w = Walker { doc: &doc, t, secrets: std::cell::Cell::new(0) };
    let lean = match kind {
        "livepackage" => livepackage(&w),
        "request" | "response" => method_message(&w, kind),
        _ => None,
    }?;
    if secretive && !scrub_is_identity(&w, &lean) {
        return None;
    }
    Some(lean)
}

/// Whether `Scrubber().record` leaves the lean record of a problem-free document as it
/// is. It masks (1) every `key=value` pair with a secret key in the summary and in every
/// string attribute, and (2) every other appearance of a value it collected from a field
/// named like a secret. (1) needs a secret word in the text: none may hold a fragment of
/// one (no summary or attribute the tables allow can hold one today: this guards their
/// changes). (2) collects nothing when every element named like a secret was judged as a
/// `Form::Secret` (the reference shows it masked already; no children or attributes, or
/// it had a problem) and no attribute is named like one (unknown attributes are problems;
/// no layout has such an attribute). A `<connectparam>`'s fields are its keys, each
/// masked by the dissector where named like a secret. The record's own attribute names
/// name no secret.
fn scrub_is_identity(w: &Walker<'_, '_>, lean: &Lean) -> bool {
    let doc = w.doc;
    let named = doc.nodes.iter().filter(|n| may_hold_secrets(n.name.as_bytes())).count();
    if named != w.secrets.get() || doc.attrs.iter().any(|(k, _)| may_hold_secrets(k.as_bytes())) {
        return false;
    }
    let clean = |text: &str| !may_hold_secrets(text.as_bytes());
    clean(&lean.info)
        && lean.attrs.iter().all(|(_, value)| match value {
            Value::Str(text) => clean(text),
            Value::Items(items) => items.iter().all(|(id, v)| clean(id) && clean(v)),
            Value::Strs(items) => items.iter().all(|item| clean(item)),
            Value::Packets(packets) => packets.iter().all(|p| clean(&p.layout) && clean(&p.codec)),
            Value::None | Value::Bool(_) | Value::Int(_) => true,
        })
}

fn method_message(w: &Walker<'_, '_>, kind: &str) -> Option<Lean> {
    let doc = w.doc;
    let method_node = doc.first(0, "methodname")?;
    let method = doc.text(method_node);
    let spec = w.t.methods.iter().find(|m| m.name == method)?; // unknown or empty: declined
    let names: Vec<&str> = doc.children(0).filter_map(|c| doc.node(c).map(|n| n.name)).collect();
    let request = kind == "request";
    let adaptive = is_adaptive_only(&names, w.t);
    let (elements, label) = if request {
        let shape = request_shape(spec, &names, adaptive)?;
        (&shape.elements, shape.label.as_str())
    } else {
        (&spec.response, "")
    };
    w.no_text(0)?;
    w.children(0, elements, false)?;
    // Split once: the check and `connectparam_id` read the same keys. (Only connect and
    // connectupdate requests get here with one: elsewhere it is an unknown element.)
    let params = if request { connectparam(w)? } else { None };
    for check in &spec.checks {
        match (check.as_str(), request) {
            ("connected_errorreason", false) => connected_errorreason(doc)?,
            ("connectparam", true) => connectparam_keys(params.as_deref())?,
            ("connect_shape", true) => connect_shape(doc)?,
            ("connected_errorreason", true) | ("connectparam" | "connect_shape", false) => {}
            _ => return None,
        }
    }
    let txn_node = doc.first(0, "requestid")?;
    let txn = i64::try_from(number(&doc.text(txn_node), None, None)?).ok()?;
    let mut attrs = base_attrs();
    set(&mut attrs, "requestid", Value::Int(txn));
    set(&mut attrs, "methodname", Value::Str(method.to_string()));
    let mut info = format!("{method} {kind} id={txn}");
    if request {
        if method == "connect" || method == "connectupdate" {
            let id = params.iter().flatten().find(|(key, _)| key.eq_ignore_ascii_case("id"));
            attrs.push(("connectparam_id", id.map_or(Value::None, |(_, v)| Value::Str(v.clone()))));
        }
        let answer = if method == "live" && adaptive { "none" } else { &spec.answered_by };
        attrs.push(("answered_by", Value::Str(answer.to_string())));
        if method == "live" {
            attrs.push(("adaptive_only", Value::Bool(adaptive)));
            if adaptive {
                info.push_str(" (adaptive streaming only)");
            }
        }
        if spec.requests.len() > 1 && !label.is_empty() {
            attrs.push(("variant", Value::Str(label.to_string())));
        }
    } else {
        if let Some(connected) = doc.first(0, "connected") {
            if method == "connect" || method == "connectupdate" {
                let text = doc.text(connected);
                attrs.push(("connected", match text.to_ascii_lowercase().as_str() {
                    "yes" => Value::Bool(true),
                    "no" => Value::Bool(false),
                    _ => Value::None,
                }));
                info.push_str(&format!(" connected={text}"));
            }
        }
        if let Some(alarms) = doc.first(0, "alarms") {
            if method == "alarms" {
                let count = doc
                    .children(alarms)
                    .filter(|&c| doc.node(c).is_some_and(|n| n.name == "alarm"))
                    .count();
                attrs.push(("alarms", Value::Int(i64::try_from(count).ok()?)));
                info.push_str(&format!(" {count} alarms"));
            }
        }
    }
    Some(Lean {
        kind: kind.to_string(),
        info,
        txn: Some(txn),
        is_response: !request,
        method: Some(method.into_owned()),
        attrs,
    })
}

/// `tables.is_adaptive_streaming_only`.
fn is_adaptive_only(names: &[&str], t: &Tables) -> bool {
    let mut rest = names.iter().filter(|n| !t.envelope.iter().any(|e| e == *n)).peekable();
    rest.peek().is_some() && rest.all(|n| t.adaptive_only.iter().any(|a| a == n))
}

/// `tables.request_shape`: live by its adaptive-only variant; else the first variant
/// with all its required elements present, then the most of its elements present.
fn request_shape<'m>(spec: &'m MethodSpec, names: &[&str], adaptive: bool) -> Option<&'m ShapeSpec> {
    if spec.name == "live" {
        return spec.requests.get(usize::from(adaptive));
    }
    let mut best: Option<(&ShapeSpec, (bool, usize))> = None;
    for shape in &spec.requests {
        let has = |name: &str| names.contains(&name);
        let complete = shape.elements.iter().filter(|e| e.required).all(|e| has(&e.name));
        let mut distinct: Vec<&str> = names.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let overlap = distinct.iter().filter(|n| shape.elements.iter().any(|e| e.name == **n)).count();
        let key = (complete, overlap);
        if best.is_none_or(|(_, k)| key > k) {
            best = Some((shape, key));
        }
    }
    best.map(|(s, _)| s)
}

/// `connectparam.KEY_ORDER`, `REQUIRED_KEYS` and `GUID_KEYS`: the section "connect –
/// Simple" (restated: the module's constants, not tables, and tested against them through
/// the equivalence tests).
const KEY_ORDER: [&str; 3] = ["id", "streamid", "connectiontoken"];
const REQUIRED_KEYS: [&str; 2] = ["id", "connectiontoken"];
const GUID_KEYS: [&str; 2] = ["id", "streamid"];

/// The `(key, value)` pairs of the message's first top-level `<connectparam>`
/// (`connectparam.split`: cut at each escaped `&`, entities expanded, both sides
/// stripped); Some(None) without one. One holding elements is declined: the reference
/// reads the raw span with their markup in it, `xmlplain` leaves such a document to the
/// scanner, and no peer sends one. (A second one, or an attribute on it, is a finding of
/// the walk: the message never gets here.)
fn connectparam(w: &Walker<'_, '_>) -> Option<Option<Vec<(String, String)>>> {
    let doc = w.doc;
    let Some(index) = doc.first(0, "connectparam") else { return Some(None) };
    let node = doc.node(index)?;
    if node.first_child != NONE {
        return None;
    }
    let raw = as_str(doc.body.get(node.inner.0..node.inner.1)?)?;
    let params = raw
        .split("&amp;")
        .map(|piece| {
            let piece = unescape(piece);
            match piece.split_once('=') {
                Some((key, value)) => (trim(key).to_string(), trim(value).to_string()),
                None => (trim(&piece).to_string(), String::new()),
            }
        })
        .collect();
    Some(Some(params))
}

/// `connectparam.is_guid`: `\{?[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}?`.
fn is_guid(text: &str) -> bool {
    let b = text.as_bytes();
    let b = b.strip_prefix(b"{").unwrap_or(b);
    let b = b.strip_suffix(b"}").unwrap_or(b);
    let groups = [8, 4, 4, 4, 12];
    let mut parts = b.split(|&c| c == b'-');
    let ok = groups.iter().all(|&n| {
        parts.next().is_some_and(|p| p.len() == n && p.iter().all(u8::is_ascii_hexdigit))
    });
    ok && parts.next().is_none()
}

/// `checks.connectparam_keys` on a request, without a problem: only the document's keys,
/// in its order, the required ones present, GUIDs where it names one, none repeated.
fn connectparam_keys(params: Option<&[(String, String)]>) -> Option<()> {
    let Some(params) = params else { return Some(()) };
    let keys: Vec<String> =
        params.iter().filter(|(k, _)| !k.is_empty()).map(|(k, _)| k.to_lowercase()).collect();
    let rank = |k: &String| KEY_ORDER.iter().position(|o| o == k);
    let ranks: Vec<usize> = keys.iter().map(rank).collect::<Option<_>>()?; // unknown key
    if ranks.windows(2).any(|p| p[0] > p[1]) {
        return None; // out of order
    }
    if REQUIRED_KEYS.iter().any(|r| !keys.iter().any(|k| k == r)) {
        return None;
    }
    if params.iter().any(|(k, v)| GUID_KEYS.contains(&k.to_lowercase().as_str()) && !is_guid(v)) {
        return None;
    }
    let mut distinct = keys.clone();
    distinct.sort_unstable();
    distinct.dedup();
    (distinct.len() == keys.len()).then_some(())
}

/// `checks.connect_shape` on a request, without a problem: a `<cameraid>` and a
/// `<connectparam>` both (either alone is graded as a finding).
fn connect_shape(doc: &Doc<'_>) -> Option<()> {
    (doc.first(0, "cameraid").is_some() && doc.first(0, "connectparam").is_some()).then_some(())
}

/// `checks.connected_errorreason` on a response, without a problem.
fn connected_errorreason(doc: &Doc<'_>) -> Option<()> {
    let connected = doc.first(0, "connected")?;
    let reason = doc.first(0, "errorreason");
    match (doc.text(connected).to_ascii_lowercase().as_str(), reason) {
        ("yes", Some(_)) => None,
        ("no", None) => None,
        _ => Some(()),
    }
}

fn livepackage(w: &Walker<'_, '_>) -> Option<Lean> {
    let doc = w.doc;
    w.no_text(0)?;
    w.children(0, &w.t.livepackage, false)?;
    let status = doc.first(0, "status")?;
    let time_node = doc.first(status, "statustime")?;
    let statustime = i64::try_from(number(&doc.text(time_node), None, None)?).ok()?;
    let mut items = Vec::new();
    for child in doc.children(status) {
        if doc.node(child)?.name != "statusitem" {
            continue;
        }
        let id = doc.attr(child, "id")?;
        let value = doc.attr(child, "value")?;
        items.push((id.to_string(), value.to_string()));
    }
    let info = format!("livepackage statustime={} {} items", format_ms(statustime)?, items.len());
    let mut attrs = base_attrs();
    attrs.push(("statustime", Value::Int(statustime)));
    attrs.push(("status_items", Value::Items(items)));
    Some(Lean {
        kind: "livepackage".to_string(),
        info,
        txn: None,
        is_response: true,
        method: None,
        attrs,
    })
}

/// `values.format_ms` for a timestamp from 1970 to 9999: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_ms(ms: i64) -> Option<String> {
    if !(0..253_402_300_800_000).contains(&ms) {
        return None;
    }
    let days = ms / 86_400_000;
    let rest = ms % 86_400_000;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (non-negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    ))
}

// ---- ImageResponse ------------------------------------------------------------------------

const BLANK_LINE: &[u8] = b"\r\n\r\n";

// The searchers this module runs on every message, built once (building one per search
// cost as much as the search on a message of a few hundred bytes).
static BLANK_LINE_FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(BLANK_LINE));
static LINE_END_FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\r\n"));
static XMLNS_FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"xmlns"));

/// `headers._TOKEN`: `[!#$%&'*+.^_`|~0-9A-Za-z-]+`.
fn is_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b))
}

/// The lines of a head split on CR-LF.
struct Lines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match LINE_END_FINDER.find(rest) {
            Some(i) => {
                self.rest = rest.get(i + 2..);
                rest.get(..i)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

struct HeadLine<'a> {
    spec: &'a HeaderSpec,
    value: &'a str,
}

/// One `Name: value` line of a head (the ImageResponse's or a part's) read against its
/// table: None for a name that is not a token, not in `specs` (the reference notes an
/// unknown header) or already in `seen` (a repeat, noted too).
fn header_line<'a>(line: &'a [u8], specs: &'a [HeaderSpec], seen: &mut Vec<&'a str>)
                   -> Option<HeadLine<'a>> {
    let colon = memchr::memchr(b':', line)?;
    let name = &line[..colon];
    if !is_token(name) {
        return None;
    }
    let lower = as_str(name)?.to_ascii_lowercase();
    let spec = specs.iter().find(|h| h.lower == lower)?;
    if seen.contains(&spec.lower.as_str()) {
        return None;
    }
    seen.push(&spec.lower);
    Some(HeadLine { spec, value: as_str(&line[colon + 1..])?.trim_matches(' ') })
}

/// `imageresponse.dissect_image` in lean mode for a single JPEG body without a problem.
fn image(data: &[u8], start: usize, t: &Tables) -> Option<Lean> {
    let head_end = BLANK_LINE_FINDER.find(&data[start..])? + start;
    let head = &data[start..head_end];
    // Printable ASCII (no tab, no other control byte) and line ends.
    if !head.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\r' || b == b'\n') {
        return None;
    }
    // Lines ended by CR-LF only: a bare CR or LF is declined (the reference reads it
    // with other rules).
    let mut split = Lines { rest: Some(head) };
    if split.next()? != t.image_first_line.as_bytes() {
        return None;
    }
    let mut lines = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut count = 0usize;
    for line in split {
        count += 1;
        if line.contains(&b'\r') || line.contains(&b'\n') || line.len() > t.max_header_line {
            return None;
        }
        lines.push(header_line(line, &t.headers, &mut seen)?);
    }
    if count > t.max_header_lines {
        return None;
    }
    let find = |lower: &str| lines.iter().find(|l| l.spec.lower == lower).map(|l| l.value);
    let media_value = find("content-type")?;
    let (media, params) = media_type(media_value);
    let boundary = if media == t.multipart_media {
        // `params.get("boundary")`: an empty one is "without a boundary" (a finding).
        Some(params.into_iter().rev().find(|(k, _)| k == "boundary").map(|(_, v)| v)
            .filter(|b| !b.is_empty())?)
    } else if media == t.jpeg_media && !media_value.contains(';') {
        None
    } else {
        return None;
    };
    // Every required header present; a multipart answer need not have a Content-length.
    if t.headers.iter().any(|h| {
        h.required && !seen.contains(&h.lower.as_str())
            && !(boundary.is_some() && h.lower == "content-length")
    }) {
        return None;
    }
    let declared = match find("content-length") {
        Some(text) => Some(content_length(text)?),
        None => None,
    };
    let mut privacymask = None;
    for line in &lines {
        match line.spec.form {
            Form::PrivacyMask => privacymask = Some(privacy_mask(line.value, t)?),
            Form::ContentType => {}
            Form::Number => {
                number(line.value, Some(0), None)?;
            }
            Form::Enum | Form::Time => {
                judge(line.spec.form, line.value, &line.spec.values, None, None, false, t)?;
            }
            _ => return None,
        }
    }
    let txn = i64::try_from(number(find("requestid")?, None, None)?).ok()?;
    let body_start = head_end + BLANK_LINE.len();
    let mut attrs = base_attrs();
    set(&mut attrs, "content_length", declared.map_or(Some(Value::None), |d| {
        i64::try_from(d).ok().map(Value::Int)
    })?);
    attrs.push(("content_type", Value::Str(media.clone())));
    if let Some(kind) = privacymask {
        attrs.push(("privacymask", Value::Str(kind.to_string())));
    }
    set(&mut attrs, "requestid", Value::Int(txn));
    let (summary, size) = match &boundary {
        None => {
            let declared = declared.filter(|&d| d != 0)?; // 0: an empty answer, noted
            let end = body_start.checked_add(declared)?;
            if data.len() != end.checked_add(BLANK_LINE.len())? || !data[end..].starts_with(BLANK_LINE) {
                return None;
            }
            if !data[body_start..].starts_with(b"\xff\xd8\xff") {
                return None;
            }
            let (width, height) = jpeg_size(data, body_start, end, t)?;
            attrs.push(("width", Value::Int(i64::from(width))));
            attrs.push(("height", Value::Int(i64::from(height))));
            set(&mut attrs, "body_kind", Value::Str("jpeg".to_string()));
            (format!("{width}x{height}"), declared)
        }
        Some(boundary) => {
            // `multipart_body` with its trailer (a message without one is cut or lied
            // about its length: the reference notes it).
            let end = data.len().checked_sub(BLANK_LINE.len())?;
            if end < body_start || !data.ends_with(BLANK_LINE) {
                return None;
            }
            let (parts, kinds) = multipart(data, body_start, end, boundary, t, &mut attrs)?;
            let size = end - body_start;
            if declared.is_some_and(|d| d != size) {
                return None;
            }
            set(&mut attrs, "parts", Value::Int(i64::try_from(parts).ok()?));
            attrs.push(("part_kinds", Value::Strs(kinds)));
            set(&mut attrs, "body_kind", Value::Str("multipart".to_string()));
            (format!("{parts} parts"), size)
        }
    };
    attrs.push(("body_size", Value::Int(i64::try_from(size).ok()?)));
    Some(Lean {
        kind: "imageresponse".to_string(),
        info: format!("ImageResponse id={txn} {media} {summary} {size} B"),
        txn: Some(txn),
        is_response: true,
        method: None,
        attrs,
    })
}

/// `headers.media_type`: the type lowered and stripped, and the `k=v` parameters (keys
/// stripped and lowered, values stripped and unquoted) in order.
fn media_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = value.split(';');
    let head = pieces.next().unwrap_or("").trim_matches(' ').to_ascii_lowercase();
    let params = pieces
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let v = v.trim_matches(' ');
            let v = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') { &v[1..v.len() - 1] } else { v };
            (k.trim_matches(' ').to_ascii_lowercase(), v.to_string())
        })
        .collect();
    (head, params)
}

/// `headers.content_length` where it agrees with the Number form: digits only (18 at
/// most; longer is declined).
fn content_length(text: &str) -> Option<usize> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Sets `key` unless the attrs hold it (`dict.setdefault`).
fn set_default(attrs: &mut Vec<(&'static str, Value)>, key: &'static str, value: Value) {
    if !attrs.iter().any(|(k, _)| *k == key) {
        attrs.push((key, value));
    }
}

/// `multipart.walk` and `_Dissection.part` over a complete body `data[start..end]`,
/// without a finding: every part with exactly its Content-length and Content-type, each
/// length pointing at the next delimiter, closed by `--B--` at `end`. Its parts' attrs
/// go to `attrs` as the reference sets them; returns the part count and sorted kinds.
fn multipart(data: &[u8], start: usize, end: usize, boundary: &str, t: &Tables,
             attrs: &mut Vec<(&'static str, Value)>) -> Option<(usize, Vec<String>)> {
    let dash = [b"--", boundary.as_bytes()].concat();
    let delimiter = [b"\r\n", &dash[..]].concat();
    if !data.get(start..)?.starts_with(&dash) {
        return None; // bytes before the first delimiter: a finding
    }
    let mut pos = start;
    let mut parts = 0usize;
    let mut kinds: Vec<String> = Vec::new();
    loop {
        let after = pos.checked_add(dash.len())?;
        let rest = data.get(after..)?;
        if rest.starts_with(b"--") {
            return (after + 2 == end).then(|| {
                kinds.sort_unstable();
                (parts, kinds)
            });
        }
        if parts >= t.max_parts || !rest.starts_with(b"\r\n") {
            return None;
        }
        let head_start = after + 2;
        let head_end = BLANK_LINE_FINDER.find(data.get(head_start..end)?)? + head_start;
        let head = &data[head_start..head_end];
        if !head.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\r' || b == b'\n') {
            return None;
        }
        let mut seen: Vec<&str> = Vec::new();
        let (mut length, mut media) = (None, None);
        for line in (Lines { rest: Some(head) }) {
            if line.contains(&b'\r') || line.contains(&b'\n') {
                return None;
            }
            // (A part's line that is not "Name: value" the reference passes over silently;
            // declined here like the head's.)
            let HeadLine { spec, value } = header_line(line, &t.part_headers, &mut seen)?;
            match spec.form {
                Form::Number => length = Some(content_length(value)?),
                Form::ContentType => media = Some(media_type(value).0),
                _ => return None,
            }
        }
        if t.part_headers.iter().any(|h| h.required && !seen.contains(&h.lower.as_str())) {
            return None;
        }
        let (length, media) = (length?, media?);
        if !t.part_media.contains(&media) {
            return None;
        }
        let body_start = head_end + BLANK_LINE.len();
        let body_end = body_start.checked_add(length)?;
        if body_end.checked_add(delimiter.len())? > end
            || !data.get(body_end..)?.starts_with(&delimiter)
        {
            return None; // the length does not point at the next delimiter: a finding
        }
        let kind = part_body(data, body_start, body_end, &media, t, attrs)?;
        if !kinds.iter().any(|k| k == kind) {
            kinds.push(kind.to_string());
        }
        parts += 1;
        pos = body_end + 2;
    }
}

/// `_Dissection.classify` of a complete part without a finding: its kind, its attrs.
fn part_body(data: &[u8], start: usize, end: usize, media: &str, t: &Tables,
             attrs: &mut Vec<(&'static str, Value)>) -> Option<&'static str> {
    if data.get(start..)?.starts_with(b"\xff\xd8\xff") {
        let (width, height) = jpeg_size(data, start, end, t)?;
        set_default(attrs, "width", Value::Int(i64::from(width)));
        set_default(attrs, "height", Value::Int(i64::from(height)));
        return Some("jpeg");
    }
    if media != t.gbd_media {
        return None; // image/jpeg without a JPEG: a finding
    }
    let mut media_packets = Vec::new();
    gbd_walk(data, start, end, &t.gbd, &mut media_packets)?;
    if !attrs.iter().any(|(k, _)| *k == "gbd_packets") {
        attrs.push(("gbd_packets", Value::Packets(Vec::new())));
    }
    let packets: Vec<GbdPacket> = media_packets
        .iter()
        .map(|p| GbdPacket {
            layout: p.layout.clone(),
            codec: codec_name(p.codec, &t.gbd),
            keyframe: p.keyframe,
            payload_offset: p.offset as i64,
            payload_length: p.length as i64,
        })
        .collect();
    if let Some(first) = packets.first() {
        set_default(attrs, "codec", Value::Str(first.codec.clone()));
        set_default(attrs, "keyframe", Value::Bool(first.keyframe));
    }
    for (p, listed) in media_packets.iter().zip(&packets) {
        if listed.codec == "JPEG" && data.get(p.offset..)?.starts_with(b"\xff\xd8\xff") {
            let (width, height) = jpeg_size(data, p.offset, p.offset + p.length, t)?;
            set_default(attrs, "width", Value::Int(i64::from(width)));
            set_default(attrs, "height", Value::Int(i64::from(height)));
        }
    }
    if let Some((_, Value::Packets(listed))) = attrs.iter_mut().find(|(k, _)| *k == "gbd_packets") {
        listed.extend(packets);
    }
    Some("genericbytedata")
}

// ---- generic byte data ----------------------------------------------------------------

/// A packet of a generic byte data body that carries coded data (`Body.media()`).
struct MediaPacket {
    layout: String,
    codec: u16,
    keyframe: bool,
    offset: usize,
    length: usize,
}

/// Multi packets nested deeper than this are declined (the reference recurses).
const MAX_GBD_DEPTH: usize = 8;

/// `genericbytedata.codec_name`.
fn codec_name(codec: u16, g: &GbdTables) -> String {
    g.codecs.iter().find(|(c, _)| *c == codec).map_or_else(|| format!("codec 0x{codec:04X}"),
                                                          |(_, name)| name.clone())
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// `genericbytedata.walk(data, start, end)`, keeping what `Body.media()` lists, in its
/// order. None: declined (nesting beyond the cap).
fn gbd_walk(data: &[u8], start: usize, end: usize, g: &GbdTables,
            out: &mut Vec<MediaPacket>) -> Option<()> {
    let mut pos = start;
    let mut count = 0;
    while pos < end && count < g.max_packets {
        match gbd_packet(data, pos, end, true, 0, g, out)? {
            Some(length) if length > 0 => pos += length,
            _ => break, // not a packet, or one of length 0: the rest is not walked
        }
        count += 1;
    }
    Some(())
}

/// `genericbytedata._packet`: Some(Some(length)) for a packet (its media pushed to
/// `out`), Some(None) where no layout reads the bytes at `pos`, None: declined.
fn gbd_packet(data: &[u8], pos: usize, end: usize, top: bool, depth: usize, g: &GbdTables,
              out: &mut Vec<MediaPacket>) -> Option<Option<usize>> {
    let size = end - pos;
    if size < 2 {
        return Some(None);
    }
    let kind = be16(data, pos)?;
    if (g.video_block_codecs.0..=g.video_block_codecs.1).contains(&kind) {
        if !top {
            return Some(None);
        }
        // A video block: the whole rest; its payload only where its header adds up.
        if size >= 36 {
            let header = usize::from(be16(data, pos + 2)?);
            let length = be32(data, pos + 8)? as usize;
            if header >= 36 && header.checked_add(length)? == size {
                out.push(MediaPacket { layout: "video block".into(), codec: kind, keyframe: true,
                                       offset: pos + header, length });
            }
        }
        return Some(Some(size));
    }
    let Some((_, layout)) = g.data_types.iter().find(|(code, _)| *code == kind) else {
        return Some(None);
    };
    if size < 6 {
        return Some(None);
    }
    let length = be32(data, pos + 2)? as usize;
    if length > size {
        return Some(None);
    }
    if kind == g.multi {
        if length < 16 {
            return Some(None);
        }
        if depth >= MAX_GBD_DEPTH {
            return None;
        }
        let (mut inner, stop) = (pos + 16, pos + length);
        while inner < stop {
            match gbd_packet(data, inner, stop, false, depth + 1, g, out)? {
                Some(child) if child > 0 => inner += child,
                _ => break,
            }
        }
    } else if kind == g.video {
        if length < 32 {
            return Some(None);
        }
        let codec = be16(data, pos + 6)?;
        let keyframe = be16(data, pos + 10)? & 1 != 0;
        out.push(MediaPacket { layout: layout.clone(), codec, keyframe, offset: pos + 32,
                               length: length - 32 });
    }
    Some(Some(length))
}

/// `privacymask.decode` without a problem (nor a refused DTD): its kind, "none", "grid"
/// or "xml".
fn privacy_mask(value: &str, t: &Tables) -> Option<&'static str> {
    if value == t.privacymask_none {
        return Some("none");
    }
    match value.strip_prefix(t.privacymask_grid_prefix.as_str()) {
        Some(rest) => grid_mask(rest, t).map(|()| "grid"),
        None => xml_mask(value, t).map(|()| "xml"),
    }
}

/// `privacymask._size` without a problem: `WxH`, each 1 to 4 ASCII digits, neither zero,
/// at most the cell cap in all.
fn mask_size(text: &str, t: &Tables) -> Option<(u64, u64)> {
    let (w, h) = text.split_once('x')?;
    let small = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !small(w) || !small(h) {
        return None;
    }
    let (width, height): (u64, u64) = (w.parse().ok()?, h.parse().ok()?);
    if width == 0 || height == 0 || width * height > t.privacymask_max_cells {
        return None;
    }
    Some((width, height))
}

/// `privacymask._grid` without a problem, on what follows the prefix: the size, then
/// exactly as many rows of `0`/`1` cells as it says.
fn grid_mask(rest: &str, t: &Tables) -> Option<()> {
    let mut parts = rest.split(';');
    let (width, height) = mask_size(parts.next()?, t)?;
    let rows: Vec<&str> = parts.collect();
    if rows.len() as u64 != height {
        return None;
    }
    let good = |row: &&str| row.len() as u64 == width && row.bytes().all(|b| b == b'0' || b == b'1');
    rows.iter().all(good).then_some(())
}

/// `privacymask._xml` without a problem and without a DTD: the header is the canonical
/// base64 of a document of the subset (`parse`; the reference's scanner and lxml read
/// every such document without a finding, and nothing in it can be a `<!DOCTYPE` or
/// `<!ENTITY`) whose root is the mask element; its `<methods>` children and the rows of
/// its last `<grid>` pass every check of the reference. Elements the reference does not
/// look at (other children of the root, what a method holds) are not judged here either.
fn xml_mask(value: &str, t: &Tables) -> Option<()> {
    let raw = base64_canonical(value.as_bytes())?;
    let doc = parse(&raw, t)?;
    if doc.node(0)?.name != t.privacymask_root {
        return None;
    }
    let mut methods = MaskMethods::new();
    let mut grid = None;
    for child in doc.children(0) {
        match doc.node(child)?.name {
            "methods" => methods.read(&doc, child)?,
            "grid" => grid = Some(child), // the last one counts, as there
            _ => {}
        }
    }
    mask_grid(&doc, grid?, &methods, t)
}

/// The methods of a mask read so far: their `value` attributes as written (the
/// reference holds them unique as strings: `1` and `01` are two methods of value 1) and
/// the byte values they name.
struct MaskMethods<'a> {
    written: HashSet<&'a str>,
    named: [bool; 256],
}

impl<'a> MaskMethods<'a> {
    fn new() -> Self {
        MaskMethods { written: HashSet::new(), named: [false; 256] }
    }

    /// Every child of one `<methods>`: a `value` not seen before that is a byte value,
    /// `removable` absent or `true`/`false`.
    fn read(&mut self, doc: &Doc<'a>, methods: u32) -> Option<()> {
        for method in doc.children(methods) {
            let value = doc.attr(method, "value")?;
            if !self.written.insert(value) {
                return None;
            }
            let byte = u8::try_from(decimal(value)?).ok()?;
            self.named[usize::from(byte)] = true;
            if !matches!(doc.attr(method, "removable"), None | Some("true" | "false")) {
                return None;
            }
        }
        Some(())
    }
}

/// The checks of one `<grid>`: its size, then each child a `<row>` with an `index` from
/// 0 to the height, not given before (as written), and `values` of exactly one cell per
/// column, each two hex digits naming no method or one of `methods`.
fn mask_grid(doc: &Doc<'_>, grid: u32, methods: &MaskMethods<'_>, t: &Tables) -> Option<()> {
    let (width, height) = mask_size(doc.attr(grid, "size")?, t)?;
    let mut indexes = HashSet::new();
    for row in doc.children(grid) {
        if doc.node(row)?.name != "row" {
            return None;
        }
        let (index, cells) = (doc.attr(row, "index")?, doc.attr(row, "values")?);
        if u64::from(decimal(index)?) > height || !indexes.insert(index) {
            return None;
        }
        if cells.len() as u64 != 2 * width {
            return None;
        }
        for pair in cells.as_bytes().chunks_exact(2) {
            let cell = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
            if cell != 0 && !methods.named[usize::from(cell)] {
                return None;
            }
        }
    }
    Some(())
}

/// `str.isdigit()` then `int()` on ASCII text, for the short numbers a mask holds: None
/// for anything else and for more than 8 digits (declined: such a value is out of range
/// anyway unless it is padded with zeros, and `int()` refuses very long ones outright).
fn decimal(text: &str) -> Option<u32> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.parse().ok()
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The standard base64 alphabet's value of one character.
fn sextet(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// `base64.b64decode(text, validate=True)` for text in the canonical encoding: whole
/// quads, `=` only as the padding the length needs, zero bits after the last byte. The
/// reference also takes whitespace (removed first), a missing or surplus `=` in some
/// places and stray bits; those are declined here rather than mirrored.
fn base64_canonical(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let pad = text.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in &text[..text.len() - pad] {
        acc = (acc << 6) | sextet(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(acc >> bits).ok()?);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

/// `jpeg.inspect(data, start, end)` without a problem on a complete body: the frame's
/// (width, height).
fn jpeg_size(data: &[u8], start: usize, end: usize, t: &Tables) -> Option<(u16, u16)> {
    let byte = |i: usize| data.get(..end)?.get(i).copied();
    let be16 = |i: usize| Some(u16::from_be_bytes([byte(i)?, byte(i.checked_add(1)?)?]));
    if end.checked_sub(start)? < 4 || data.get(start..start + 2)? != b"\xff\xd8"
        || data.get(end - 2..end)? != b"\xff\xd9"
    {
        return None; // no SOI, or no EOI (the reference notes a cut image)
    }
    let mut pos = start + 2;
    for _ in 0..4096 {
        if pos.checked_add(2)? > end || byte(pos)? != 0xff {
            return None;
        }
        let marker = byte(pos + 1)?;
        if marker == 0xff {
            pos += 1;
            continue;
        }
        if t.jpeg_standalone.contains(&marker) {
            pos += 2;
            continue;
        }
        if marker == 0xd9 || marker == 0xda || pos + 4 > end {
            return None;
        }
        let length = usize::from(be16(pos + 2)?);
        if length < 2 || pos + 2 + length > end {
            return None;
        }
        if t.sof_markers.contains(&marker) {
            if length < 2 + 6 {
                return None;
            }
            let height = be16(pos + 5)?;
            let width = be16(pos + 7)?;
            return (height != 0).then_some((width, height));
        }
        pos += 2 + length;
    }
    None
}

// ---- an excerpt of the tables, for the Rust tests and the fuzz target -----------------

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn el(name: &str, form: Form, required: bool) -> ElemSpec {
    ElemSpec {
        name: name.to_string(),
        form,
        required,
        repeated: false,
        values: Vec::new(),
        children: Vec::new(),
        attributes: Vec::new(),
        minimum: None,
        maximum: None,
        choice: false,
    }
}

fn at(name: &str, form: Form, required: bool, values: &[&str]) -> AttrSpec {
    AttrSpec { name: name.to_string(), form, required, values: strings(values), minimum: None,
               maximum: None }
}

/// A hand-made excerpt of `tables.py` (goto, live, alarms, connect, the
/// livepackage, the ImageResponse headers) with the default options, for the unit tests
/// and the fuzz target only: the binding always reads the real tables from Python.
#[doc(hidden)]
pub fn excerpt_tables() -> Tables {
    let requestid = ElemSpec { minimum: Some(0), ..el("requestid", Form::Number, true) };
    let common = vec![requestid.clone(), el("methodname", Form::Text, true)];
    let with = |extra: Vec<ElemSpec>| [common.clone(), extra].concat();
    let adaptive = ElemSpec {
        choice: true,
        children: vec![
            ElemSpec {
                children: vec![
                    ElemSpec { minimum: Some(1), ..el("widthhint", Form::Number, true) },
                    ElemSpec { minimum: Some(1), ..el("heighthint", Form::Number, true) },
                ],
                ..el("resolution", Form::Container, false)
            },
            el("maxresolution", Form::Empty, false),
            el("disabled", Form::Empty, false),
        ],
        ..el("adaptivestreaming", Form::Container, false)
    };
    let attributes = ElemSpec {
        attributes: vec![
            AttrSpec { minimum: Some(1), ..at("frameraterelative", Form::Number, false, &[]) },
            at("framerate", Form::Enum, false, &["full", "medium", "low"]),
            at("motiononly", Form::YesNo, false, &[]),
        ],
        ..el("attributes", Form::Empty, false)
    };
    let time = |name: &str| el(name, Form::Time, true);
    let alarm = ElemSpec {
        repeated: true,
        attributes: vec![
            at("startTime", Form::Time, true, &[]),
            at("alarmTime", Form::Time, true, &[]),
            at("endTime", Form::Time, true, &[]),
            AttrSpec { minimum: Some(0), ..at("numImages", Form::Number, true, &[]) },
        ],
        ..el("alarm", Form::Empty, false)
    };
    let method = |name: &str, requests: Vec<ShapeSpec>, answered_by: &str,
                  response: Vec<ElemSpec>, checks: &[&str]| MethodSpec {
        name: name.to_string(),
        requests,
        answered_by: answered_by.to_string(),
        response,
        checks: strings(checks),
    };
    let shape = |label: &str, elements: Vec<ElemSpec>| ShapeSpec { label: label.to_string(),
                                                                    elements };
    let header = |name: &str, form: Form, required: bool, values: &[&str]| HeaderSpec {
        lower: name.to_string(), form, required, values: strings(values) };
    Tables {
        roots: vec![("methodcall".into(), "request".into()),
                    ("methodresponse".into(), "response".into()),
                    ("livepackage".into(), "livepackage".into())],
        methods: vec![
            method("goto", vec![shape("", with(vec![
                time("time"), el("compressionrate", Form::Number, false),
                el("keyframesonly", Form::YesNo, false)]))], "image", common.clone(), &[]),
            method("live", vec![
                shape("start live feed", with(vec![
                    el("compressionrate", Form::Number, false),
                    el("sendinitialimage", Form::YesNo, false), attributes, adaptive.clone()])),
                shape("change live adaptive streaming", with(vec![adaptive]))],
                "stream", common.clone(), &[]),
            method("alarms", vec![
                shape("between two points in time", with(vec![time("starttime"),
                                                               time("stoptime")])),
                shape("around a point in time", with(vec![
                    time("centertime"),
                    ElemSpec { minimum: Some(0), ..el("numalarms", Form::Number, true) },
                    ElemSpec { minimum: Some(0), ..el("timespan", Form::Number, true) }]))],
                "xml", with(vec![
                    ElemSpec { attributes: vec![at("startTime", Form::Time, true, &[]),
                                                at("endTime", Form::Time, true, &[])],
                               ..el("dblimit", Form::Empty, false) },
                    ElemSpec { children: vec![alarm], ..el("alarms", Form::Container, false) }]),
                &[]),
            method("connect", vec![shape("", with(vec![
                el("username", Form::Text, true), el("password", Form::Secret, true),
                el("cameraid", Form::Text, false), el("connectparam", Form::ConnectParam, false),
            ]))],
                   "xml", with(vec![el("connected", Form::YesNo, true),
                                    el("errorreason", Form::Text, false),
                                    el("camera", Form::Free, false)]),
                   &["connected_errorreason", "connectparam", "connect_shape"]),
        ],
        livepackage: vec![ElemSpec {
            children: vec![time("statustime"), ElemSpec {
                repeated: true,
                attributes: vec![at("id", Form::Enum, true, &["1", "2", "3", "100"]),
                                 at("value", Form::Enum, true, &["0", "1"]),
                                 at("description", Form::Text, false, &[])],
                ..el("statusitem", Form::Empty, false)
            }],
            ..el("status", Form::Container, true)
        }],
        envelope: strings(&["methodname", "requestid"]),
        adaptive_only: strings(&["adaptivestreaming"]),
        time_min: 631_152_000_000,
        time_max: 4_102_444_800_000,
        max_xml_bytes: 1 << 20,
        max_xml_depth: 32,
        max_xml_elements: 10_000,
        max_header_lines: 128,
        max_header_line: 16 * 1024,
        image_first_line: "ImageResponse".to_string(),
        headers: vec![
            header("requestid", Form::Number, true, &[]),
            header("privacymask", Form::PrivacyMask, false, &[]),
            header("restriction", Form::Enum, true, &["none", "time"]),
            header("prev", Form::Time, true, &[]),
            header("current", Form::Time, true, &[]),
            header("next", Form::Time, true, &[]),
            header("sequencenumber", Form::Number, false, &[]),
            header("content-length", Form::Number, true, &[]),
            header("content-type", Form::ContentType, true, &[]),
        ],
        jpeg_media: "image/jpeg".to_string(),
        sof_markers: vec![0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd,
                          0xce, 0xcf],
        jpeg_standalone: vec![0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7],
        privacymask_none: "none".to_string(),
        privacymask_grid_prefix: "grid;".to_string(),
        privacymask_max_cells: 1 << 16,
        privacymask_root: "mask".to_string(),
        multipart_media: "multipart/related".to_string(),
        gbd_media: "application/x-genericbytedata-octet-stream".to_string(),
        part_headers: vec![header("content-length", Form::Number, true, &[]),
                           header("content-type", Form::ContentType, true, &[])],
        part_media: strings(&["application/x-genericbytedata-octet-stream", "image/jpeg"]),
        max_parts: 4096,
        gbd: GbdTables {
            video: 0x10,
            multi: 0xfef0,
            data_types: vec![(0x10, "video stream packet".into()), (0x20, "audio packet".into()),
                             (0x30, "metadata packet".into()), (0xfef0, "multi packet".into())],
            video_block_codecs: (1, 15),
            codecs: vec![(1, "JPEG".into()), (0x0a, "H.264".into())],
            max_packets: 256,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOTO: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodcall>\n  \
        <requestid>8</requestid>\n  <methodname>goto</methodname>\n  \
        <time>1700421524540</time>\n  <compressionrate>30</compressionrate>\n  \
        <keyframesonly>no</keyframesonly>\n</methodcall>\r\n\r\n";
    const LIVEPACKAGE: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<livepackage>\n  \
        <status>\n    <statustime>1700432000035</statustime>\n    \
        <statusitem id=\"1\" value=\"1\" description=\"Camera live feed started\"/>\n    \
        <statusitem id=\"100\" value=\"0\"/>\n  </status>\n</livepackage>\r\n\r\n";
    const ALARMS: &[u8] = b"<methodresponse><requestid>2</requestid>\
        <methodname>alarms</methodname>\
        <dblimit startTime=\"1700421200000\" endTime=\"1700422159500\"/><alarms>\
        <alarm startTime=\"1700421200000\" alarmTime=\"1700421200500\" \
        endTime=\"1700421203250\" numImages=\"14\"/>\
        <alarm startTime=\"1700421200000\" alarmTime=\"1700421200500\" \
        endTime=\"1700421203250\" numImages=\"0\"/></alarms></methodresponse>";

    /// A minimal JPEG: SOI, a 17-byte SOF0 of `width` x `height`, EOI.
    fn image(width: u16, height: u16, head: &str) -> Vec<u8> {
        let mut body = vec![0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08];
        body.extend_from_slice(&height.to_be_bytes());
        body.extend_from_slice(&width.to_be_bytes());
        body.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9]);
        let mut out = format!("ImageResponse\r\n{head}Content-length: {}\r\n\
                               Content-type: image/jpeg\r\n\r\n", body.len()).into_bytes();
        out.extend_from_slice(&body);
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    const HEAD: &str = "RequestId: 5\r\nRestriction: none\r\nPrev: 1700421200000\r\n\
                        Current: 1700421200250\r\nNext: 1700421200500\r\n";

    fn answer(data: &[u8]) -> Option<Lean> {
        dissect(data, &excerpt_tables())
    }

    fn keys(lean: &Lean) -> Vec<&str> {
        lean.attrs.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn a_goto_request_is_answered_as_the_reference_records_it() {
        let lean = answer(GOTO).expect("answered");
        assert_eq!(lean.kind, "request");
        assert_eq!(lean.info, "goto request id=8");
        assert_eq!(lean.txn, Some(8));
        assert!(!lean.is_response);
        assert_eq!(lean.method.as_deref(), Some("goto"));
        assert_eq!(keys(&lean), ["requestid", "methodname", "content_length", "body_kind",
                                 "parts", "answered_by"]);
        assert_eq!(lean.attrs[5].1, Value::Str("image".into()));
    }

    #[test]
    fn a_livepackage_lists_its_items_and_dates_its_statustime() {
        let lean = answer(LIVEPACKAGE).expect("answered");
        assert_eq!(lean.info, "livepackage statustime=2023-11-19T22:13:20.035Z 2 items");
        assert_eq!(lean.attrs[6].1, Value::Items(vec![("1".into(), "1".into()),
                                                      ("100".into(), "0".into())]));
    }

    #[test]
    fn an_alarms_response_counts_its_alarms() {
        let lean = answer(ALARMS).expect("answered");
        assert_eq!(lean.info, "alarms response id=2 2 alarms");
        assert_eq!(keys(&lean).last(), Some(&"alarms"));
    }

    #[test]
    fn live_requests_name_their_variant() {
        let start = b"<methodcall><requestid>1</requestid><methodname>live</methodname>\
            <attributes framerate=\"full\" motiononly=\"True\"/></methodcall>";
        let lean = answer(start).expect("answered");
        assert_eq!(lean.attrs[5..], [("answered_by", Value::Str("stream".into())),
                                     ("adaptive_only", Value::Bool(false)),
                                     ("variant", Value::Str("start live feed".into()))]);
        let change = b"<methodcall><requestid>1</requestid><methodname>live</methodname>\
            <adaptivestreaming><maxresolution/></adaptivestreaming></methodcall>";
        let lean = answer(change).expect("answered");
        assert_eq!(lean.info, "live request id=1 (adaptive streaming only)");
        assert_eq!(lean.attrs[5].1, Value::Str("none".into()));
        let both = b"<methodcall><requestid>1</requestid><methodname>live</methodname>\
            <adaptivestreaming><maxresolution/><disabled/></adaptivestreaming></methodcall>";
        assert_eq!(answer(both), None); // one option only
    }

    #[test]
    fn connect_responses_follow_the_errorreason_check() {
        let yes = b"<methodresponse><requestid>1</requestid><methodname>connect</methodname>\
            <connected>Yes</connected><camera x=\"\"><a>b</a></camera></methodresponse>";
        assert_eq!(answer(yes), None); // an attribute on <camera>: unknown
        let yes = b"<methodresponse><requestid>1</requestid><methodname>connect</methodname>\
            <connected>Yes</connected><camera><a q=\"1\">b</a>c</camera></methodresponse>";
        let lean = answer(yes).expect("answered");
        assert_eq!(lean.info, "connect response id=1 connected=Yes");
        assert_eq!(lean.attrs.last(), Some(&("connected", Value::Bool(true))));
        let refused = b"<methodresponse><requestid>1</requestid><methodname>connect\
            </methodname><connected>no</connected><errorreason>busy</errorreason>\
            </methodresponse>";
        assert!(answer(refused).is_some());
        for bad in [&b"<connected>no</connected>"[..],
                    b"<connected>yes</connected><errorreason>Success</errorreason>"] {
            let mut doc = b"<methodresponse><requestid>1</requestid>\
                <methodname>connect</methodname>".to_vec();
            doc.extend_from_slice(bad);
            doc.extend_from_slice(b"</methodresponse>");
            assert_eq!(answer(&doc), None);
        }
    }

    const CONNECT: &str = "<methodcall><requestid>1</requestid><methodname>connect\
        </methodname><username>u</username><password>dummy</password>\
        <cameraid>0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0</cameraid><connectparam>\
        id=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0&amp;connectiontoken=t0k</connectparam>\
        </methodcall>";

    #[test]
    fn a_connect_request_holding_a_password_is_answered_with_its_camera() {
        let lean = answer(CONNECT.as_bytes()).expect("answered");
        assert_eq!(lean.info, "connect request id=1");
        assert_eq!(keys(&lean)[5..], ["connectparam_id", "answered_by"]);
        assert_eq!(lean.attrs[5].1, Value::Str("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into()));
        let braced = CONNECT.replace("id=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                                     " ID = {0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}&amp;&amp;");
        let lean = answer(braced.as_bytes()).expect("answered");
        assert_eq!(lean.attrs[5].1, Value::Str("{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}".into()));
    }

    #[test]
    fn a_connect_request_the_reference_would_report_or_scrub_is_declined() {
        for (old, new) in [
            ("&amp;connectiontoken=t0k", ""),                       // no token
            ("id=0f1e", "streamid=0f1e"),                           // no id
            ("-a5b4c3d2e1f0&amp;", "-a5b4c3d2e1f&amp;"),            // not a GUID
            ("&amp;connectiontoken=t0k", "&amp;connectiontoken=t&amp;other=1"), // unknown key
            ("id=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0&amp;connectiontoken=t0k",
             "connectiontoken=t0k&amp;id=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), // order
            ("=t0k", "=t0k&amp;connectiontoken=t"),                 // repeated
            ("<cameraid>0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0</cameraid>", ""), // shape
            ("<password>dummy</password>", "<password>dummy<x/></password>"),
            ("<password>dummy</password>", "<password a=\"1\">dummy</password>"),
            ("<username>u</username>", "<username>token=1</username>"),
            ("<methodcall>", "<methodcall><mytoken>1</mytoken>"),
            ("<connectparam>", "<connectparam a=\"b\">"),
            ("t0k</connectparam>", "t0k<x/></connectparam>"),
            ("=t0k", "=t&#48;k"),
            ("=t0k", "=t&nbsp;k"),
            ("</methodcall>", "<connectparam>x</connectparam></methodcall>"),
        ] {
            let changed = CONNECT.replacen(old, new, 1);
            assert_ne!(changed, CONNECT, "{old}");
            if new == "<username>token=1</username>" {
                // Text of an element whose value the record never shows: answered.
                assert!(answer(changed.as_bytes()).is_some(), "{new}");
            } else {
                assert_eq!(answer(changed.as_bytes()), None, "{new}");
            }
        }
    }

    #[test]
    fn predefined_entities_are_read_and_character_references_declined() {
        assert!(entities_predefined(b"a &amp; b &lt;&gt;&quot;&apos;"));
        assert!(!entities_predefined(b"a & b"));
        assert!(!entities_predefined(b"&#38;"));
        assert!(!entities_predefined(b"&amp"));
        assert_eq!(unescape("x&amp;lt;&gt;"), "x&lt;>");
        assert_eq!(unescape("&lt;&gt;&amp;&quot;&apos;"), "<>&\"'");
        let text = std::str::from_utf8(GOTO).unwrap().replace(">30<", "> 30&amp; <");
        assert_eq!(answer(text.as_bytes()), None); // "30&" is not a number
    }

    #[test]
    fn guids_are_read_as_the_reference_reads_them() {
        for good in ["0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}",
                     "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}"] {
            assert!(is_guid(good), "{good}");
        }
        for bad in ["", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f", "{{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}",
                    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0-", "0f1e2d3c4b5a-6978-8796-a5b4c3d2e1f0",
                    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1g0"] {
            assert!(!is_guid(bad), "{bad}");
        }
    }

    #[test]
    fn an_image_response_with_a_jpeg_is_answered() {
        let lean = answer(&image(160, 120, HEAD)).expect("answered");
        assert_eq!(lean.info, "ImageResponse id=5 image/jpeg 160x120 23 B");
        assert_eq!(keys(&lean), ["requestid", "methodname", "content_length", "body_kind",
                                 "parts", "content_type", "width", "height", "body_size"]);
        let masked = format!("{HEAD}PrivacyMask: grid;2x1;10\r\n");
        let lean = answer(&image(160, 120, &masked)).expect("answered");
        assert_eq!(lean.attrs[6], ("privacymask", Value::Str("grid".into())));
        for bad in ["PrivacyMask: grid;2x2;10\r\n", "PrivacyMask: grid;2x1;12\r\n",
                    "X-Other: 1\r\n", "Prev: 0\r\n", "RequestId: 6\r\n"] {
            assert_eq!(answer(&image(160, 120, &format!("{HEAD}{bad}"))), None, "{bad}");
        }
        assert_eq!(answer(&image(160, 0, HEAD)), None); // height from a DNL marker
    }

    /// The standard base64 of `data`, padded (what the simulator's encoder writes).
    fn b64(data: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                out.push(if i <= chunk.len() {
                    char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize])
                } else {
                    '='
                });
            }
        }
        out
    }

    /// The mask of the sessions capture: one method, a 4x3 grid, two rows.
    const MASK: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<mask>\n  <methods>\n    \
        <solid value=\"1\" removable=\"false\">\n      <color>\n        <red>255</red>\n        \
        <green>0</green>\n        <blue>0</blue>\n      </color>\n    </solid>\n  </methods>\n  \
        <grid size=\"4x3\">\n    <row index=\"1\" values=\"01010000\"/>\n    \
        <row index=\"2\" values=\"01000000\"/>\n  </grid>\n</mask>";

    fn mask_kind(document: &str) -> Option<&'static str> {
        privacy_mask(&b64(document.as_bytes()), &excerpt_tables())
    }

    #[test]
    fn base64_is_read_in_its_canonical_encoding_only() {
        for text in ["", "a", "ab", "abc", "abcd", "\u{0}\u{ff}<mask/>"] {
            assert_eq!(base64_canonical(b64(text.as_bytes()).as_bytes()).as_deref(),
                       Some(text.as_bytes()), "{text:?}");
        }
        // Python takes some of these too (whitespace, surplus `=`, stray bits): declined.
        for bad in ["QQ=", "QQ", "QR==", "QUI=x", "QUJ=", "QUJD=", "QUJD====", "Q===", "====",
                    " QUJD", "QU JD", "QUJD\n", "QU-D", "QU_D", "QUJ\u{e9}", "QQ==QQ=="] {
            assert_eq!(base64_canonical(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn mask_numbers_are_short_ascii_decimals() {
        assert_eq!(decimal("0"), Some(0));
        assert_eq!(decimal("007"), Some(7));
        assert_eq!(decimal("99999999"), Some(99_999_999));
        for bad in ["", " 1", "1 ", "+1", "-1", "1.0", "0x1", "1_0", "\u{661}", "\u{b2}",
                    "000000001"] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_xml_privacy_mask_is_answered() {
        assert_eq!(mask_kind(MASK), Some("xml"));
        let masked = format!("{HEAD}PrivacyMask: {}\r\n", b64(MASK.as_bytes()));
        let lean = answer(&image(160, 120, &masked)).expect("answered");
        assert_eq!(lean.attrs[6], ("privacymask", Value::Str("xml".into())));
        let methods = "<methods><a value=\"0\"/><b value=\"255\" removable=\"true\"/>\
                       <c value=\"007\"/></methods>";
        for good in [
            "<mask><grid size=\"1x1\"/></mask>".to_string(),
            format!("<mask>{methods}<grid size=\"3x2\"><row index=\"0\" values=\"ff0700\"/>\
                     <row index=\"2\" values=\"FF07Ff\"/><row index=\"02\" values=\"000000\"/>\
                     </grid></mask>"),
            // Two <methods>, other children of the root, a first <grid> the reference
            // never looks at: only the last one counts.
            format!("<mask><grid size=\"0x0\"><x/></grid>{methods}<note>n</note>\
                     <methods><d value=\"7\"/></methods><grid size=\"256x256\"/></mask>"),
            format!("\n <mask>{methods}<grid size=\"0001x2\"></grid></mask>\r\n"),
        ] {
            assert_eq!(mask_kind(&good), Some("xml"), "{good}");
        }
    }

    #[test]
    fn xml_privacy_masks_the_reference_finds_fault_with_are_declined() {
        assert!(MASK.contains("<?xml"));
        for (old, new) in [
            ("<mask>", "<mask2>"), ("</mask>", "</mask2>"),                  // not a mask
            ("<mask>", "<Mask>"), ("</mask>", "</Mask>"),
            (" value=\"1\"", ""),                                              // no value
            ("\"1\" removable", "\"256\" removable"),                           // not a byte
            ("\"1\" removable", "\"\" removable"), ("\"1\" removable", "\" 1\" removable"),
            ("\"1\" removable", "\"-1\" removable"), ("\"1\" removable", "\"1.0\" removable"),
            ("\"false\"", "\"False\""), ("\"false\"", "\"no\""),             // removable
            ("</solid>", "</solid><other value=\"1\"/>"),                     // repeated value
            ("</methods>", "</methods><methods><s value=\"1\"/></methods>"),
            ("4x3", "4X3"), ("4x3", "0x3"), ("4x3", "4x0"), ("4x3", "4x"), ("4x3", "4x3x1"),
            ("4x3", "12345x1"), ("4x3", "300x300"), ("4x3", " 4x3"),          // sizes
            (" size=\"4x3\"", ""), ("<grid", "<grids"),                        // no grid
            ("\"01010000\"", "\"0101000\""), ("\"01010000\"", "\"0101000000\""), // cells
            ("\"01010000\"", "\"0101000g\""), ("\"01010000\"", "\"01 10000\""),
            ("\"01010000\"", "\"02010000\""),                                  // unknown method
            ("index=\"2\"", "index=\"1\""), ("index=\"2\"", "index=\"4\""),   // indexes
            ("index=\"2\"", "index=\"-1\""), ("index=\"2\"", "index=\"\""),
            ("index=\"2\" ", ""), (" values=\"01000000\"", ""),
            ("<row index=\"1\"", "<rows index=\"1\""),                        // not a row
            ("</grid>", "<x/></grid>"),
            // Outside the subset: each a finding of the reference or a document read
            // another way (a DTD, a comment, a reference, a namespace, non-ASCII).
            ("<mask>", "<!DOCTYPE mask [<!ENTITY e \"1\">]><mask>"),
            ("<mask>", "<!-- c --><mask>"), ("<red>255", "<red>&#50;55"),
            ("<mask>", "<mask xmlns=\"urn:x\">"), ("\"1\" removable", "\"\u{661}\" removable"),
            ("<red>", "<red>\u{e9}"), ("</mask>", "</mask><mask/>"), ("</mask>", ""),
            ("encoding=\"utf-8\"", "encoding=\"hex\""), ("<?xml", " <?xml"),
        ] {
            let changed = MASK.replacen(old, new, 1);
            assert_ne!(changed, MASK, "{old}");
            assert_eq!(mask_kind(&changed), None, "{old} -> {new}");
        }
        // Nested past the depth cap (the reference stops there and says so).
        let deep = format!("<mask>{}{}<grid size=\"1x1\"/></mask>", "<a>".repeat(32), "</a>".repeat(32));
        assert_eq!(mask_kind(&deep), None);
        let shallow = deep.replacen("<a>", "", 1).replacen("</a>", "", 1);
        assert_eq!(mask_kind(&shallow), Some("xml"));
        // Whitespace in the header value: Python removes it first; declined here.
        let spaced = b64(MASK.as_bytes()).replacen('A', "A ", 1);
        assert_eq!(privacy_mask(&spaced, &excerpt_tables()), None);
    }

    #[test]
    fn no_mask_document_panics() {
        let t = excerpt_tables();
        let mut rng = crate::testrand::XorShift::new(0x0DDB_A11C_AB1E_5EED);
        for _ in 0..5000 {
            let mut data = MASK.as_bytes().to_vec();
            rng.mutate(&mut data);
            let _ = privacy_mask(&b64(&data), &t);
        }
    }

    #[test]
    fn documents_outside_the_subset_are_declined() {
        let text = std::str::from_utf8(GOTO).unwrap();
        for (old, new) in [("30", "3&amp;0"), ("30", "<!-- c -->30"), ("30", "<![CDATA[30]]>"),
                           ("goto", "goto\r"), ("<time>", "<time >"), ("no", "n\u{e9}"),
                           ("</methodcall>", "</methodcall><x/>"), ("<time>", "<a:time>"),
                           ("UTF-8", "ISO-8859-1"), ("30", "3>0"), ("30", "3\u{1}0"),
                           ("<methodcall>", "<methodcall xmlns=\"a\">"),
                           ("</time>", "</Time>"), ("8", "password")] {
            let changed = text.replacen(old, new, 1);
            if old == "<time>" && new == "<time >" {
                assert!(answer(changed.as_bytes()).is_some()); // blanks in a tag are fine
            } else {
                assert_eq!(answer(changed.as_bytes()), None, "{new}");
            }
        }
    }

    fn jpeg_bytes(width: u16, height: u16) -> Vec<u8> {
        let mut body = vec![0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08];
        body.extend_from_slice(&height.to_be_bytes());
        body.extend_from_slice(&width.to_be_bytes());
        body.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9]);
        body
    }

    /// A generic byte data video stream packet around `payload`.
    fn video_packet(payload: &[u8], codec: u16, flags: u16) -> Vec<u8> {
        let mut p = vec![0x00, 0x10];
        p.extend_from_slice(&(32 + payload.len() as u32).to_be_bytes());
        p.extend_from_slice(&codec.to_be_bytes());
        p.extend_from_slice(&[0, 7]);
        p.extend_from_slice(&flags.to_be_bytes());
        p.extend_from_slice(&[0; 20]);
        p.extend_from_slice(payload);
        p
    }

    const GBD: &str = "application/x-genericbytedata-octet-stream";

    fn multipart(parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = format!("ImageResponse\r\n{HEAD}Content-type: multipart/related; \
                               boundary=\"frontier\"\r\n\r\n").into_bytes();
        for (media, body) in parts {
            out.extend_from_slice(format!("--frontier\r\nContent-length: {}\r\n\
                                           Content-type: {media}\r\n\r\n", body.len()).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--frontier--\r\n\r\n");
        out
    }

    #[test]
    fn a_multipart_answer_lists_its_parts_and_packets() {
        let jpeg = jpeg_bytes(160, 120);
        let data = multipart(&[(GBD, video_packet(&jpeg, 1, 1)), (GBD, video_packet(b"xyz", 0x0a, 0)),
                               ("image/jpeg", jpeg_bytes(8, 8))]);
        let lean = answer(&data).expect("answered");
        let size = data.len() - data.windows(4).position(|w| w == BLANK_LINE).unwrap() - 8;
        assert_eq!(lean.info, format!("ImageResponse id=5 multipart/related 3 parts {size} B"));
        assert_eq!(keys(&lean), ["requestid", "methodname", "content_length", "body_kind", "parts",
                                 "content_type", "gbd_packets", "codec", "keyframe", "width",
                                 "height", "part_kinds", "body_size"]);
        let Value::Packets(packets) = &lean.attrs[6].1 else { panic!("{:?}", lean.attrs[6]) };
        assert_eq!(packets.len(), 2);
        assert_eq!((packets[0].codec.as_str(), packets[0].keyframe, packets[0].payload_length),
                   ("JPEG", true, jpeg.len() as i64));
        assert_eq!((packets[1].codec.as_str(), packets[1].keyframe), ("H.264", false));
        assert_eq!(lean.attrs[9].1, Value::Int(160)); // the first image's, as setdefault
        assert_eq!(lean.attrs[11].1, Value::Strs(vec!["genericbytedata".into(), "jpeg".into()]));
        assert_eq!(lean.attrs[3].1, Value::Str("multipart".into()));
    }

    #[test]
    fn a_multipart_answer_the_reference_reports_is_declined() {
        let good = multipart(&[(GBD, video_packet(&jpeg_bytes(4, 4), 1, 1))]);
        assert!(answer(&good).is_some());
        let text = String::from_utf8_lossy(&good).into_owned();
        for (old, new) in [("Content-length: ", "Content-length: 1"), ("--frontier--", "--frontier"),
                           ("Content-type: application", "X-Other: 1\r\nContent-type: application"),
                           ("\"frontier\"", "\"\""), ("--frontier\r\nContent", "x--frontier\r\nContent"),
                           ("--frontier--\r\n", "--frontier--x\r\n"),
                           ("Content-type: app", "Content-type: text/plain\r\nContent-typ: app")] {
            assert!(text.contains(old), "{old}");
            let changed = text.replacen(old, new, 1);
            assert_eq!(answer(&changed.into_bytes()), None, "{new}");
        }
        // Image bytes labelled as generic byte data are an image; other bytes labelled
        // image/jpeg are a finding.
        let lean = answer(&multipart(&[(GBD, jpeg_bytes(4, 4))])).expect("answered");
        assert_eq!(lean.attrs.last().map(|(k, _)| *k), Some("body_size"));
        assert!(lean.attrs.iter().any(|(k, v)| *k == "part_kinds" && *v == Value::Strs(vec!["jpeg".into()])));
        assert_eq!(answer(&multipart(&[("image/jpeg", video_packet(b"x", 1, 1))])), None);
    }

    #[test]
    fn generic_byte_data_is_walked_as_the_reference_walks_it() {
        let g = excerpt_tables().gbd;
        let walk = |data: &[u8]| {
            let mut out = Vec::new();
            gbd_walk(data, 0, data.len(), &g, &mut out).map(|()| {
                out.iter().map(|p| (p.layout.clone(), p.codec, p.keyframe, p.offset, p.length))
                    .collect::<Vec<_>>()
            })
        };
        let video = video_packet(b"abc", 0x0a, 1);
        assert_eq!(walk(&video), Some(vec![("video stream packet".into(), 0x0a, true, 32, 3)]));
        // A multi packet wraps packets; an unknown data type ends the walk.
        let mut multi = vec![0xfe, 0xf0];
        multi.extend_from_slice(&(16 + video.len() as u32).to_be_bytes());
        multi.extend_from_slice(&[0; 10]);
        multi.extend_from_slice(&video);
        let mut body = multi.clone();
        body.extend_from_slice(&[0x00, 0x99, 0, 0]);
        body.extend_from_slice(&video);
        assert_eq!(walk(&body), Some(vec![("video stream packet".into(), 0x0a, true, 48, 3)]));
        // A video block is the rest of the body, its payload where its header adds up.
        let mut block = vec![0x00, 0x01, 0x00, 36, 0, 0, 0, 0, 0, 0, 0, 2];
        block.extend_from_slice(&[0; 24]);
        block.extend_from_slice(b"zz");
        assert_eq!(walk(&block), Some(vec![("video block".into(), 1, true, 36, 2)]));
        block.push(0);
        assert_eq!(walk(&block), Some(vec![]));
        // Multi packets nested past the cap are declined, not walked.
        let mut nested = video.clone();
        for _ in 0..=MAX_GBD_DEPTH {
            let mut outer = vec![0xfe, 0xf0];
            outer.extend_from_slice(&(16 + nested.len() as u32).to_be_bytes());
            outer.extend_from_slice(&[0; 10]);
            outer.extend_from_slice(&nested);
            nested = outer;
        }
        assert_eq!(walk(&nested), None);
        assert_eq!(codec_name(0x0a, &g), "H.264");
        assert_eq!(codec_name(0xbeef, &g), "codec 0xBEEF");
    }

    #[test]
    fn media_types_are_split_as_the_reference_splits_them() {
        assert_eq!(media_type(" Multipart/Related ; Boundary = \"a b\"; x; boundary=c"),
                   ("multipart/related".to_string(),
                    vec![("boundary".to_string(), "a b".to_string()),
                         ("boundary".to_string(), "c".to_string())]));
    }

    #[test]
    fn values_follow_their_forms() {
        assert_eq!(number("+7", Some(0), None), Some(7));
        assert_eq!(number("-1", Some(0), None), None);
        assert_eq!(number("99999999999999999999", None, None), None);
        assert_eq!(number("", None, None), None);
        for good in ["1", "1.", ".5", "+1.5e-3", "2E10"] {
            assert!(is_float(good), "{good}");
        }
        for bad in ["", ".", "+", "1e", "1e1234", "1.5.", "e5", " 1"] {
            assert!(!is_float(bad), "{bad}");
        }
        assert_eq!(yesno("YES", false), Some(true));
        assert_eq!(yesno("true", false), None);
        assert_eq!(yesno("False", true), Some(false));
    }

    #[test]
    fn times_format_as_the_reference_does() {
        assert_eq!(format_ms(0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(951_782_400_123).unwrap(), "2000-02-29T00:00:00.123Z");
        assert_eq!(format_ms(4_102_444_800_000).unwrap(), "2100-01-01T00:00:00.000Z");
        assert_eq!(format_ms(1_700_432_000_035).unwrap(), "2023-11-19T22:13:20.035Z");
        assert_eq!(format_ms(-1), None);
    }

    #[test]
    fn a_raw_break_in_a_quoted_value_is_found() {
        assert!(raw_break_in_value(b"a = \"x\ny\""));
        assert!(raw_break_in_value(b"a='x\ty"));
        assert!(!raw_break_in_value(b"a=\"x\" \n b='y'"));
        assert!(!raw_break_in_value(b"a=x\n\"y\""));
    }

    /// The stable stand-in of the fuzz target: every truncation and thousands of random
    /// changes of the samples, none may panic.
    #[test]
    fn no_input_panics() {
        let t = excerpt_tables();
        let jpeg = jpeg_bytes(4, 4);
        let samples = [GOTO.to_vec(), LIVEPACKAGE.to_vec(), ALARMS.to_vec(), image(8, 8, HEAD),
                       CONNECT.as_bytes().to_vec(),
                       multipart(&[(GBD, video_packet(&jpeg, 1, 1)), ("image/jpeg", jpeg.clone())])];
        let mut rng = crate::testrand::XorShift::new(0x5DEE_CE66_D1CE_4E5B);
        for sample in &samples {
            for cut in 0..=sample.len() {
                let _ = dissect(&sample[..cut], &t);
            }
            for _ in 0..2000 {
                let mut data = sample.clone();
                rng.mutate(&mut data);
                let _ = dissect(&data, &t);
            }
        }
    }
}
