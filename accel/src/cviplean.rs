//! The lean CVIP dissection of a conformant message, in one call.
//!
//! `dissectors.cvip.dissect` with the default options in lean mode (`tree=False`,
//! `attrs=False`) turns a message into a record of five scalars (kind, info, txn,
//! response flag, method) and a list of problems. Almost every message of real traffic
//! has none, and for those the Python path's work — header, XML-RPC decode, binding to
//! the catalogue, the conformance checks — only ends in "nothing to report".
//!
//! [`lean`] answers `Some(Lean)` only when that Python path would report no problem at
//! all and give exactly those scalars; anything it is not sure of, any problem it would
//! report, any shape not ported here, gives `None`, and the caller runs the Python path.
//! The predicates are the Python checks' conditions (not their messages: a problem is
//! never reported from here, only declined). Declined here, always:
//!
//! * pings, AnalyticsData, faults, a header in anything but the plain big-endian form;
//! * bytes that may hold a secret, or a parameter the catalogue names a secret, where
//!   the reference's scrub could change the summary (see [`scrub_keeps`]);
//! * any name or literal the Python code would read outside ASCII (Unicode case folding,
//!   whitespace and digits are Python's to decide), `<double>`, `<base64>`, `<nil>`;
//! * parameters bound `raw` to a catalogue entry.
//!
//! The catalogue is not restated here: [`Catalogue`] is built from the Python tables
//! (`dissectors/cvip/lean.py` hands them over as plain values, folded names included).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::jsonrow::push_int;
use crate::xmlrpc::{self, Limits, RValue};

const HEADER_SIZE: usize = 9;
const SIZE_CAP: u64 = 16 * 1024 * 1024;
const ACK_SPACE: i128 = 0x0100_0000;

/// What the lean record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lean {
    pub kind: &'static str,
    pub info: String,
    pub txn: u16,
    pub is_response: bool,
    pub method: Option<String>,
}

// ---- the catalogue ----------------------------------------------------------------------

/// One row of a request or response table (`FieldSpec`), names pre-folded by Python.
#[derive(Debug, Clone, Default)]
pub struct FieldSpec {
    pub key: String,
    pub types: Vec<String>,
    pub required: bool,
    pub enum_name: Option<String>,
    pub bits_name: Option<String>,
    pub range: Option<(i64, i64)>,
    pub magnitude: Option<(i64, i64)>,
    pub fmt: Option<String>,
    /// (folded name of the other field, value).
    pub zero_when: Option<(String, i64)>,
    /// The catalogue names this field a secret (`is_secret_name`).
    pub secret: bool,
}

/// `ExtraFields`: placeholder fields whose names a type id picks.
#[derive(Debug, Clone, Default)]
pub struct ExtraSpec {
    pub table: String,
    pub selector_key: String,
    pub placeholder_key: String,
    pub where_: String,
}

/// One catalogue method (`MethodSpec`); fields are indices into `CatalogueSpec.fields`.
#[derive(Debug, Clone, Default)]
pub struct MethodSpec {
    /// A generic `<Service>.<method>` entry (service `*`).
    pub generic: bool,
    pub request: Option<Vec<usize>>,
    pub response: Option<Vec<usize>>,
    pub response_list: bool,
    pub shape: String,
    pub response_shape: String,
    pub extra: Option<ExtraSpec>,
}

/// A service (`ServiceSpec`) with its property tables by number of instance parts
/// (`properties_of` for 0, 1 and 2 parts): folded property id → read-only.
#[derive(Debug, Clone, Default)]
pub struct ServiceSpec {
    /// The key `find_methods` looks its own entries up by (its folded name).
    pub key: String,
    pub is_system: bool,
    pub instances: usize,
    pub property_support: Option<bool>,
    pub function_support: Option<bool>,
    pub properties: [Option<Vec<(String, bool)>>; 3],
}

/// A property set's rows: type id → folded names.
pub type PropertyRows = Vec<(i64, Vec<String>)>;

/// Everything the checks read, as plain values (see `dissectors/cvip/lean.py`).
#[derive(Debug, Clone, Default)]
pub struct CatalogueSpec {
    pub fields: Vec<FieldSpec>,
    pub methods: Vec<MethodSpec>,
    pub services: Vec<ServiceSpec>,
    /// Folded base name (and the document's spellings) → service index.
    pub service_keys: Vec<(String, usize)>,
    /// (folded service name or "*", folded method name) → method indices in catalogue order.
    pub method_keys: Vec<((String, String), Vec<usize>)>,
    pub enums: Vec<(String, Vec<i64>)>,
    /// Bit set name → the OR of its bits.
    pub bit_sets: Vec<(String, i64)>,
    /// Ack code → name, of the §3.1 table and of cviEvent.ack's.
    pub ack_response: Vec<(i64, String)>,
    pub ack_event: Vec<(i64, String)>,
    /// The ack fields (`semantics.ACK_FIELDS`): ErrorCode's and AckReturnCode's.
    pub ack_field: usize,
    pub event_ack_field: usize,
    /// Property sets (`PROPERTY_SETS`): table → type id → folded names.
    pub property_sets: Vec<(String, PropertyRows)>,
    /// Entity properties whose values are codes: folded name → a field spec to check them.
    pub entity_codes: Vec<(String, usize)>,
    /// `SPELLING_VARIANTS` (folded → folded).
    pub variants: Vec<(String, String)>,
    pub event_method_key: String,
    pub property_methods: Vec<String>,
    pub limits: (usize, usize, usize),
    /// `CONNECTION_TYPE`: a ping's connection type code → its name.
    pub connection_types: Vec<(i64, String)>,
}

/// The catalogue indexed for lookups.
pub struct Catalogue {
    spec: CatalogueSpec,
    services: HashMap<String, usize>,
    /// service key (or `*`) → method key → candidates
    methods: HashMap<String, HashMap<String, Vec<usize>>>,
    enums: HashMap<String, HashSet<i64>>,
    bit_sets: HashMap<String, i64>,
    ack_response: HashMap<i64, String>,
    ack_event: HashMap<i64, String>,
    property_sets: HashMap<String, HashMap<i64, HashSet<String>>>,
    properties: Vec<[Option<HashMap<String, bool>>; 3]>,
    variants: HashMap<String, String>,
    connection_types: HashMap<u8, String>,
}

impl Catalogue {
    /// Index a spec; an error names the first reference that points nowhere.
    pub fn new(spec: CatalogueSpec) -> Result<Catalogue, String> {
        let n = spec.fields.len();
        let bad = |i: usize| if i < n { Ok(()) } else { Err(format!("field index {i}")) };
        for m in &spec.methods {
            for list in [&m.request, &m.response].into_iter().flatten() {
                list.iter().try_for_each(|&i| bad(i))?;
            }
        }
        bad(spec.ack_field)?;
        bad(spec.event_ack_field)?;
        spec.entity_codes.iter().try_for_each(|(_, i)| bad(*i))?;
        if spec.service_keys.iter().any(|(_, i)| *i >= spec.services.len())
            || spec.method_keys.iter().any(|(_, l)| l.iter().any(|&i| i >= spec.methods.len()))
        {
            return Err("service or method index out of range".into());
        }
        let enums: HashMap<_, _> = spec.enums.iter()
            .map(|(k, v)| (k.clone(), v.iter().copied().collect())).collect();
        let bit_sets: HashMap<_, _> = spec.bit_sets.iter().cloned().collect();
        for f in &spec.fields {
            if f.enum_name.as_ref().is_some_and(|e| !enums.contains_key(e))
                || f.bits_name.as_ref().is_some_and(|b| !bit_sets.contains_key(b))
            {
                return Err(format!("unknown enum or bit set in field {}", f.key));
            }
        }
        let property_sets = spec.property_sets.iter().map(|(table, rows)| {
            (table.clone(), rows.iter().map(|(id, names)| {
                (*id, names.iter().cloned().collect())
            }).collect())
        }).collect::<HashMap<_, _>>();
        for m in &spec.methods {
            if let Some(extra) = &m.extra {
                if !property_sets.contains_key(&extra.table) {
                    return Err(format!("unknown property set {}", extra.table));
                }
            }
        }
        let properties = spec.services.iter().map(|s| {
            s.properties.clone().map(|t| t.map(|rows| rows.into_iter().collect()))
        }).collect();
        Ok(Catalogue {
            services: spec.service_keys.iter().cloned().collect(),
            methods: spec.method_keys.iter().fold(HashMap::new(), |mut by_service, ((s, m), l)| {
                by_service.entry(s.clone()).or_insert_with(HashMap::new)
                    .insert(m.clone(), l.clone());
                by_service
            }),
            enums,
            bit_sets,
            ack_response: spec.ack_response.iter().cloned().collect(),
            ack_event: spec.ack_event.iter().cloned().collect(),
            property_sets,
            properties,
            variants: spec.variants.iter().cloned().collect(),
            connection_types: spec.connection_types.iter()
                .filter_map(|(code, name)| Some((u8::try_from(*code).ok()?, name.clone())))
                .collect(),
            spec,
        })
    }

    /// `tables.fold` for an ASCII name (case, then the document's spelling variants);
    /// None for anything else (look-alike letters and Unicode case are Python's).
    ///
    /// Borrowed wherever it can be (a name already in lower case, a spelling variant):
    /// every name of every message is folded, and a copy per name was a tenth of a lean
    /// dissection.
    fn fold<'s>(&'s self, name: &'s str) -> Option<Cow<'s, str>> {
        if !name.is_ascii() {
            return None;
        }
        let lower = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        Some(match self.variants.get(lower.as_ref()) {
            Some(variant) => Cow::Borrowed(variant.as_str()),
            None => lower,
        })
    }

    fn field(&self, index: usize) -> &FieldSpec {
        &self.spec.fields[index]
    }
}

// ---- values -----------------------------------------------------------------------------

/// A decoded XML-RPC value the Python readers accept without a problem.
#[derive(Debug)]
enum Val<'a> {
    Int(i128),
    Bool(bool),
    /// `<string>` or an untyped `<value>`: the literal as sent.
    Str(&'a str),
    DateTime,
    /// A typed element without a value, of this type class: `<nil/>`, or an empty
    /// `<int/>`... under a member named `valueType` (the listParameters idiom, which the
    /// Python decoder lets name a type without a problem).
    Empty(&'static str),
    /// Members: name (stripped, ASCII) and value.
    Struct(Vec<(&'a str, Val<'a>)>),
    Array(Vec<Val<'a>>),
}

impl Val<'_> {
    /// `Value.type_class`.
    fn class(&self) -> &'static str {
        match self {
            Val::Int(_) => "int",
            Val::Bool(_) => "boolean",
            Val::Str(_) => "string",
            Val::DateTime => "datetime",
            Val::Empty(class) => class,
            Val::Struct(_) => "struct",
            Val::Array(_) => "array",
        }
    }
}

fn blank(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\n'
}

/// Python's `str.strip()` of a literal the tokenizer let through, when it is ASCII (its
/// only whitespace is then blanks); None otherwise.
fn strip(text: &str) -> Option<&str> {
    text.is_ascii().then(|| text.trim_matches(blank))
}

/// An integer literal as `xmlrpc._int_reader(tag)` reads it, within its type's range.
fn read_int(tag: &str, text: &str) -> Option<i128> {
    let t = strip(text)?;
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i128 = t.parse().ok()?;
    let (low, high): (i128, i128) = match tag {
        "uint" => (0, u32::MAX.into()),
        "i8" => (i64::MIN.into(), i64::MAX.into()),
        _ => (i32::MIN.into(), i32::MAX.into()),
    };
    (low..=high).contains(&n).then_some(n)
}

/// `xmlrpc._ISO8601` fullmatch on the stripped literal.
fn iso8601(text: &str) -> bool {
    let Some(t) = strip(text) else { return false };
    let b = t.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize, n: usize| -> bool {
        let ok = b.len() >= *i + n && b[*i..*i + n].iter().all(u8::is_ascii_digit);
        *i += n;
        ok
    };
    let opt = |i: &mut usize, c: u8| {
        if b.get(*i) == Some(&c) {
            *i += 1;
        }
    };
    if !digits(&mut i, 4) { return false; }
    opt(&mut i, b'-');
    if !digits(&mut i, 2) { return false; }
    opt(&mut i, b'-');
    if !digits(&mut i, 2) || b.get(i) != Some(&b'T') { return false; }
    i += 1;
    if !digits(&mut i, 2) { return false; }
    opt(&mut i, b':');
    if !digits(&mut i, 2) { return false; }
    opt(&mut i, b':');
    if !digits(&mut i, 2) { return false; }
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    match b.get(i) {
        None => true,
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i += 1;
            if !digits(&mut i, 2) { return false; }
            opt(&mut i, b':');
            digits(&mut i, 2) && i == b.len()
        }
        _ => false,
    }
}

/// The value the Python decoder builds, when it builds it without a problem and this
/// module knows its type; None otherwise. `context`: the name of the member holding it.
fn val<'a>(v: &RValue<'a>, context: &str) -> Option<Val<'a>> {
    Some(match v {
        RValue::Untyped(text, _) => Val::Str(text),
        RValue::Scalar(tag, text, _) => match *tag {
            "string" => Val::Str(text),
            "nil" if text.bytes().all(|b| blank(b.into())) => Val::Empty("nil"),
            "int" | "i4" | "i8" | "uint" | "boolean" | "dateTime.iso8601"
                if context == "valueType" && text.bytes().all(|b| blank(b.into())) =>
            {
                Val::Empty(match *tag {
                    "boolean" => "boolean",
                    "dateTime.iso8601" => "datetime",
                    _ => "int",
                })
            }
            "int" | "i4" | "i8" | "uint" => Val::Int(read_int(tag, text)?),
            "boolean" => match strip(text)? {
                "0" => Val::Bool(false),
                "1" => Val::Bool(true),
                _ => return None,
            },
            "dateTime.iso8601" if iso8601(text) => Val::DateTime,
            _ => return None, // double, base64: not ported
        },
        RValue::Struct(members, _) => Val::Struct(
            members.iter().map(|(name, _, v)| {
                let name = strip(name)?;
                Some((name, val(v, name)?))
            }).collect::<Option<_>>()?,
        ),
        RValue::Array(items, _) => {
            Val::Array(items.iter().map(|v| val(v, "")).collect::<Option<_>>()?)
        }
    })
}

/// `int(text.strip(), 0)` where that is plainly an integer (`Some(Some(n))`) or plainly
/// not one (`Some(None)`); None where only Python can tell (prefixes, underscores...).
fn python_int(text: &str) -> Option<Option<i128>> {
    let t = strip(text)?;
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    let plain = !digits.is_empty() && digits.len() <= 30
        && digits.bytes().all(|b| b.is_ascii_digit());
    if plain && (digits.len() == 1 || !digits.starts_with('0')) {
        return Some(Some(t.parse().ok()?));
    }
    if plain && digits.bytes().all(|b| b == b'0') {
        return Some(Some(0));
    }
    if plain {
        return Some(None); // a leading zero: base 0 refuses it
    }
    // Characters int(x, 0) never accepts make it plainly not an integer.
    let maybe = t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'+'
                              || b == b'-');
    if t.is_empty() || !maybe { Some(None) } else { None }
}

/// `semantics.as_int`: `Some(value)`, or None to decline.
fn as_int(v: &Val<'_>) -> Option<Option<i128>> {
    Some(match v {
        Val::Int(n) => Some(*n),
        Val::Bool(b) => Some(i128::from(*b)),
        Val::Str(text) => python_int(text)?,
        _ => None,
    })
}

/// `semantics.as_type_id`.
fn as_type_id(v: &Val<'_>) -> Option<Option<i128>> {
    let number = as_int(v)?;
    if number.is_none() {
        if let Val::Str(text) = v {
            let first = strip(text)?.split('.').next().unwrap_or("");
            return python_int(first);
        }
    }
    Some(number)
}

// ---- formats (dissectors/cvip/formats.py) -------------------------------------------------

fn hex_run(b: &[u8], at: usize, n: usize) -> bool {
    b.len() >= at + n && b[at..at + n].iter().all(u8::is_ascii_hexdigit)
}

fn guid_ok(t: &str) -> bool {
    let b = t.as_bytes();
    let groups = |b: &[u8], lens: &[usize]| -> bool {
        let mut at = 0;
        for (i, &n) in lens.iter().enumerate() {
            if i > 0 {
                if b.get(at) != Some(&b'-') {
                    return false;
                }
                at += 1;
            }
            if !hex_run(b, at, n) {
                return false;
            }
            at += n;
        }
        at == b.len()
    };
    if groups(b, &[8, 4, 4, 13]) {
        return true;
    }
    let b = b.strip_prefix(b"{").unwrap_or(b);
    let b = b.strip_suffix(b"}").unwrap_or(b);
    groups(b, &[8, 4, 4, 4, 12])
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        _ => 28,
    }
}

/// A date and time `datetime.strptime` accepts, given as its six numbers.
fn valid_datetime(y: u32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> bool {
    y >= 1 && (1..=12).contains(&mo) && d >= 1 && d <= days_in(y, mo) && h <= 23 && mi <= 59
        && s <= 59
}

fn number(b: &[u8]) -> Option<u32> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn time14_ok(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() != 14 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |from: usize, to: usize| number(&b[from..to]).unwrap_or(0);
    valid_datetime(n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14))
}

fn datetime19_ok(t: &str) -> bool {
    let b = t.as_bytes();
    let shape = b"dddd-dd-dd dd:dd:dd";
    if b.len() != shape.len()
        || !b.iter().zip(shape).all(|(&c, &s)| if s == b'd' { c.is_ascii_digit() } else { c == s })
    {
        return false;
    }
    let n = |from: usize, to: usize| number(&b[from..to]).unwrap_or(0);
    valid_datetime(n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19))
}

fn ipv4_ok(t: &str) -> bool {
    let octets: Vec<&str> = t.split('.').collect();
    octets.len() == 4 && octets.iter().all(|o| {
        !o.is_empty() && o.len() <= 3 && o.bytes().all(|b| b.is_ascii_digit())
            && (*o == "0" || !o.starts_with('0'))
            && number(o.as_bytes()).is_some_and(|n| n <= 255)
    })
}

/// `[+-]?\d+(?:\.\d+)?` from `at`; the end, or None.
fn decimal(b: &[u8], mut at: usize) -> Option<usize> {
    if matches!(b.get(at), Some(b'+' | b'-')) {
        at += 1;
    }
    let start = at;
    while b.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    if at == start {
        return None;
    }
    if b.get(at) == Some(&b'.') && b.get(at + 1).is_some_and(u8::is_ascii_digit) {
        at += 1;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
    }
    Some(at)
}

fn range3_ok(text: &str) -> bool {
    let b = text.as_bytes();
    let space = |at: &mut usize| {
        while b.get(*at).is_some_and(|c| b" \t\n\r\x0b\x0c".contains(c)) {
            *at += 1;
        }
    };
    let mut at = 0;
    for i in 0..3 {
        if i > 0 {
            if b.get(at) != Some(&b',') {
                return false;
            }
            at += 1;
        }
        space(&mut at);
        match decimal(b, at) {
            Some(end) => at = end,
            None => return false,
        }
        space(&mut at);
    }
    at == b.len()
}

fn service_id_ok(t: &str) -> bool {
    let b = t.as_bytes();
    let mut at = if b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x'
        && b[2].is_ascii_hexdigit() { 2 } else { 0 };
    let start = at;
    while b.get(at).is_some_and(u8::is_ascii_hexdigit) {
        at += 1;
    }
    if at == start {
        return false;
    }
    if at == b.len() {
        return true;
    }
    b[at] == b'.' && at + 1 < b.len() && b[at + 1..].iter().all(u8::is_ascii_digit)
}

/// `formats.check_format(fmt, text, "either")` finds nothing wrong (ASCII text only).
fn format_ok(fmt: &str, text: &str) -> bool {
    if !text.is_ascii() {
        return false;
    }
    let stripped = text.trim_matches(blank);
    match fmt {
        "guid" => guid_ok(stripped),
        "time14" => time14_ok(stripped),
        "datetime19" => datetime19_ok(stripped),
        "ipv4" => ipv4_ok(stripped),
        "range3" => range3_ok(text),
        "md5" => stripped.len() == 32 && stripped.bytes().all(|b| b.is_ascii_hexdigit()),
        "numeric" => !stripped.is_empty() && stripped.bytes().all(|b| b.is_ascii_digit()),
        "service_id" => service_id_ok(stripped),
        _ => false,
    }
}

// ---- binding (dissectors/cvip/semantics.py) ----------------------------------------------

#[derive(Debug)]
struct Param<'v, 'a> {
    value: &'v Val<'a>,
    name: Option<&'a str>,
    spec: Option<usize>,
    /// The record of a list response, for `records` bindings.
    record: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    NoParams,
    Named,
    StructList,
    Positional,
    PropertyIds,
    PropertyValues,
    Records,
    Raw,
}

struct Binding<'v, 'a> {
    shape: Shape,
    params: Vec<Param<'v, 'a>>,
    method: Option<usize>,
    fields: Vec<usize>,
    known: bool,
}

impl<'v, 'a> Binding<'v, 'a> {
    fn new(shape: Shape, params: Vec<Param<'v, 'a>>, method: Option<usize>,
           fields: &[usize]) -> Self {
        Binding { shape, params, method, fields: fields.to_vec(), known: true }
    }
}

struct Ack<'a> {
    /// The code's name (the catalogue's).
    name: &'a str,
    /// The member name as sent (None for a bare code).
    field: Option<&'a str>,
    event: bool,
}

struct Ctx<'c> {
    cat: &'c Catalogue,
    /// The service and the number of instance parts of the method name.
    service: Option<(usize, usize)>,
}

impl<'c> Ctx<'c> {
    /// `find_field`: the first of `fields` whose folded name is `name`'s.
    fn find_field(&self, fields: &[usize], name: &str) -> Option<Option<usize>> {
        let key = self.cat.fold(name)?;
        Some(fields.iter().copied().find(|&i| self.cat.field(i).key == key))
    }

    fn members<'v, 'a>(&self, members: &'v [(&'a str, Val<'a>)], fields: &[usize],
                       record: Option<usize>) -> Option<Vec<Param<'v, 'a>>> {
        members.iter().map(|(name, value)| {
            Some(Param { value, name: Some(*name), spec: self.find_field(fields, name)?, record })
        }).collect()
    }

    fn positional<'v, 'a>(&self, params: &'v [Val<'a>], fields: &[usize]) -> Vec<Param<'v, 'a>> {
        params.iter().enumerate().map(|(i, value)| {
            Param { value, name: None, spec: fields.get(i).copied(), record: None }
        }).collect()
    }

    /// `semantics._raw`.
    fn raw<'v, 'a>(&self, params: &'v [Val<'a>], method: Option<usize>)
                   -> Option<Binding<'v, 'a>> {
        let out = match params {
            [Val::Struct(members)] => self.members(members, &[], None)?,
            _ => self.positional(params, &[]),
        };
        Some(Binding::new(Shape::Raw, out, method, &[]))
    }

    /// `semantics._bind_fields`.
    fn bind_fields<'v, 'a>(&self, method: Option<usize>, fields: &[usize],
                           params: &'v [Val<'a>]) -> Option<Binding<'v, 'a>> {
        if params.is_empty() {
            return Some(Binding::new(Shape::NoParams, Vec::new(), method, fields));
        }
        if let [Val::Struct(members)] = params {
            return Some(Binding::new(Shape::Named, self.members(members, fields, None)?, method,
                                     fields));
        }
        if let [Val::Array(items)] = params {
            if !items.is_empty() && !fields.is_empty() {
                let mut merged = Vec::new();
                let mut all = true;
                for item in items {
                    let Val::Struct(members) = item else { all = false; break };
                    let bound = self.members(members, fields, None)?;
                    if bound.iter().any(|p| p.spec.is_none()) {
                        all = false;
                        break;
                    }
                    merged.extend(bound);
                }
                if all {
                    return Some(Binding::new(Shape::StructList, merged, method, fields));
                }
            }
        }
        Some(Binding::new(Shape::Positional, self.positional(params, fields), method, fields))
    }

    /// `semantics._bind_records`.
    fn bind_records<'v, 'a>(&self, method: usize, fields: &[usize], params: &'v [Val<'a>])
                            -> Option<Binding<'v, 'a>> {
        let items: &[Val<'a>] = match params {
            [Val::Array(items)] => items,
            _ => params,
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item {
                Val::Struct(members) => out.extend(self.members(members, fields, Some(i))?),
                _ => out.push(Param { value: item, name: None, spec: None, record: Some(i) }),
            }
        }
        Some(Binding::new(Shape::Records, out, Some(method), fields))
    }

    /// `semantics._bind_spec`.
    fn bind_spec<'v, 'a>(&self, method: usize, fields: &[usize], params: &'v [Val<'a>],
                         request: bool) -> Option<Binding<'v, 'a>> {
        let spec = &self.cat.spec.methods[method];
        let values_shape = if request { spec.shape.as_str() } else { spec.response_shape.as_str() };
        if request && spec.shape == "property_ids" {
            let items: &[Val<'a>] = match params {
                [Val::Array(items)] => items,
                _ => params,
            };
            let out = items.iter().map(|value| {
                Param { value, name: None, spec: None, record: None }
            }).collect();
            return Some(Binding::new(Shape::PropertyIds, out, Some(method), &[]));
        }
        if values_shape == "property_values" {
            return match params {
                [Val::Struct(members)] => Some(Binding::new(
                    Shape::PropertyValues, self.members(members, &[], None)?, Some(method), &[])),
                _ => self.raw(params, Some(method)),
            };
        }
        if !request && spec.response_list {
            return self.bind_records(method, fields, params);
        }
        self.bind_fields(Some(method), fields, params)
    }

    /// `semantics.bind`: the best-fitting candidate.
    fn bind<'v, 'a>(&self, candidates: &[usize], params: &'v [Val<'a>], request: bool)
                    -> Option<Binding<'v, 'a>> {
        let mut best: Option<Binding<'v, 'a>> = None;
        let mut best_score = 0i64;
        for &m in candidates {
            let spec = &self.cat.spec.methods[m];
            let fields = if request { spec.request.as_ref() } else { spec.response.as_ref() };
            let mut binding = self.bind_spec(m, fields.map_or(&[][..], |f| f.as_slice()), params, request)?;
            binding.known = fields.is_some() || (request && spec.shape != "fields");
            let score = binding.params.iter().map(|p| if p.spec.is_some() { 1 } else { -1 })
                .sum::<i64>();
            if best.is_none() || score > best_score {
                best = Some(binding);
                best_score = score;
            }
        }
        match best {
            Some(b) => Some(b),
            None if params.is_empty() => Some(Binding::new(Shape::NoParams, Vec::new(), None, &[])),
            None => self.raw(params, None),
        }
    }

    /// `semantics.find_ack`: `Some(None)` when the response is no ack.
    fn find_ack<'a>(&self, params: &[Val<'a>]) -> Option<Option<Ack<'a>>> where 'c: 'a {
        let cat = self.cat;
        let ack_key = &cat.field(cat.spec.ack_field).key;
        let event_key = &cat.field(cat.spec.event_ack_field).key;
        match params {
            [] => Some(None),
            [Val::Struct(members), ..] => {
                for (name, value) in members {
                    let key = cat.fold(name)?;
                    if key == *ack_key || key == *event_key {
                        let event = key == *event_key;
                        let code = as_int(value)??; // no integer: reported
                        let table = if event { &cat.ack_event } else { &cat.ack_response };
                        let name_of = table.get(&i64::try_from(code).ok()?)?.as_str(); // unknown: reported
                        return Some(Some(Ack { name: name_of, field: Some(*name), event }));
                    }
                }
                Some(None)
            }
            [first] if matches!(first, Val::Int(_) | Val::Str(_)) => {
                match as_int(first)? {
                    Some(code) if code & 0xFFFF_FF00 == ACK_SPACE => {
                        let name = cat.ack_response.get(&i64::try_from(code).ok()?)?.as_str();
                        Some(Some(Ack { name, field: None, event: false }))
                    }
                    _ => Some(None),
                }
            }
            _ => Some(None),
        }
    }

    // ---- checks (dissectors/cvip/checks.py): Some(()) = nothing to report -------------

    fn check_binding(&self, b: &Binding<'_, '_>, direction: &str) -> Option<()> {
        let Some(method) = b.method else { return Some(()) };
        match b.shape {
            Shape::PropertyIds | Shape::PropertyValues => self.check_properties(b, direction),
            Shape::Records => self.check_records(b, method),
            Shape::Raw => None, // not ported
            _ if !b.known => Some(()),
            shape => self.check_fields(&b.params, &b.fields, method, direction,
                                       shape == Shape::Positional),
        }
    }

    fn check_fields(&self, params: &[Param<'_, '_>], fields: &[usize], method: usize,
                    direction: &str, positional: bool) -> Option<()> {
        let cat = self.cat;
        let mut present: Vec<&str> = Vec::new();
        let allowed = self.extra_names(params, method, direction)?;
        let extra = cat.spec.methods[method].extra.as_ref()
            .filter(|e| direction.starts_with(e.where_.as_str()));
        for p in params {
            if let Some(spec) = p.spec {
                present.push(&cat.field(spec).key);
                self.check_value(p.value, spec, params)?;
                continue;
            }
            match (p.name, extra) {
                (Some(name), Some(extra)) if self.is_extra(name, p.value, extra, &allowed)? => {}
                _ => return None, // an unknown field
            }
        }
        if direction == "ack" {
            return Some(());
        }
        let wanted = if positional { fields.get(params.len()..).unwrap_or(&[]) } else { fields };
        for &f in wanted {
            let spec = cat.field(f);
            if spec.required && (positional || !present.contains(&spec.key.as_str())) {
                return None; // a missing field
            }
        }
        Some(())
    }

    /// `Checker._extra_names`: `Some(None)` admits any name.
    fn extra_names(&self, params: &[Param<'_, '_>], method: usize, direction: &str)
                   -> Option<Option<&HashSet<String>>> {
        let cat = self.cat;
        let Some(extra) = &cat.spec.methods[method].extra else { return Some(Some(&EMPTY)) };
        if !direction.starts_with(extra.where_.as_str()) {
            return Some(Some(&EMPTY));
        }
        let selector = params.iter().find(|p| {
            p.spec.is_some_and(|s| cat.field(s).key == extra.selector_key)
        });
        let type_id = match selector {
            Some(p) => as_type_id(p.value)?,
            None => None,
        };
        let rows = cat.property_sets.get(&extra.table)?;
        Some(type_id.and_then(|id| i64::try_from(id).ok()).and_then(|id| rows.get(&id)))
    }

    /// `Checker._is_extra`, declining where it would report.
    fn is_extra(&self, name: &str, value: &Val<'_>, extra: &ExtraSpec,
                allowed: &Option<&HashSet<String>>) -> Option<bool> {
        let key = self.cat.fold(name)?;
        if key == extra.placeholder_key {
            if let Val::Struct(members) = value {
                for (member, inner) in members {
                    let member_key = self.cat.fold(member)?;
                    if allowed.is_some_and(|names| !names.contains(member_key.as_ref())) {
                        return None;
                    }
                    self.check_entity_code(&member_key, inner, extra)?;
                }
            }
            return Some(true);
        }
        if allowed.is_none_or(|names| names.contains(key.as_ref())) {
            self.check_entity_code(&key, value, extra)?;
            return Some(true);
        }
        Some(false)
    }

    fn check_entity_code(&self, key: &str, value: &Val<'_>, extra: &ExtraSpec) -> Option<()> {
        if extra.table != "entity" {
            return Some(());
        }
        for (prop, spec) in &self.cat.spec.entity_codes {
            if prop == key {
                self.check_value(value, *spec, &[])?;
            }
        }
        Some(())
    }

    fn check_records(&self, b: &Binding<'_, '_>, method: usize) -> Option<()> {
        let mut records: Vec<(usize, Vec<&Param<'_, '_>>)> = Vec::new();
        for p in &b.params {
            let record = p.record.unwrap_or(usize::MAX);
            match records.iter_mut().find(|(r, _)| *r == record) {
                Some((_, list)) => list.push(p),
                None => records.push((record, vec![p])),
            }
        }
        for (_, list) in records {
            if list.iter().all(|p| p.name.is_none()) {
                continue;
            }
            let params: Vec<Param<'_, '_>> = list.iter().map(|p| Param {
                value: p.value, name: p.name, spec: p.spec, record: p.record,
            }).collect();
            self.check_fields(&params, &b.fields, method, "response record", false)?;
        }
        Some(())
    }

    fn check_properties(&self, b: &Binding<'_, '_>, direction: &str) -> Option<()> {
        let cat = self.cat;
        let table = match self.service {
            Some((service, parts)) => cat.properties.get(service)?.get(parts)?.as_ref(),
            None => None,
        };
        let setting = b.shape == Shape::PropertyValues && direction == "request";
        for p in &b.params {
            let pid = if b.shape == Shape::PropertyIds {
                let Val::Str(text) = p.value else { return None };
                strip(text)?
            } else {
                p.name.unwrap_or("")
            };
            let Some(table) = table else { continue };
            let read_only = table.get(cat.fold(pid)?.as_ref())?;
            if setting && *read_only {
                return None;
            }
        }
        Some(())
    }

    /// `Checker.check_value`.
    fn check_value(&self, value: &Val<'_>, spec: usize, siblings: &[Param<'_, '_>])
                   -> Option<()> {
        let cat = self.cat;
        let f = cat.field(spec);
        let class = value.class();
        if !f.types.is_empty() && !f.types.iter().any(|t| t == class) {
            return None;
        }
        let number = if matches!(class, "int" | "boolean") || f.enum_name.is_some()
            || f.bits_name.is_some() { as_int(value)? } else { None };
        if let Some(n) = number {
            if let Some(name) = &f.enum_name {
                let values = cat.enums.get(name)?;
                if !i64::try_from(n).is_ok_and(|n| values.contains(&n)) {
                    return None;
                }
            }
            if let Some(name) = &f.bits_name {
                let mask = i128::from(*cat.bit_sets.get(name)?);
                if n & !mask != 0 || n < 0 {
                    return None;
                }
            }
            if let Some((low, high)) = f.range {
                if !(i128::from(low)..=i128::from(high)).contains(&n) {
                    return None;
                }
            }
            if let Some((low, high)) = f.magnitude {
                if !(i128::from(low)..=i128::from(high)).contains(&n.abs())
                    && !self.zero_allowed(f, n, siblings)? {
                    return None;
                }
            }
        }
        if let (Some(fmt), Val::Str(text)) = (&f.fmt, value) {
            if !format_ok(fmt, text) {
                return None;
            }
        }
        Some(())
    }

    fn zero_allowed(&self, f: &FieldSpec, n: i128, siblings: &[Param<'_, '_>]) -> Option<bool> {
        let Some((other, wanted)) = &f.zero_when else { return Some(false) };
        if n != 0 {
            return Some(false);
        }
        for s in siblings {
            if s.spec.is_some_and(|i| self.cat.field(i).key == *other) {
                return Some(as_int(s.value)? == Some(i128::from(*wanted)));
            }
        }
        Some(false)
    }
}

static EMPTY: std::sync::LazyLock<HashSet<String>> = std::sync::LazyLock::new(HashSet::new);

// ---- the message ------------------------------------------------------------------------

/// The header as `header.parse_header` reads it, when `header_problems` finds nothing:
/// (message type, txn, response flag, size).
/// A discovery ping the Python path finds nothing wrong with (`dissect_ping` in
/// `dissectors/cvip/ping.py` is the reference): what its record is made of.
#[derive(Debug, PartialEq, Eq)]
pub struct Ping<'c> {
    pub response: bool,
    pub msg_type: u8,
    pub txn: u16,
    /// The Packet Size (the ping's length).
    pub size: u64,
    /// The IP address, dotted.
    pub ip: String,
    pub port: u16,
    pub connection_type: u8,
    pub connection_name: &'c str,
    /// A response's unit: GUID (canonical text), manufacturer id, product type, status
    /// (0 or 1).
    pub unit: Option<(String, u16, u16, u8)>,
    pub info: String,
}

/// `MSG_TYPE_PING`, `PING_RESPONSE_TYPE_CORRECTED` (a response's type under the default
/// `ping_response_type = "either"`), and the two ping lengths.
const PING_TYPE: u8 = 0x01;
const PING_TYPE_CORRECTED: u8 = 0x02;
const PING_REQUEST_SIZE: usize = 16;
const PING_RESPONSE_SIZE: usize = 37;

/// The lean record of a ping: a big-endian header of message type 0x01 (or, for a
/// response, 0x02 where `looks_like_ping` takes it for one: its body does not start like
/// XML) whose Packet Size and response bit agree with the length (16 bytes: a request,
/// 37: a response), a known connection type, a response's status 0 or 1, and no
/// credential-like bytes (the reference masks such a record). Anything else is the
/// reference's: a problem to report, a little-endian peer.
pub fn ping<'c>(cat: &'c Catalogue, data: &[u8]) -> Option<Ping<'c>> {
    let (msg_type, txn, response, size) = header(data)?;
    let n = data.len();
    let is_response = match n {
        PING_REQUEST_SIZE => false,
        PING_RESPONSE_SIZE => true,
        _ => return None,
    };
    let corrected = is_response && msg_type == PING_TYPE_CORRECTED && {
        let body = &data[HEADER_SIZE..];
        let lead = body.iter().position(|&b| !crate::cvipframe::blank(b));
        lead.is_none_or(|at| body[at] != b'<')
    };
    if (msg_type != PING_TYPE && !corrected) || size != n as u64 || response != is_response
        || crate::secrets::may_hold_secrets(data)
    {
        return None;
    }
    let ip = format!("{}.{}.{}.{}", data[9], data[10], data[11], data[12]);
    let port = u16::from_be_bytes([data[13], data[14]]);
    let connection_type = data[15];
    let connection_name = cat.connection_types.get(&connection_type)?.as_str();
    if connection_name.is_empty() {
        return None; // Python's `name or ...` would spell the code instead
    }
    let mut info = String::with_capacity(96);
    info.push_str(if is_response { "ping response txn=" } else { "ping request txn=" });
    push_int(&mut info, i64::from(txn));
    let unit = if is_response {
        let status = data[36];
        if status > 1 {
            return None;
        }
        let manufacturer = u16::from_be_bytes([data[32], data[33]]);
        let product = u16::from_be_bytes([data[34], data[35]]);
        info.push_str(&format!(" {ip}:{port} {connection_name} mfr=0x{manufacturer:04x} \
                                product=0x{product:04x}"));
        if status == 1 {
            info.push_str(" rebooted");
        }
        Some((guid_text(&data[16..32]), manufacturer, product, status))
    } else {
        info.push_str(&format!(" from {ip}:{port}"));
        None
    };
    Some(Ping { response: is_response, msg_type, txn, size, ip, port, connection_type, connection_name,
                unit, info })
}

/// `str(uuid.UUID(bytes=raw))`: 32 lower-case hex digits grouped 8-4-4-4-12.
fn guid_text(raw: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

fn header(data: &[u8]) -> Option<(u8, u16, bool, u64)> {
    let h = data.get(..HEADER_SIZE)?;
    if h[..2] != [0x02, 0x01] {
        return None; // little-endian or another version: reported
    }
    let size = u64::from(u32::from_be_bytes([h[5], h[6], h[7], h[8]]));
    let sane = |s: u64| (HEADER_SIZE as u64..=SIZE_CAP).contains(&s);
    let other = u64::from(u32::from_le_bytes([h[5], h[6], h[7], h[8]]));
    if !sane(size) && sane(other) {
        return None; // the size's byte order wins: reported
    }
    let raw = u16::from_be_bytes([h[3], h[4]]);
    Some((h[2], raw & 0x7FFF, raw & 0x8000 != 0, size))
}

/// A method name split and checked as `_resolve` and `Checker.check_method` do: the
/// service (index, instance parts) and the candidates, or None where a problem is due.
fn resolve<'c>(cat: &'c Catalogue, name: &str) -> Option<((usize, usize), &'c [usize])> {
    let (service_part, method) = name.rsplit_once('.')?;
    let mut parts = service_part.split('.');
    let base = parts.next().unwrap_or("");
    let instance: Vec<&str> = parts.collect();
    if base.is_empty() {
        return None;
    }
    let service = *cat.services.get(cat.fold(base)?.as_ref())?;
    let spec = &cat.spec.services[service];
    if !instance.is_empty()
        && (instance.len() > spec.instances
            || !instance.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    {
        return None;
    }
    let key = cat.fold(method)?;
    let of = |service: &str| -> &'c [usize] {
        cat.methods.get(service).and_then(|m| m.get(key.as_ref())).map_or(&[], Vec::as_slice)
    };
    let mut candidates = of(&spec.key);
    if candidates.is_empty() && !spec.is_system {
        candidates = of("*");
    }
    let generic = candidates.iter().all(|&m| cat.spec.methods[m].generic);
    if cat.spec.property_methods.iter().any(|m| *m == key) && spec.property_support == Some(false) && generic {
        return None;
    }
    if candidates.is_empty() {
        return None;
    }
    Some(((service, instance.len()), candidates))
}

/// The lean record of `data` (one whole message; `udp`: a datagram), when the Python
/// lean dissection with the default options would report no problem; else None.
pub fn lean(cat: &Catalogue, data: &[u8], udp: bool) -> Option<Lean> {
    let (msg_type, txn, response, size) = header(data)?;
    let length = data.len() as u64;
    if msg_type != 0 || (size != length && (udp || size < length)) {
        return None;
    }
    let secretive = crate::secrets::may_hold_secrets(data);
    let (size_cap, depth, elements) = cat.spec.limits;
    let body = xmlrpc::decode(data.get(HEADER_SIZE..)?, Limits { size: size_cap, depth, elements })?;
    if body.fault.is_some() {
        return None;
    }
    let call = match body.root {
        "methodCall" => true,
        "methodResponse" => false,
        _ => return None, // AnalyticsData: not ported
    };
    let method_name = match body.method_name {
        Some((text, _)) => Some(strip(text)?),
        None => None,
    };
    let method_name = method_name.filter(|m| !m.is_empty());
    if call && method_name.is_none() {
        return None;
    }
    let params: Vec<Val<'_>> = body.params.iter().map(|v| val(v, "")).collect::<Option<_>>()?;
    let resolved = match method_name {
        Some(name) => Some(resolve(cat, name)?),
        None => None,
    };
    let ctx = Ctx { cat, service: resolved.as_ref().map(|(s, _)| *s) };
    let candidates: &[usize] = resolved.as_ref().map_or(&[], |(_, c)| c);
    let (kind, binding, ack) = if call {
        let event = cat.fold(method_name?)? == cat.spec.event_method_key;
        (if event { "event" } else { "request" }, ctx.bind(candidates, &params, true)?, None)
    } else {
        match ctx.find_ack(&params)? {
            Some(ack) => {
                let ack_field = if ack.event { cat.spec.event_ack_field } else { cat.spec.ack_field };
                let mut fields = vec![ack_field];
                let method = candidates.first().copied();
                if let Some(m) = method {
                    fields.extend(cat.spec.methods[m].response.iter().flatten());
                }
                let binding = ctx.bind_fields(method, &fields, &params)?;
                (if ack.event { "response" } else { "ack" }, binding, Some(ack))
            }
            None => ("response", ctx.bind(candidates, &params, false)?, None),
        }
    };
    let direction = match kind {
        "request" | "event" => "request",
        "ack" => "ack",
        _ => "response",
    };
    ctx.check_binding(&binding, direction)?;
    let names_a_secret = binding.params.iter().any(|p| p.spec.is_some_and(|s| cat.field(s).secret));
    if response == call {
        return None; // the response bit disagrees with the kind
    }
    let method = method_name.map(str::to_string);
    // "[method ]response field=name txn=N", "[method ]ack name txn=N" or
    // "[method ]kind txn=N", put together by hand: `format!` was a fifth of the time of
    // a whole lean dissection.
    let mut info = String::with_capacity(method_name.map_or(0, str::len) + 40);
    if let Some(m) = method_name {
        info.push_str(m);
        info.push(' ');
    }
    match &ack {
        Some(a) if a.event => {
            info.push_str("response ");
            info.push_str(a.field.unwrap_or(""));
            info.push('=');
            info.push_str(a.name);
        }
        Some(a) => {
            info.push_str("ack ");
            info.push_str(a.name);
        }
        None => info.push_str(kind),
    }
    info.push_str(" txn=");
    push_int(&mut info, i64::from(txn));
    if (secretive || names_a_secret) && !scrub_keeps(&info, &params) {
        return None;
    }
    Some(Lean { kind, info, txn, is_response: !call, method })
}

/// Whether `Scrubber().record` leaves the lean record of a message that may hold a secret
/// as it is. Lean, it has no fields, attributes or problems (the reference builds the
/// attributes to learn the secrets, then drops them): only the summary is scrubbed. It
/// masks `key=value` pairs with a secret word in the key (none without one in the text)
/// and every appearance of a secret value of 3 characters or more, the secrets being
/// string values of the parameters as sent (the reference keeps a `<string>` as it is):
/// here, conservatively, all of them, whatever names them.
fn scrub_keeps(info: &str, params: &[Val<'_>]) -> bool {
    fn clear(value: &Val<'_>, info: &str) -> bool {
        match value {
            Val::Str(text) => text.chars().count() < 3 || !info.contains(text),
            Val::Struct(members) => members.iter().all(|(_, v)| clear(v, info)),
            Val::Array(items) => items.iter().all(|v| clear(v, info)),
            Val::Int(_) | Val::Bool(_) | Val::DateTime | Val::Empty(_) => true,
        }
    }
    !crate::secrets::may_hold_secrets(info.as_bytes()) && params.iter().all(|v| clear(v, info))
}

/// A small catalogue in the shapes of the real one (a bit set, an enum, a range, a
/// magnitude with its `zero_when`, a GUID format, a secret, property tables, a list
/// response, placeholder fields), for the unit tests and the fuzz target. The real one
/// is built from the Python tables and checked against the Python path by
/// tests/test_cvip_lean_equivalence.py.
#[doc(hidden)]
pub fn sample_catalogue() -> Catalogue {
    let f = |key: &str, types: &[&str]| FieldSpec {
        key: key.into(), types: types.iter().map(|t| t.to_string()).collect(),
        required: true, ..Default::default()
    };
    let fields = vec![
        f("errorcode", &["int", "string"]),                                     // 0
        f("ackreturncode", &["int", "string"]),                                 // 1
        FieldSpec { fmt: Some("guid".into()), ..f("guid", &["string", "int"]) }, // 2
        FieldSpec { bits_name: Some("event_type".into()), ..f("type", &["int"]) }, // 3
        f("id", &["int"]),                                                      // 4
        FieldSpec { enum_name: Some("ptz_command".into()), ..f("cmdtype", &["int"]) }, // 5
        FieldSpec { magnitude: Some((1, 16)), zero_when: Some(("cmdtype".into(), 0)),
                    ..f("cmddata", &["int"]) },                                  // 6
        FieldSpec { secret: true, ..f("password", &["string"]) },               // 7
        FieldSpec { range: Some((0, 65535)), ..f("destport", &["int"]) },       // 8
        FieldSpec { enum_name: Some("entity_type".into()), ..f("entitytypeid", &["int"]) }, // 9
        FieldSpec { fmt: Some("time14".into()), ..f("starttime", &["string"]) }, // 10
        FieldSpec { bits_name: Some("camera_capability".into()), ..f("capability", &["int"]) }, // 11
    ];
    let method = |request: Vec<usize>| MethodSpec {
        request: Some(request), response: None, shape: "fields".into(),
        response_shape: "fields".into(), ..Default::default()
    };
    let entity = ExtraSpec { table: "entity".into(), selector_key: "entitytypeid".into(),
                             placeholder_key: "entityproperty".into(), where_: "request".into() };
    let methods = vec![
        method(vec![3, 4]),                     // 0 cviEvent.subscribe
        method(vec![2, 5, 6]),                  // 1 cviPtz.cmd
        method(vec![2, 7]),                     // 2 cviUser.login
        MethodSpec { generic: true, shape: "property_ids".into(),
                     response_shape: "property_values".into(), ..method(vec![]) }, // 3
        method(vec![8]),                        // 4 cviStream.create
        MethodSpec { extra: Some(entity), ..method(vec![2, 9]) }, // 5 cviEntity.add
        MethodSpec { response: Some(vec![4, 10]), response_list: true, ..method(vec![2]) }, // 6
    ];
    let service = |key: &str| ServiceSpec {
        key: key.into(), instances: 1, property_support: Some(true), ..Default::default()
    };
    let mut video = service("cvivideo");
    video.properties[1] = Some(vec![("videoinputname".into(), false),
                                    ("unituptime".into(), true)]);
    let keys = ["cvievent", "cviptz", "cviuser", "cvivideo", "cvistream", "cvientity",
                "cviplayback"];
    let spec = CatalogueSpec {
        fields,
        methods,
        services: keys.iter().map(|k| if *k == "cvivideo" { video.clone() } else { service(k) })
            .collect(),
        service_keys: keys.iter().enumerate().map(|(i, k)| (k.to_string(), i)).collect(),
        method_keys: [("cvievent", "subscribe", 0), ("cviptz", "cmd", 1), ("cviuser", "login", 2),
                      ("*", "getproperties", 3), ("cvistream", "create", 4),
                      ("cvientity", "add", 5), ("cviplayback", "list", 6)]
            .iter().map(|(s, m, i)| ((s.to_string(), m.to_string()), vec![*i])).collect(),
        enums: vec![("ptz_command".into(), (0..8).collect()),
                    ("entity_type".into(), vec![1, 2, 3])],
        bit_sets: vec![("event_type".into(), 0x3F), ("camera_capability".into(), 0x3)],
        ack_response: vec![(0x0100_0000, "Success".into()), (0x0100_0001, "Fail".into())],
        ack_event: vec![(0x0100_0000, "Success".into())],
        ack_field: 0,
        event_ack_field: 1,
        property_sets: vec![("entity".into(), vec![(1, vec!["capability".into(),
                                                             "phyaddr".into()])])],
        entity_codes: vec![("capability".into(), 11)],
        event_method_key: "cvievent.notify".into(),
        property_methods: vec!["getproperties".into(), "setproperties".into()],
        limits: (8 << 20, 64, 50_000),
        connection_types: vec![(0, "TCP".into()), (1, "UDP".into())],
        ..Default::default()
    };
    Catalogue::new(spec).expect("a valid catalogue")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ping as `encode_ping_request` / `encode_ping_response` write it (big-endian).
    fn ping_bytes(response: bool, txn: u16, tail: &[u8]) -> Vec<u8> {
        let size = (9 + 7 + if response { 21 } else { 0 }) as u32;
        let raw_txn = txn | if response { 0x8000 } else { 0 };
        let mut out = vec![0x02, 0x01, PING_TYPE];
        out.extend(raw_txn.to_be_bytes());
        out.extend(size.to_be_bytes());
        out.extend([192, 168, 1, 20, 0x1f, 0x90, 1]); // 192.168.1.20:8080, UDP
        out.extend(tail);
        out
    }

    const UNIT: [u8; 21] = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x0f, 0xed, 0xcb,
                            0xa9, 0x87, 0x65, 0x43, 0x21, 0x00, 0x2a, 0x01, 0x02, 1];

    #[test]
    fn pings_as_the_reference_reads_them() {
        let cat = sample_catalogue();
        let request = ping(&cat, &ping_bytes(false, 7, &[])).expect("a conformant request");
        assert_eq!(request.info, "ping request txn=7 from 192.168.1.20:8080");
        assert_eq!((request.response, request.size, request.port, request.unit), (false, 16, 8080, None));
        let response = ping(&cat, &ping_bytes(true, 7, &UNIT)).expect("a conformant response");
        assert_eq!(response.info,
                   "ping response txn=7 192.168.1.20:8080 UDP mfr=0x002a product=0x0102 rebooted");
        assert_eq!(response.unit,
                   Some(("12345678-9abc-def0-0fed-cba987654321".to_string(), 42, 0x0102, 1)));
        let mut corrected = ping_bytes(true, 7, &UNIT);
        corrected[2] = PING_TYPE_CORRECTED;
        let corrected = ping(&cat, &corrected).expect("the corrected response type");
        assert_eq!((corrected.msg_type, corrected.info), (PING_TYPE_CORRECTED, response.info));
    }

    #[test]
    fn pings_with_anything_to_report_are_declined() {
        let cat = sample_catalogue();
        let good = ping_bytes(true, 7, &UNIT);
        let mut cases: Vec<Vec<u8>> = vec![
            good[..36].to_vec(),                 // cut: a length problem
            [&good[..], &[0]].concat(),          // long
            ping_bytes(false, 7, &UNIT),         // a request's bit on a response's length
        ];
        for (at, value) in [(2, 0x03), (2, 0x00), (8, 36), (15, 9), (36, 2), (0, 0x01)] {
            let mut bad = good.clone();
            bad[at] = value; // type 3, type 0, size, connection type, status, byte order
            cases.push(bad);
        }
        let mut request = ping_bytes(false, 7, &[]);
        request[2] = PING_TYPE_CORRECTED; // the corrected type is a response's only
        cases.push(request);
        let mut xml_like = good.clone();
        xml_like[2] = PING_TYPE_CORRECTED;
        xml_like[9..11].copy_from_slice(b" <"); // a body that starts like XML: not a ping
        cases.push(xml_like);
        let mut secret = good.clone();
        secret[16..19].copy_from_slice(b"PWD");
        cases.push(secret);
        for bad in cases {
            assert_eq!(ping(&cat, &bad), None, "{bad:02x?}");
        }
        assert!(ping(&cat, &good).is_some());
    }

    fn catalogue() -> Catalogue {
        sample_catalogue()
    }

    fn message(body: &str, txn: u16, response: bool) -> Vec<u8> {
        let mut out = vec![0x02, 0x01, 0x00];
        out.extend((txn | if response { 0x8000 } else { 0 }).to_be_bytes());
        out.extend(((body.len() + 9) as u32).to_be_bytes());
        out.extend(body.as_bytes());
        out
    }

    fn call(method: &str, params: &str) -> String {
        format!("<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName>\
                 <params>{params}</params></methodCall>")
    }

    fn member(name: &str, value: &str) -> String {
        format!("<member><name>{name}</name><value>{value}</value></member>")
    }

    fn strukt(members: &[String]) -> String {
        format!("<param><value><struct>{}</struct></value></param>", members.concat())
    }

    fn subscribe(type_: &str, id: &str) -> String {
        call("cviEvent.subscribe", &strukt(&[member("Type", type_), member("Id", id)]))
    }

    #[test]
    fn a_conformant_request() {
        let cat = catalogue();
        let got = lean(&cat, &message(&subscribe("<int>5</int>", "<int>0</int>"), 7, false), false);
        assert_eq!(got, Some(Lean { kind: "request", info: "cviEvent.subscribe request txn=7".into(),
                                    txn: 7, is_response: false,
                                    method: Some("cviEvent.subscribe".into()) }));
    }

    #[test]
    fn problems_decline() {
        let cat = catalogue();
        for body in [
            subscribe("<int>64</int>", "<int>0</int>"),        // a bit outside the table
            subscribe("<string>5</string>", "<int>0</int>"),   // wrong type
            subscribe("<int>5</int>", "<int>x</int>"),         // not an integer
            subscribe("<double>5</double>", "<int>0</int>"),   // not ported
            call("cviEvent.subscribe", &strukt(&[member("Type", "<int>1</int>")])), // missing
            call("cviEvent.subscribe", &strukt(&[member("Type", "<int>1</int>"),
                                                 member("Id", "<int>1</int>"),
                                                 member("Extra", "<int>1</int>")])),
            call("cviEvent.nosuch", ""),
            call("nosuch.subscribe", ""),
            call("cviEvent.1.2.subscribe", ""),               // too many instance parts
            call("cviPtz.cmd", &strukt(&[member("GUID", "<string>xyz</string>"),
                                         member("CmdType", "<int>1</int>"),
                                         member("CmdData", "<int>3</int>")])), // bad GUID
            call("cviPtz.cmd", &strukt(&[member("GUID", "<int>1</int>"),
                                         member("CmdType", "<int>1</int>"),
                                         member("CmdData", "<int>0</int>")])), // 0 not Stop
            call("cviStream.create", &strukt(&[member("destPort", "<int>65536</int>")])),
            call("cviUser.login", &strukt(&[member("GUID", "<int>1</int>"),
                                            member("x", "<int>1</int>")])),
            call("cviVideo.1.getProperties", "<param><value>unitUpTime</value></param>\
                                              <param><value>bogus</value></param>"),
        ] {
            assert_eq!(lean(&cat, &message(&body, 1, false), false), None, "{body}");
        }
        // The response bit on a request, a wrong size, a ping type, UDP size rules.
        let good = message(&subscribe("<int>5</int>", "<int>0</int>"), 1, false);
        assert!(lean(&cat, &message(&subscribe("<int>5</int>", "<int>0</int>"), 1, true), false)
            .is_none());
        let mut typed = good.clone();
        typed[2] = 1;
        assert!(lean(&cat, &typed, false).is_none());
        let mut longer = good.clone();
        longer[8] = longer[8].wrapping_sub(1);
        assert!(lean(&cat, &longer, false).is_none());
        let mut shorter = good.clone();
        shorter[8] = shorter[8].wrapping_add(1);
        assert!(lean(&cat, &shorter, false).is_some());
        assert!(lean(&cat, &shorter, true).is_none());
        assert!(lean(&cat, &good, true).is_some());
    }

    #[test]
    fn ptz_stop_takes_zero() {
        let cat = catalogue();
        let body = call("cviPtz.cmd", &strukt(&[member("GUID", "<string>{01234567-89ab-cdef-0123-456789abcdef}</string>"),
                                                member("CmdType", "<int>0</int>"),
                                                member("CmdData", "<int>0</int>")]));
        assert!(lean(&cat, &message(&body, 3, false), false).is_some());
    }

    #[test]
    fn acks_and_bare_responses() {
        let cat = catalogue();
        let ack = "<methodResponse><params><param><value><struct><member><name>ErrorCode</name>\
                   <value><uint>16777216</uint></value></member></struct></value></param>\
                   </params></methodResponse>";
        let got = lean(&cat, &message(ack, 9, true), false).expect("an ack");
        assert_eq!((got.kind, got.info.as_str(), got.method), ("ack", "ack Success txn=9", None));
        assert!(lean(&cat, &message(&ack.replace("16777216", "16777219"), 9, true), false)
            .is_none());
        assert!(lean(&cat, &message(ack, 9, false), false).is_none());
        let plain = "<methodResponse><params><param><value><int>3</int></value></param>\
                     </params></methodResponse>";
        let got = lean(&cat, &message(plain, 2, true), false).expect("a response");
        assert_eq!(got.info, "response txn=2");
        let fault = "<methodResponse><fault><value><int>1</int></value></fault></methodResponse>";
        assert!(lean(&cat, &message(fault, 2, true), false).is_none());
    }

    #[test]
    fn placeholder_fields_and_list_responses() {
        let cat = catalogue();
        let add = |members: &[String]| message(&call("cviEntity.add", &strukt(members)), 4, false);
        let base = [member("GUID", "<int>1</int>"), member("EntityTypeID", "<int>1</int>")];
        let with = |extra: &[String]| add(&[&base[..], extra].concat());
        assert!(lean(&cat, &with(&[]), false).is_some());
        assert!(lean(&cat, &with(&[member("Capability", "<int>3</int>")]), false).is_some());
        assert!(lean(&cat, &with(&[member("Capability", "<int>4</int>")]), false).is_none());
        assert!(lean(&cat, &with(&[member("Colour", "<int>4</int>")]), false).is_none());
        let nested = member("EntityProperty", &strukt(&[member("PhyAddr", "<int>9</int>")])
            .replace("<param><value>", "").replace("</value></param>", ""));
        assert!(lean(&cat, &with(&[nested]), false).is_some());
        // An unknown entity type admits any name (and its own value is reported).
        let unknown = [member("GUID", "<int>1</int>"), member("EntityTypeID", "<int>7</int>"),
                       member("Colour", "<int>4</int>")];
        assert!(lean(&cat, &add(&unknown), false).is_none());
        let list = |records: &str| {
            let body = format!("<methodResponse><methodName>cviPlayback.list</methodName>\
                                <params><param><value><array><data>{records}</data></array>\
                                </value></param></params></methodResponse>");
            lean(&cat, &message(&body, 5, true), false)
        };
        let record = |time: &str| format!("<value><struct>{}{}</struct></value>",
                                          member("Id", "<int>1</int>"),
                                          member("StartTime", time));
        let got = list(&(record("20240101000000") + &record("20240229120000")))
            .expect("a list response");
        assert_eq!(got.info, "cviPlayback.list response txn=5");
        assert!(list(&record("20240230000000")).is_none());
        assert!(list("<value><int>1</int></value>").is_some());
    }

    #[test]
    fn secrets_are_answered_where_the_scrub_keeps_the_summary() {
        let cat = catalogue();
        let login = |password: &str| {
            let body = call("cviUser.login", &format!("<param><value><int>1</int></value></param>\
                                                       <param><value>{password}</value></param>"));
            lean(&cat, &message(&body, 1, false), false)
        };
        assert_eq!(login("abc").map(|l| l.info), Some("cviUser.login request txn=1".to_string()));
        // A password the summary holds would be masked in it.
        for password in ["login", "request", "cviUser", "txn=1", "r.login r"] {
            assert_eq!(login(password), None, "{password}");
        }
        assert!(login(" login ").is_some()); // kept as sent: not in the summary
        assert!(login("xn").is_some()); // shorter than 3: masked where whole only
        assert!(login("token=x").is_some()); // a pair the summary does not hold
    }

    #[test]
    fn formats() {
        assert!(guid_ok("00000001-0000-0000-0001EC901E30B"));
        assert!(guid_ok("{01234567-89ab-cdef-0123-456789abcdef"));
        assert!(!guid_ok("01234567-89ab-cdef-0123-456789abcde"));
        assert!(time14_ok("20240229235959") && !time14_ok("20230229000000"));
        assert!(!time14_ok("20241301000000") && !time14_ok("00000101000000"));
        assert!(datetime19_ok("2024-01-31 00:00:00") && !datetime19_ok("2024-01-31 24:00:00"));
        assert!(ipv4_ok("10.0.0.255") && !ipv4_ok("10.0.0.256") && !ipv4_ok("10.0.0.01"));
        assert!(range3_ok(" 1, 2.5 ,-3 ") && !range3_ok("1,2"));
        assert!(service_id_ok("0x03.1") && service_id_ok("3") && !service_id_ok("0x"));
        assert!(iso8601("20240101T10:00:00Z") && !iso8601("20240101T10:00"));
        assert_eq!(python_int(" 12 "), Some(Some(12)));
        assert_eq!(python_int("012"), Some(None));
        assert_eq!(python_int("0x1"), None);
        assert_eq!(python_int("1.5"), Some(None));
    }

    /// A stable stand-in for the fuzz target: mutated messages never panic.
    #[test]
    fn mutated_messages_never_panic() {
        let cat = catalogue();
        let seed = message(&call("cviPtz.cmd", &strukt(&[member("GUID", "<int>1</int>"),
                                                          member("CmdType", "<int>0</int>"),
                                                          member("CmdData", "<int>0</int>")])),
                           1, false);
        let mut rng = crate::testrand::XorShift::new(0x5DEE_CE66_D1CE_4E5B);
        let mut next = || rng.next();
        for _ in 0..3_000 {
            let mut data = seed.clone();
            for _ in 0..(next() % 5) {
                let at = (next() as usize) % data.len().max(1);
                match next() % 3 {
                    0 => data[at] = next() as u8,
                    1 => {
                        data.remove(at);
                    }
                    _ => data.insert(at, b"<>/.0-x\x80"[(next() % 8) as usize]),
                }
            }
            let _ = lean(&cat, &data, next() % 2 == 0);
        }
    }
}
