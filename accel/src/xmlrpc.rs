//! A deliberately narrow XML-RPC tokenizer for CVIPv2 bodies.
//!
//! It accepts only the plain subset of XML that conformant bodies use: an optional
//! `<?xml version="1.0"?>` declaration (UTF-8), elements written as `<name>`, `</name>`
//! and `<name/>` without attributes or namespaces, and text without entity or character
//! references, carriage returns or control characters. Everything else — entities,
//! DOCTYPE, comments, CDATA, processing instructions, other encodings, attributes, odd
//! blanks inside tags, mixed text beside elements, or any shape the Python decoder would
//! report a problem about — makes [`decode`] return `None`, and the caller takes the
//! reference path (lxml and `dissectors.cvip.xmlrpc`). So a `Some` answer is one the
//! reference path would give without a single problem; a `None` costs only the scan.
//!
//! Nothing here allocates in proportion to anything but the body, recursion is bounded
//! by the depth cap (itself bounded by [`MAX_DEPTH`]), and no input can panic.

/// libxml2 refuses deeper documents without `XML_PARSE_HUGE`; we never go near it.
pub const MAX_DEPTH: usize = 200;

/// The caps the reference path applies (`dissectors.cvip.xmlparse.Limits`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub size: usize,
    pub depth: usize,
    pub elements: usize,
}

/// Where an element's bytes are in the body: its start tag's `<`, where its content
/// starts and ends, and the end of its end tag (for `<x/>` the content is empty, at the
/// tag's end) — what the reference's tag pairing records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub inner_start: usize,
    pub inner_end: usize,
    pub end: usize,
}

impl Span {
    /// (offset, length) of the whole element.
    pub fn whole(&self) -> (usize, usize) {
        (self.start, self.end - self.start)
    }

    /// (offset, length) of its content.
    pub fn inner(&self) -> (usize, usize) {
        (self.inner_start, self.inner_end - self.inner_start)
    }
}

/// One XML-RPC value as the body spells it (texts are raw, not stripped), with the span
/// of the element the reference reads its offsets from.
#[derive(Debug, PartialEq)]
pub enum RValue<'a> {
    /// `<value>text</value>` without a typed element.
    Untyped(&'a str, Span),
    /// A scalar typed element: its tag and literal.
    Scalar(&'a str, &'a str, Span),
    /// Members in order: the raw text of `<name>`, its span, and the value.
    Struct(Vec<(&'a str, Span, RValue<'a>)>, Span),
    Array(Vec<RValue<'a>>, Span),
}

/// What the body says: mirrors `XmlRpcBody` of the Python decoder.
#[derive(Debug, PartialEq)]
pub struct Body<'a> {
    pub root: &'a str,
    /// Raw text of the first `<methodName>` (the caller strips it as Python does).
    pub method_name: Option<(&'a str, Span)>,
    pub params: Vec<RValue<'a>>,
    pub fault: Option<RValue<'a>>,
    /// AnalyticsData's `DataSourceGUID` / `DataTime`, raw text, in document order.
    pub extras: Vec<(&'a str, &'a str, Span)>,
}

/// Scalar element names the reference decoder reads without comment.
const SCALARS: [&str; 10] = [
    "int", "i4", "i8", "uint", "double", "boolean", "string", "dateTime.iso8601", "base64",
    "nil",
];

struct Node<'a> {
    tag: &'a str,
    first_child: u32,
    next_sibling: u32,
    /// The text of a leaf (empty for an element with children).
    text: &'a str,
    has_children: bool,
    span: Span,
}

const NONE: u32 = u32::MAX;

/// The element tree of a body in the accepted subset, or None.
struct Doc<'a> {
    nodes: Vec<Node<'a>>,
}

impl<'a> Doc<'a> {
    fn children(&self, node: u32) -> Children<'_, 'a> {
        Children { doc: self, next: self.nodes[node as usize].first_child }
    }

    fn node(&self, index: u32) -> &Node<'a> {
        &self.nodes[index as usize]
    }
}

struct Children<'d, 'a> {
    doc: &'d Doc<'a>,
    next: u32,
}

impl Iterator for Children<'_, '_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.next == NONE {
            return None;
        }
        let current = self.next;
        self.next = self.doc.nodes[current as usize].next_sibling;
        Some(current)
    }
}

const DECLARATIONS: [&[u8]; 5] = [
    b"<?xml version=\"1.0\"?>",
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
    b"<?xml version=\"1.0\" encoding=\"utf-8\"?>",
    b"<?xml version='1.0'?>",
    b"<?xml version='1.0' encoding='UTF-8'?>",
];

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\n'
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

/// Text the subset accepts between tags: no markup characters, references, carriage
/// returns (XML normalises them), control characters, `]]>`, or U+FFFE/U+FFFF.
fn plain_text(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        match b {
            b'&' | b'\r' => return false,
            b'\t' | b'\n' => {}
            0..=0x1f => return false,
            b']' if text[i..].starts_with(b"]]>") => return false,
            0xef if text[i..].starts_with(b"\xef\xbf\xbe") || text[i..].starts_with(b"\xef\xbf\xbf") => {
                return false
            }
            _ => {}
        }
        i += 1;
    }
    true
}

/// Parse a body of the accepted subset into its element tree.
fn parse<'a>(body: &'a [u8], limits: Limits) -> Option<Doc<'a>> {
    if body.len() > limits.size {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let bytes = text.as_bytes();
    let mut pos = 0;
    if bytes.starts_with(b"<?") {
        pos = DECLARATIONS.iter().find(|d| bytes.starts_with(d))?.len();
    }
    while pos < bytes.len() && is_blank(bytes[pos]) {
        pos += 1;
    }
    let max_depth = limits.depth.min(MAX_DEPTH);
    // About one element per 20 bytes in XML-RPC: sized once rather than grown.
    let mut nodes: Vec<Node<'a>> = Vec::with_capacity(bytes.len() / 20 + 4);
    // Open elements: (node index, index of its last child or NONE).
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut root_done = false;
    while pos < bytes.len() {
        let lt = match memchr::memchr(b'<', &bytes[pos..]) {
            Some(at) => pos + at,
            None => bytes.len(),
        };
        let run = &bytes[pos..lt];
        if !run.is_empty() {
            if stack.is_empty() {
                // Outside the root: only blanks.
                if !run.iter().all(|&b| is_blank(b)) {
                    return None;
                }
            } else {
                if !plain_text(run) {
                    return None;
                }
                let (top, last) = *stack.last()?;
                let node = &mut nodes[top as usize];
                if last != NONE {
                    // Text after a child: only blanks (mixed content falls back).
                    if !run.iter().all(|&b| is_blank(b)) {
                        return None;
                    }
                } else {
                    node.text = &text[pos..lt];
                }
            }
        }
        if lt >= bytes.len() {
            break;
        }
        pos = lt + 1;
        if pos >= bytes.len() {
            return None;
        }
        if bytes[pos] == b'/' {
            let start = pos + 1;
            let mut end = start;
            while end < bytes.len() && is_name_byte(bytes[end]) {
                end += 1;
            }
            if end >= bytes.len() || bytes[end] != b'>' {
                return None;
            }
            let (top, _) = stack.pop()?;
            let node = &mut nodes[top as usize];
            if node.tag.as_bytes() != &bytes[start..end] {
                return None;
            }
            node.span.inner_end = lt;
            node.span.end = end + 1;
            pos = end + 1;
            if stack.is_empty() {
                root_done = true;
            }
            continue;
        }
        if root_done || !is_name_start(bytes[pos]) {
            return None; // a second root, or `<!`, `<?`, `< ` ...
        }
        let start = pos;
        let mut end = start;
        while end < bytes.len() && is_name_byte(bytes[end]) {
            end += 1;
        }
        let empty = if bytes[end..].starts_with(b">") {
            false
        } else if bytes[end..].starts_with(b"/>") {
            true
        } else {
            return None; // attributes, blanks in the tag, a namespace prefix, the end
        };
        if nodes.len() >= limits.elements || stack.len() >= max_depth {
            return None;
        }
        let index = nodes.len() as u32;
        let tag_end = end + if empty { 2 } else { 1 };
        nodes.push(Node {
            tag: &text[start..end],
            first_child: NONE,
            next_sibling: NONE,
            text: "",
            has_children: false,
            span: Span { start: lt, inner_start: tag_end, inner_end: tag_end, end: tag_end },
        });
        if let Some((parent, last)) = stack.last_mut() {
            if *last == NONE {
                let p = &mut nodes[*parent as usize];
                p.first_child = index;
                p.has_children = true;
                // Text before the first child must have been blank.
                if !p.text.bytes().all(is_blank) {
                    return None;
                }
                p.text = "";
            } else {
                nodes[*last as usize].next_sibling = index;
            }
            *last = index;
        }
        pos = tag_end;
        if !empty {
            stack.push((index, NONE));
        } else if stack.is_empty() {
            root_done = true;
        }
    }
    if !root_done || !stack.is_empty() {
        return None;
    }
    Some(Doc { nodes })
}

/// Decode a body into its XML-RPC content when the reference path would find nothing to
/// report; `None` sends the body down the reference path.
pub fn decode(body: &[u8], limits: Limits) -> Option<Body<'_>> {
    let doc = parse(body, limits)?;
    let root = doc.node(0);
    let tag = root.tag;
    if !matches!(tag, "methodCall" | "methodResponse" | "AnalyticsData") {
        return None;
    }
    let mut out = Body { root: tag, method_name: None, params: Vec::new(), fault: None,
                         extras: Vec::new() };
    let mut saw_params = false;
    for kid in doc.children(0) {
        let node = doc.node(kid);
        match node.tag {
            "methodName" => {
                if out.method_name.is_none() {
                    if node.has_children {
                        return None;
                    }
                    out.method_name = Some((node.text, node.span));
                }
            }
            "params" => {
                saw_params = true;
                for param in doc.children(kid) {
                    let p = doc.node(param);
                    if p.tag != "param" {
                        return None;
                    }
                    let mut values = doc.children(param);
                    let value = values.next()?;
                    if values.next().is_some() || doc.node(value).tag != "value" {
                        return None;
                    }
                    out.params.push(value_of(&doc, value, 0)?);
                }
            }
            "fault" => {
                let value = doc.children(kid).next()?;
                out.fault = Some(value_of(&doc, value, 0)?);
            }
            "DataSourceGUID" | "DataTime" if tag == "AnalyticsData" => {
                if node.has_children {
                    return None;
                }
                out.extras.push((node.tag, node.text, node.span));
            }
            _ => return None,
        }
    }
    if tag == "methodCall" && out.method_name.is_none() {
        return None;
    }
    if tag == "methodResponse" && out.fault.is_some() && !out.params.is_empty() {
        return None;
    }
    let _ = saw_params;
    Some(out)
}

fn value_of<'a>(doc: &Doc<'a>, index: u32, depth: usize) -> Option<RValue<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let node = doc.node(index);
    if node.tag != "value" {
        return typed(doc, index, depth);
    }
    let mut kids = doc.children(index);
    match kids.next() {
        None => Some(RValue::Untyped(node.text, node.span)),
        Some(first) => {
            if kids.next().is_some() {
                return None;
            }
            typed(doc, first, depth)
        }
    }
}

fn typed<'a>(doc: &Doc<'a>, index: u32, depth: usize) -> Option<RValue<'a>> {
    let node = doc.node(index);
    match node.tag {
        "struct" => {
            let mut members = Vec::new();
            for member in doc.children(index) {
                if doc.node(member).tag != "member" {
                    return None;
                }
                let mut kids = doc.children(member);
                let (name, value) = (kids.next()?, kids.next()?);
                if kids.next().is_some() {
                    return None;
                }
                let (name_node, value_node) = (doc.node(name), doc.node(value));
                if name_node.tag != "name" || name_node.has_children || value_node.tag != "value"
                {
                    return None;
                }
                members.push((name_node.text, name_node.span, value_of(doc, value, depth + 1)?));
            }
            Some(RValue::Struct(members, node.span))
        }
        "array" => {
            let mut items = Vec::new();
            for data in doc.children(index) {
                if doc.node(data).tag != "data" {
                    return None;
                }
                for item in doc.children(data) {
                    if doc.node(item).tag != "value" {
                        return None;
                    }
                    items.push(value_of(doc, item, depth + 1)?);
                }
            }
            Some(RValue::Array(items, node.span))
        }
        tag if SCALARS.contains(&tag) && !node.has_children => {
            Some(RValue::Scalar(tag, node.text, node.span))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { size: 8 << 20, depth: 64, elements: 50_000 };

    fn ok(body: &str) -> Body<'_> {
        decode(body.as_bytes(), LIMITS).expect("accepted")
    }

    /// A value without its spans, for comparisons.
    fn shape(v: &RValue<'_>) -> String {
        match v {
            RValue::Untyped(t, _) => format!("{t:?}"),
            RValue::Scalar(tag, t, _) => format!("{tag}:{t:?}"),
            RValue::Struct(m, _) => format!(
                "{{{}}}",
                m.iter().map(|(n, _, v)| format!("{n}={}", shape(v))).collect::<Vec<_>>().join(",")
            ),
            RValue::Array(items, _) => {
                format!("[{}]", items.iter().map(shape).collect::<Vec<_>>().join(","))
            }
        }
    }

    fn shapes(values: &[RValue<'_>]) -> Vec<String> {
        values.iter().map(shape).collect()
    }

    fn refused(body: &str) {
        assert!(decode(body.as_bytes(), LIMITS).is_none(), "{body}");
    }

    fn body_text() -> String {
        "<?xml version=\"1.0\"?>\n<methodCall><methodName> cviStream.list </methodName>\
            <params><param><value><struct><member><name>id</name><value><int>5</int></value>\
            </member><member><name>ids</name><value><array><data><value>a</value>\
            <value><string>b</string></value></data></array></value></member></struct>\
            </value></param></params></methodCall>\n".to_string()
    }

    #[test]
    fn method_call_with_struct_and_array() {
        let text = body_text();
        let body = ok(&text);
        assert_eq!(body.root, "methodCall");
        let (name, span) = body.method_name.unwrap();
        assert_eq!(name, " cviStream.list ");
        let at = text.find("<methodName>").unwrap();
        assert_eq!((span.whole(), span.inner()), ((at, 41), (at + 12, 16)));
        assert_eq!(shapes(&body.params), vec!["{id=int:\"5\",ids=[\"a\",string:\"b\"]}"]);
        let RValue::Struct(members, whole) = &body.params[0] else { panic!() };
        assert!(text[whole.start..whole.end].starts_with("<struct>"));
        assert!(text[whole.start..whole.end].ends_with("</struct>"));
        assert_eq!(&text[members[0].1.inner_start..members[0].1.inner_end], "id");
    }

    #[test]
    fn empty_elements_and_blank_layout() {
        let body = ok("<methodResponse>\n  <params>\n    <param><value/></param>\n\
            <param><value><nil/></value></param>\n  </params>\n</methodResponse>");
        assert_eq!(shapes(&body.params), vec!["\"\"", "nil:\"\""]);
        let RValue::Untyped(_, span) = &body.params[0] else { panic!() };
        assert_eq!(span.inner().1, 0); // <value/>: empty content at the tag's end
        assert_eq!(span.inner_start, span.end);
        assert!(body.method_name.is_none());
    }

    #[test]
    fn fault_and_analytics() {
        let body = ok("<methodResponse><fault><value><struct><member><name>faultCode</name>\
            <value><int>4</int></value></member></struct></value></fault></methodResponse>");
        assert!(body.fault.is_some());
        let body = ok("<AnalyticsData><DataSourceGUID> g </DataSourceGUID><DataTime>t\
            </DataTime></AnalyticsData>");
        let extras: Vec<_> = body.extras.iter().map(|(tag, text, _)| (*tag, *text)).collect();
        assert_eq!(extras, vec![("DataSourceGUID", " g "), ("DataTime", "t")]);
    }

    #[test]
    fn unusual_xml_is_refused() {
        for body in [
            "<methodCall><methodName>a&amp;b</methodName></methodCall>",
            "<!DOCTYPE x><methodCall><methodName>a</methodName></methodCall>",
            "<methodCall><!-- c --><methodName>a</methodName></methodCall>",
            "<methodCall><methodName><![CDATA[a]]></methodName></methodCall>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>a</methodName></methodCall>",
            "<methodCall a=\"1\"><methodName>a</methodName></methodCall>",
            "<methodCall ><methodName>a</methodName></methodCall>",
            "<methodCall><methodName>a</methodName ></methodCall>",
            "<x:methodCall><methodName>a</methodName></x:methodCall>",
            "<methodCall><methodName>a\r\n</methodName></methodCall>",
            "<methodCall><methodName>a</methodName></methodCall><methodCall/>",
            "<methodCall><methodName>a</methodName></methodCall>x",
            "<methodCall><methodName>a</methodName>",
            " <?xml version=\"1.0\"?><methodCall><methodName>a</methodName></methodCall>",
            "\u{feff}<methodCall><methodName>a</methodName></methodCall>",
        ] {
            refused(body);
        }
    }

    #[test]
    fn shapes_the_reference_reports_are_refused() {
        for body in [
            "<methodCall></methodCall>",
            "<methodCall><methodName>a</methodName><bogus/></methodCall>",
            "<methodCall><methodName>a</methodName><params><param/></params></methodCall>",
            "<methodCall><methodName>a</methodName><params><param><int>1</int></param></params></methodCall>",
            "<methodCall><methodName>a</methodName><params><param><value><iint>1</iint></value></param></params></methodCall>",
            "<methodCall><methodName>a</methodName><params><param><value>x<int>1</int></value></param></params></methodCall>",
            "<methodCall><methodName>a</methodName><params><param><value><array><value/></array></value></param></params></methodCall>",
            "<methodCall><methodName>a</methodName><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodCall>",
            "<methodResponse><params><param><value/></param></params><fault><value/></fault></methodResponse>",
            "<xml><methodCall><methodName>a</methodName></methodCall></xml>",
        ] {
            refused(body);
        }
    }

    #[test]
    fn caps_refuse() {
        let deep = "<value>".repeat(70) + &"</value>".repeat(70);
        let body = format!("<methodResponse><params><param>{deep}</param></params></methodResponse>");
        refused(&body);
        let small = Limits { size: 10, ..LIMITS };
        assert!(decode(b"<methodCall><methodName>a</methodName></methodCall>", small).is_none());
        let few = Limits { elements: 1, ..LIMITS };
        assert!(decode(b"<methodCall><methodName>a</methodName></methodCall>", few).is_none());
    }

    /// A stable stand-in for the fuzz target: arbitrary and mutated bodies never panic.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let seed = b"<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params>\
            <param><value><struct><member><name>n</name><value><array><data><value><int>1\
            </int></value></data></array></value></member></struct></value></param></params>\
            </methodCall>";
        let mut rng = crate::testrand::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = || rng.next();
        for _ in 0..20_000 {
            let mut body = seed.to_vec();
            for _ in 0..(next() % 6) {
                let at = (next() as usize) % body.len().max(1);
                match next() % 3 {
                    0 => body[at] = next() as u8,
                    1 => {
                        body.remove(at);
                    }
                    _ => body.insert(at, b"<>/&\r \x00]"[(next() % 8) as usize]),
                }
            }
            let _ = decode(&body, LIMITS);
        }
    }
}
