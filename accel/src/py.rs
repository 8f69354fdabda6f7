//! The Python face of the accelerator: builds exactly the objects the pure-Python
//! modules build (their own classes are handed in, so there is one model, not two).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::xmlrpc::{self, Body, Limits, RValue};

/// Where offsets are wanted (full mode) and where the body starts in the message.
#[derive(Clone, Copy)]
struct Place {
    offsets: bool,
    base: i64,
}

impl Place {
    /// A message (offset, length), or the reference's `(-1, 0)` in lean mode.
    fn at(self, (offset, length): (usize, usize)) -> (i64, i64) {
        if self.offsets {
            (offset as i64 + self.base, length as i64)
        } else {
            (-1, 0)
        }
    }
}

/// `XmlRpcDecoder(Value, Member, XmlRpcBody, readers)(body, size, depth, elements, base,
/// offsets)`: the `XmlRpcBody` the reference path (lxml, then `xmlrpc.decode`) would
/// return for a body it finds nothing to report about — with message offsets (`base` is
/// where the body starts) when `offsets` is true, as its full mode gives them — or None
/// to take that path.
#[pyclass(frozen, module = "cvipsniff_accel")]
pub struct XmlRpcDecoder {
    value: Py<PyAny>,
    member: Py<PyAny>,
    body: Py<PyAny>,
    readers: Py<PyDict>,
}

fn blank(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\n'
}

/// Python's `str.strip()` (blanks are the only ASCII whitespace the tokenizer lets
/// through; anything else is left to Python itself).
fn strip<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyString>> {
    if text.is_ascii() {
        return Ok(PyString::new(py, text.trim_matches(blank)));
    }
    Ok(PyString::new(py, text).call_method0("strip")?.downcast_into::<PyString>()?)
}

/// A canonical integer literal within its type's range, else None (Python decides).
fn fast_int(tag: &str, text: &str) -> Option<i64> {
    let t = text.trim_matches(blank).as_bytes();
    let digits = match t.first()? {
        b'+' | b'-' => &t[1..],
        _ => t,
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: i64 = std::str::from_utf8(t).ok()?.parse().ok()?;
    let ok = match tag {
        "uint" => (0..=u32::MAX as i64).contains(&n),
        "i8" => true,
        _ => (i32::MIN as i64..=i32::MAX as i64).contains(&n),
    };
    ok.then_some(n)
}

impl XmlRpcDecoder {
    /// A scalar; ``context`` is the name of the member holding it (the reference lets an
    /// empty typed value under ``valueType`` name a type without a problem).
    fn scalar(&self, py: Python<'_>, tag: &str, text: &str, context: &str,
              at: (i64, i64)) -> PyResult<Option<PyObject>> {
        let literal = PyString::new(py, text);
        let value: PyObject = match tag {
            "string" => literal.clone().into_any().unbind(),
            "int" | "i4" | "i8" | "uint" if fast_int(tag, text).is_some() => {
                fast_int(tag, text).unwrap_or(0).into_pyobject(py)?.into_any().unbind()
            }
            "boolean" if matches!(text.trim_matches(blank), "0" | "1") => {
                (text.trim_matches(blank) == "1").into_pyobject(py)?.to_owned().into_any().unbind()
            }
            _ => {
                let readers = self.readers.bind(py);
                let Some(reader) = readers.get_item(tag)? else { return Ok(None) };
                let reading = reader.call1((&literal,))?;
                let reading = reading.downcast::<PyTuple>()?;
                let excused = context == "valueType" && text.bytes().all(|b| b == b' ' || b == b'\t' || b == b'\n');
                if !reading.get_item(1)?.is_none() && !excused {
                    return Ok(None); // a problem to report: the reference path's job
                }
                reading.get_item(0)?.unbind()
            }
        };
        let tag = PyString::intern(py, tag);
        Ok(Some(self.value.call1(py, (tag, value, literal, at.0, at.1))?))
    }

    fn value(&self, py: Python<'_>, value: &RValue<'_>, context: &str, place: Place)
             -> PyResult<Option<PyObject>> {
        Ok(Some(match value {
            RValue::Untyped(text, span) => {
                let literal = PyString::new(py, text);
                let (offset, length) = place.at(span.inner());
                self.value.call1(py, (PyString::intern(py, ""), &literal, &literal, offset,
                                      length))?
            }
            RValue::Scalar(tag, text, span) => {
                return self.scalar(py, tag, text, context, place.at(span.inner()))
            }
            RValue::Struct(members, span) => {
                let list = PyList::empty(py);
                for (name, name_span, item) in members {
                    let name = strip(py, name)?;
                    let Some(item) = self.value(py, item, name.to_str()?, place)? else {
                        return Ok(None);
                    };
                    let (offset, length) = place.at(name_span.inner());
                    list.append(self.member.call1(py, (name, item, offset, length))?)?;
                }
                let (offset, length) = place.at(span.whole());
                self.value.call1(py, (PyString::intern(py, "struct"), list,
                                      PyString::intern(py, ""), offset, length))?
            }
            RValue::Array(items, span) => {
                let list = PyList::empty(py);
                for item in items {
                    let Some(item) = self.value(py, item, "", place)? else { return Ok(None) };
                    list.append(item)?;
                }
                let (offset, length) = place.at(span.whole());
                self.value.call1(py, (PyString::intern(py, "array"), list,
                                      PyString::intern(py, ""), offset, length))?
            }
        }))
    }

    fn build(&self, py: Python<'_>, body: &Body<'_>, place: Place) -> PyResult<Option<PyObject>> {
        let (method_name, (method_offset, method_length)) = match body.method_name {
            Some((text, span)) => {
                let name = strip(py, text)?;
                if body.root == "methodCall" && name.to_str()?.is_empty() {
                    return Ok(None); // "empty <methodName>"
                }
                (Some(name), place.at(span.inner()))
            }
            None => (None, (-1, 0)),
        };
        let params = PyList::empty(py);
        for value in &body.params {
            let Some(value) = self.value(py, value, "", place)? else { return Ok(None) };
            params.append(value)?;
        }
        let fault = match &body.fault {
            Some(value) => match self.value(py, value, "", place)? {
                Some(v) => Some(v),
                None => return Ok(None),
            },
            None => None,
        };
        let extras = PyDict::new(py);
        for (tag, text, span) in &body.extras {
            let (offset, length) = place.at(span.inner());
            extras.set_item(PyString::intern(py, tag), (strip(py, text)?, offset, length))?;
        }
        let root = PyString::intern(py, body.root);
        let args = (root, method_name, method_offset, method_length, params, fault, extras,
                    PyList::empty(py));
        Ok(Some(self.body.call1(py, args)?))
    }
}

#[pymethods]
impl XmlRpcDecoder {
    #[new]
    fn new(value: Py<PyAny>, member: Py<PyAny>, body: Py<PyAny>, readers: Py<PyDict>) -> Self {
        XmlRpcDecoder { value, member, body, readers }
    }

    #[allow(clippy::too_many_arguments)]
    fn __call__(&self, py: Python<'_>, data: &[u8], size: usize, depth: usize,
                elements: usize, base: i64, offsets: bool) -> PyResult<PyObject> {
        let Some(body) = xmlrpc::decode(data, Limits { size, depth, elements }) else {
            return Ok(py.None());
        };
        Ok(self.build(py, &body, Place { offsets, base })?.unwrap_or_else(|| py.None()))
    }
}

// ---- capture record walks ------------------------------------------------------------

use crate::capture::pcapng_epb;
use pyo3::types::PyBytes;

/// `walk_epbs(Frame, buf, pos, big_endian, interfaces, number, last_ts, min_ts, end_ts)`
/// → `(frames, pos, number, last_ts)`: the Frames of the run of well-formed Enhanced
/// Packet Blocks from `pos` on, as `cvipsniff.capture.pcapng.iter_pcapng` builds them
/// (`interfaces` are its tuples); it stops at any other block, at an interface whose
/// timestamp arithmetic it does not do itself, or at a time outside `[min_ts, end_ts)`
/// (which the reference notes), for the reference to handle.
///
/// With `wanted` (a worker of a split: see `walk_pcap`), the frames of blocks `wanted`
/// says are another worker's are counted but not built, except the first block's when
/// `keep_first` (the reader noted something that goes out with the next frame).
#[pyfunction]
#[pyo3(signature = (frame_type, buf, pos, big_endian, interfaces, number, last_ts, min_ts,
                    end_ts, wanted=None, keep_first=false, packet_type=None, lane=None))]
#[allow(clippy::too_many_arguments)]
pub fn walk_epbs<'py>(py: Python<'py>, frame_type: &Bound<'py, PyAny>, buf: &Bound<'py, PyBytes>,
                      mut pos: usize, big_endian: bool, interfaces: &Bound<'py, PyList>,
                      mut number: u64, last_ts: Bound<'py, PyAny>, min_ts: i128,
                      end_ts: i128, wanted: Option<PyRef<'py, FlowShare>>, keep_first: bool,
                      packet_type: Option<Bound<'py, PyAny>>,
                      lane: Option<Bound<'py, crate::pylane::FastLane>>)
                      -> PyResult<(Bound<'py, PyList>, usize, u64, Bound<'py, PyAny>)> {
    // Per interface: (linktype, its number where it is one, multiplier, divisor,
    // offset_ns, interface number), or None where a value does not fit the integer
    // arithmetic below.
    type Iface<'py> = Option<(Bound<'py, PyAny>, Option<u32>, u64, u64, i64, Bound<'py, PyAny>)>;
    let mut table: Vec<Iface<'py>> = Vec::with_capacity(interfaces.len());
    for item in interfaces.iter() {
        let t = item.downcast::<PyTuple>()?;
        let numbers = (t.get_item(2)?.extract::<u64>(), t.get_item(3)?.extract::<u64>(),
                       t.get_item(4)?.extract::<i64>());
        let linktype = t.get_item(0)?;
        let linktype_number = linktype.extract::<u32>().ok();
        table.push(match numbers {
            (Ok(m), Ok(d), Ok(o)) if d > 0 => {
                Some((linktype, linktype_number, m, d, o, t.get_item(5)?))
            }
            _ => None,
        });
    }
    let bytes = buf.as_bytes();
    let frames = PyList::empty(py);
    let mut last = last_ts;
    let mut unbuilt_ts: Option<i128> = None; // the last block's time, if it built nothing
    let start = number;
    let new = py.get_type::<PyTuple>().getattr(pyo3::intern!(py, "__new__"))?;
    let mut lane = lane.as_ref().map(|l| l.borrow_mut());
    if let Some(lane) = lane.as_mut() {
        lane.set_paused(false);
    }
    let mut handed = false;
    while let Some(b) = pcapng_epb(bytes, pos, big_endian, table.len()) {
        let Some((linktype, linktype_number, multiplier, divisor, offset_ns, if_number)) =
            &table[b.interface as usize] else { break };
        let Some(ts) = u128::from(b.ts)
            .checked_mul(u128::from(*multiplier))
            .and_then(|scaled| i128::try_from(scaled / u128::from(*divisor)).ok())
            .and_then(|ns| ns.checked_add(i128::from(*offset_ns)))
            .filter(|ns| (min_ts..end_ts).contains(ns)) else { break };
        let data = &bytes[b.data..b.data + b.caplen as usize];
        let first = number == start;
        if let (Some(share), Some(linktype_number)) = (&wanted, linktype_number) {
            if (!first || !keep_first) && !share.share.keeps(*linktype_number, data) {
                number += 1;
                pos = b.next;
                unbuilt_ts = Some(ts);
                continue;
            }
        }
        let built = |number: u64, fast: Option<&crate::packets::Fast>|
                     -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
            let last = crate::pyint::Int(ts).into_pyobject(py)?;
            let item = record_item(py, packet_type.as_ref(), *linktype_number, number, &last,
                                   data, fast, || {
                let fields = (number, &last, b.caplen, b.origlen.max(b.caplen), linktype,
                              PyBytes::new(py, data), if_number).into_pyobject(py)?;
                new.call1((frame_type, fields))
            })?;
            Ok((item, last))
        };
        if let Some(lane) = lane.as_mut() {
            let mut made = None;
            let step = crate::pylane::step(py, lane, *linktype_number, data, number + 1,
                                           ts, &mut handed, first && keep_first, |fast| {
                let (item, ts) = built(number + 1, fast)?;
                made = Some(ts);
                Ok(item)
            })?;
            let stop = matches!(step, crate::pylane::Step::Last(_));
            match step {
                crate::pylane::Step::Stop => {
                    lane.set_paused(true);
                    break;
                }
                crate::pylane::Step::Quiet => unbuilt_ts = Some(ts),
                crate::pylane::Step::Item(item) | crate::pylane::Step::Last(item) => {
                    frames.append(item)?;
                    match made {
                        Some(ts) => {
                            last = ts;
                            unbuilt_ts = None;
                        }
                        None => unbuilt_ts = Some(ts),
                    }
                    if stop {
                        number += 1;
                        pos = b.next;
                        lane.set_paused(true);
                        break;
                    }
                }
            }
            number += 1;
            pos = b.next;
            continue;
        }
        number += 1;
        pos = b.next;
        unbuilt_ts = None;
        let (item, ts) = built(number, None)?;
        last = ts;
        frames.append(item)?;
    }
    if let Some(ts) = unbuilt_ts {
        last = crate::pyint::Int(ts).into_pyobject(py)?;
    }
    if let Some(lane) = lane.as_mut() {
        lane.settle(py)?;
    }
    Ok((frames, pos, number, last))
}

/// `FlowShare(index, bounds, named)`: which frames worker `index` of a split follows, as
/// `cvipsniff.split.Plan` places flows (`bounds`: each worker's upper bound in the hash
/// space; `named`: heavy flows' digests and their workers). The record walks take it to
/// skip other workers' frames without building them.
#[pyclass(frozen, module = "cvipsniff_accel")]
pub struct FlowShare {
    share: crate::flowweights::Share,
}

#[pymethods]
impl FlowShare {
    #[new]
    fn new(index: u32, bounds: Vec<u64>, named: std::collections::HashMap<u32, u32>) -> Self {
        FlowShare { share: crate::flowweights::Share { index, bounds, named } }
    }

    /// Whether worker `index` follows the frame `(linktype, data)`.
    fn keeps(&self, linktype: u32, data: &[u8]) -> bool {
        self.share.keeps(linktype, data)
    }
}

/// `walk_pcap(Frame, buf, pos, big_endian, header_size, nanosecond, linktype, max_caplen,
/// number, wanted, keep_first, packet_type)` → `(frames, pos, number, last_sec)`: the run
/// of classic pcap records whole in `buf` from `pos` on (see `capture::pcap_record`), as
/// `cvipsniff.capture.pcap.iter_pcap` builds their Frames, but only those `wanted` keeps
/// (all without one; and the first, when `keep_first`); every record walked is counted
/// in `number`. With a `packet_type`, a record the decoder's fast path reads comes as its
/// Packet instead (as `fast_packet` builds it). `last_sec`: the seconds of the last
/// record walked, None if none was.
#[pyfunction]
#[pyo3(signature = (frame_type, buf, pos, big_endian, header_size, nanosecond, linktype,
                    max_caplen, number, wanted=None, keep_first=false, packet_type=None,
                    lane=None))]
#[allow(clippy::too_many_arguments)]
pub fn walk_pcap<'py>(py: Python<'py>, frame_type: &Bound<'py, PyAny>, buf: &Bound<'py, PyBytes>,
                      mut pos: usize, big_endian: bool, header_size: usize, nanosecond: bool,
                      linktype: u32, max_caplen: u32, mut number: u64,
                      wanted: Option<PyRef<'py, FlowShare>>, keep_first: bool,
                      packet_type: Option<Bound<'py, PyAny>>,
                      lane: Option<Bound<'py, crate::pylane::FastLane>>)
                      -> PyResult<(Bound<'py, PyList>, usize, u64, Option<u32>)> {
    let bytes = buf.as_bytes();
    let frames = PyList::empty(py);
    let new = py.get_type::<PyTuple>().getattr(pyo3::intern!(py, "__new__"))?;
    let scale: u64 = if nanosecond { 1 } else { 1000 };
    let start = number;
    let mut last_sec = None;
    let mut lane = lane.as_ref().map(|l| l.borrow_mut());
    if let Some(lane) = lane.as_mut() {
        lane.set_paused(false);
    }
    let mut handed = false;
    while let Some(r) = crate::capture::pcap_record(bytes, pos, big_endian, header_size,
                                                    max_caplen) {
        let data = &bytes[r.data..r.next];
        let first = number == start;
        if let Some(wanted) = &wanted {
            if (!first || !keep_first) && !wanted.share.keeps(linktype, data) {
                number += 1;
                pos = r.next;
                last_sec = Some(r.sec);
                continue;
            }
        }
        let ts_ns = u64::from(r.sec) * 1_000_000_000 + u64::from(r.frac) * scale;
        let built = |number: u64, fast: Option<&crate::packets::Fast>| {
            let ts = ts_ns.into_pyobject(py)?.into_any();
            record_item(py, packet_type.as_ref(), Some(linktype), number, &ts, data, fast, || {
                let fields = (number, &ts, r.incl, r.orig.max(r.incl), linktype,
                              PyBytes::new(py, data), 0u32).into_pyobject(py)?;
                new.call1((frame_type, fields))
            })
        };
        if let Some(lane) = lane.as_mut() {
            match crate::pylane::step(py, lane, Some(linktype), data, number + 1,
                                      i128::from(ts_ns), &mut handed, first && keep_first,
                                      |fast| built(number + 1, fast))? {
                crate::pylane::Step::Stop => {
                    lane.set_paused(true);
                    break;
                }
                crate::pylane::Step::Quiet => {}
                crate::pylane::Step::Item(item) => frames.append(item)?,
                crate::pylane::Step::Last(item) => {
                    frames.append(item)?;
                    number += 1;
                    pos = r.next;
                    last_sec = Some(r.sec);
                    lane.set_paused(true);
                    break;
                }
            }
            number += 1;
            pos = r.next;
            last_sec = Some(r.sec);
            continue;
        }
        number += 1;
        pos = r.next;
        last_sec = Some(r.sec);
        frames.append(built(number, None)?)?;
    }
    if let Some(lane) = lane.as_mut() {
        lane.settle(py)?;
    }
    Ok((frames, pos, number, last_sec))
}

// ---- packet decoder fast path ----------------------------------------------------------

/// `fast_packet(Packet, frame)`: the Packet the reference decoder's fast path builds for
/// an Ethernet/IPv4/TCP-or-UDP frame of the common shape, or None (then the reference
/// decodes the frame in full).
#[pyfunction]
pub fn fast_packet<'py>(py: Python<'py>, packet_type: &Bound<'py, PyAny>,
                        frame: &Bound<'py, PyTuple>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let data = frame.get_item(5)?;
    let data = data.downcast::<PyBytes>()?;
    let Ok(linktype) = frame.get_item(4)?.extract::<u32>() else { return Ok(None) };
    let bytes = data.as_bytes();
    let Some(f) = crate::packets::fast_path(linktype, bytes) else { return Ok(None) };
    Ok(Some(packet_of(py, packet_type, frame.get_item(0)?, frame.get_item(1)?, &f, bytes)?))
}

/// The Packet `fast_packet` builds for frame `number` at `ts` whose bytes `data` the fast
/// path read as `f` (one place, so the record walks build the very same objects).
fn packet_of<'py>(py: Python<'py>, packet_type: &Bound<'py, PyAny>, number: Bound<'py, PyAny>,
                  ts: Bound<'py, PyAny>, f: &crate::packets::Fast, data: &[u8])
                  -> PyResult<Bound<'py, PyAny>> {
    let payload = PyBytes::new(py, &data[f.payload.0..f.payload.1]);
    let empty = PyTuple::empty(py);
    let args = PyTuple::new(py, [
        number, ts, 4u8.into_pyobject(py)?.into_any(),
        PyBytes::new(py, &f.src).into_any(), PyBytes::new(py, &f.dst).into_any(),
        f.protocol.into_pyobject(py)?.into_any(), f.sport.into_pyobject(py)?.into_any(),
        f.dport.into_pyobject(py)?.into_any(), payload.into_any(),
        0u8.into_pyobject(py)?.into_any(), f.seq.into_pyobject(py)?.into_any(),
        f.ack.into_pyobject(py)?.into_any(), f.flags.into_pyobject(py)?.into_any(),
        f.window.into_pyobject(py)?.into_any(), empty.clone().into_any(), empty.into_any(),
    ])?;
    packet_type.call1(args)
}

/// A walked record as its reader hands it on: with a `packet_type`, the Packet the
/// decoder's fast path makes of it where that path reads it (the caller then skips the
/// decoder), else its Frame, built by `frame` only when needed. `fast`: what the fast
/// path read of it, where the caller ran it already (None: run it here).
#[allow(clippy::too_many_arguments)]
fn record_item<'py>(py: Python<'py>, packet_type: Option<&Bound<'py, PyAny>>,
                    linktype: Option<u32>, number: u64, ts: &Bound<'py, PyAny>, data: &[u8],
                    fast: Option<&crate::packets::Fast>,
                    frame: impl FnOnce() -> PyResult<Bound<'py, PyAny>>)
                    -> PyResult<Bound<'py, PyAny>> {
    if let (Some(packet_type), Some(linktype)) = (packet_type, linktype) {
        let read;
        let fast = match fast {
            Some(f) => Some(f),
            None => {
                read = crate::packets::fast_path(linktype, data);
                read.as_ref()
            }
        };
        if let Some(f) = fast {
            let number = number.into_pyobject(py)?.into_any();
            return packet_of(py, packet_type, number, ts.clone(), f, data);
        }
    }
    frame()
}

// ---- CVIP framer -------------------------------------------------------------------------

/// `data`'s bytes to `f`: a bytes object's own, or a copy of anything else with the
/// buffer protocol (bytearray, memoryview), as the reference framers take them.
fn with_bytes<R>(py: Python<'_>, data: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R)
                 -> PyResult<R> {
    if let Ok(bytes) = data.downcast::<PyBytes>() {
        return Ok(f(bytes.as_bytes()));
    }
    Ok(f(&PyBuffer::<u8>::get(data)?.to_vec(py)?))
}

/// A framer's events as `framed`/`skipped` objects (`dissectors.base`'s classes), each
/// problem built by `problem` (the one part that differs between protocols).
fn event_list<'py, P>(py: Python<'py>, framed: &Py<PyAny>, skipped: &Py<PyAny>,
                      events: Vec<crate::framing::Event<P>>,
                      mut problem: impl FnMut(P) -> PyResult<PyObject>)
                      -> PyResult<Bound<'py, PyList>> {
    use crate::framing::Event as E;
    let list = PyList::empty(py);
    for event in events {
        let item = match event {
            E::Framed { start, data, problems, truncated } => {
                let found = PyList::empty(py);
                for p in problems {
                    found.append(problem(p)?)?;
                }
                framed.call1(py, (start, PyBytes::new(py, &data), found, truncated))?
            }
            E::Skipped { start, length, rule, reason } => {
                skipped.call1(py, (start, length, PyString::intern(py, rule), reason))?
            }
        };
        list.append(item)?;
    }
    Ok(list)
}

use crate::cvipframe::{Event, Framer};
use pyo3::buffer::PyBuffer;

/// `CvipFramerKit(Framed, Skipped, Problem, section)`: the classes the framers build their
/// events with (`dissectors.base`'s own) and the spec section their problems cite; one
/// kit is shared by every framer.
#[pyclass(frozen, module = "cvipsniff_accel")]
pub struct CvipFramerKit {
    framed: Py<PyAny>,
    skipped: Py<PyAny>,
    problem: Py<PyAny>,
    section: Py<PyString>,
}

#[pymethods]
impl CvipFramerKit {
    #[new]
    fn new(framed: Py<PyAny>, skipped: Py<PyAny>, problem: Py<PyAny>, section: Py<PyString>)
           -> Self {
        CvipFramerKit { framed, skipped, problem, section }
    }
}

/// `CvipFramer(kit, size_cap, size_includes_header)`: the compiled twin of
/// `dissectors.cvip.framer.CvipFramer`, with its `feed`/`gap`/`close` returning the same
/// `Framed`/`Skipped` events.
#[pyclass(module = "cvipsniff_accel")]
pub struct CvipFramer {
    pub(crate) inner: Framer,
    kit: Py<CvipFramerKit>,
}

impl CvipFramer {
    pub(crate) fn events<'py>(&self, py: Python<'py>, events: Vec<Event>) -> PyResult<Bound<'py, PyList>> {
        let kit = self.kit.get();
        let error = pyo3::intern!(py, "error");
        event_list(py, &kit.framed, &kit.skipped, events, |p| {
            kit.problem.call1(py, (PyString::intern(py, p.rule), error, p.message,
                                   kit.section.bind(py), p.offset, p.length))
        })
    }
}

#[pymethods]
impl CvipFramer {
    #[new]
    fn new(kit: Py<CvipFramerKit>, size_cap: u64, size_includes_header: bool) -> Self {
        CvipFramer { inner: Framer::new(size_cap, size_includes_header), kit }
    }

    #[getter]
    fn size_cap(&self) -> u64 {
        self.inner.size_cap
    }

    #[getter]
    fn size_includes_header(&self) -> bool {
        self.inner.size_includes_header
    }

    /// Bytes held in the framer's buffer (the reference's ``len(_buf)``).
    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    /// Bytes, or anything with the buffer protocol (bytearray, memoryview).
    fn feed<'py>(&mut self, py: Python<'py>, data: &Bound<'py, PyAny>)
                 -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        with_bytes(py, data, |bytes| self.inner.feed(bytes, &mut out))?;
        self.events(py, out)
    }

    fn gap<'py>(&mut self, py: Python<'py>, length: u64) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        self.inner.gap(length, &mut out);
        self.events(py, out)
    }

    fn close<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        self.inner.close(&mut out);
        self.events(py, out)
    }
}

// ---- flows: the statistics-only pass ---------------------------------------------------

/// `flow_stats(path, server_ports, max_flows, linger_ns, min_ts, end_ts)`: the flows of a
/// plain classic pcap or pcapng file as `cvipsniff flows` lists them (see `flowstats.rs`),
/// as a `FlowRows` iterator; or None for anything else (then the reference reads the
/// file). Never raises for the file's content or an unreadable file: those are the
/// reference's to report.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn flow_stats(py: Python<'_>, path: std::path::PathBuf, server_ports: Vec<u16>,
                  max_flows: usize, linger_ns: u64, min_ts: i128, end_ts: i128)
                  -> Option<FlowRows> {
    use crate::flowstats::Config;
    let rows = py.allow_threads(|| {
        let file = std::fs::File::open(&path).ok()?;
        let config = Config { server_ports: &server_ports, max_flows, linger_ns,
                              ts_range: (min_ts, end_ts) };
        crate::flowstats::flow_stats(file, &config)
    })?;
    Some(FlowRows { rows: rows.into_iter() })
}

/// The flows `flow_stats` found, one tuple at a time (a million flows never exist as a
/// million tuples at once): `(tcp, client address, client port, server address, server
/// port, first frame, first ts, last ts, mid_session, closed, (packets, bytes, delivered)
/// client→server, the same server→client)`.
#[pyclass(module = "cvipsniff_accel")]
pub struct FlowRows {
    rows: std::vec::IntoIter<crate::flowstats::FlowRow>,
}

#[pymethods]
impl FlowRows {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __len__(&self) -> usize {
        self.rows.len()
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        use crate::flowstats::Closed;
        let Some(r) = self.rows.next() else { return Ok(None) };
        let closed = match r.closed {
            Some(Closed::Fin) => "fin",
            Some(Closed::Rst) => "rst",
            Some(Closed::Evicted) => "evicted",
            None => "end-of-capture",
        };
        let [a, b] = r.stats;
        Ok(Some((r.tcp, PyBytes::new(py, &r.client.0), r.client.1,
                 PyBytes::new(py, &r.server.0), r.server.1, r.first_frame, r.first_ts,
                 r.last_ts, r.mid_session, closed, (a.packets, a.bytes, a.delivered),
                 (b.packets, b.bytes, b.delivered)).into_pyobject(py)?))
    }
}

// ---- flow weights for the split of one capture (cvipsniff/split.py) ----------------------

use crate::flowweights::{weigh, Costs};
use crate::readahead::with_read_ahead;

/// What `flow_weights` returns: the heavy flows, the buckets, the counts.
type FlowWeights<'py> = (Bound<'py, PyList>, Vec<u64>, (u64, u64, u64, u64, u64));

/// `flow_weights(path, packet_cost, segment_cost, push_cost, max_tracked, heavy)` →
/// `(heavy, buckets, (frames, pushes, datagrams, datagram_bytes))`: the `heavy` heaviest
/// TCP flows of a pcap or pcapng file as `(key, weight)` (the key as `cvipsniff.split`
/// builds it), every other flow's weight summed in `buckets` (by the top 16 bits of the
/// key's CRC-32), and counts over the file (frames walked, TCP segments with payload and
/// PSH, UDP datagrams with payload and their payload bytes, TCP flows first seen);
/// None for a file this pass does not read (compressed, unreadable): the split then
/// places every flow by its hash. Runs without the interpreter lock.
#[pyfunction]
pub fn flow_weights<'py>(py: Python<'py>, path: std::path::PathBuf, packet_cost: u64,
                         segment_cost: u64, push_cost: u64, max_tracked: usize,
                         heavy: usize)
                         -> PyResult<Option<FlowWeights<'py>>> {
    let costs = Costs { packet: packet_cost, segment: segment_cost, push: push_cost };
    let weights = py.allow_threads(|| {
        let file = std::fs::File::open(&path).ok()?;
        // The file read on a second thread: the cores are otherwise idle in this pass.
        with_read_ahead(file, |stream| weigh(stream, costs, max_tracked, heavy))
            .ok().flatten()
    });
    let Some(weights) = weights else { return Ok(None) };
    let named = PyList::empty(py);
    for (key, weight) in &weights.heavy {
        named.append((PyBytes::new(py, key.as_bytes()), *weight))?;
    }
    let t = weights.totals;
    Ok(Some((named, weights.buckets,
              (t.frames, t.pushes, t.datagrams, t.datagram_bytes, t.flows))))
}

/// `flow_digest(frame)`: for a frame the packet decoder's fast path (`fast_packet`) reads
/// as TCP, the CRC-32 of its flow key (`cvipsniff.split.flow_key`, both directions
/// alike); -1 for any other frame. Lets a worker of the split pass over another's
/// frames without decoding them.
#[pyfunction]
pub fn flow_digest(frame: &Bound<'_, PyTuple>) -> PyResult<i64> {
    let data = frame.get_item(5)?;
    let Ok(data) = data.downcast::<PyBytes>() else { return Ok(-1) };
    let Ok(linktype) = frame.get_item(4)?.extract::<u32>() else { return Ok(-1) };
    Ok(match crate::packets::fast_path(linktype, data.as_bytes()) {
        Some(f) if f.protocol == 6 => {
            i64::from(crate::flowweights::FlowKey::new(&f.src, f.sport, &f.dst, f.dport).digest())
        }
        _ => -1,
    })
}

// ---- the credential pre-check (dissectors/secrets.py) -----------------------------------

/// `may_hold_secrets(data)`: `dissectors.secrets.may_hold_secrets` (bytes-like `data`).
#[pyfunction]
pub fn may_hold_secrets(data: &Bound<'_, PyAny>) -> PyResult<bool> {
    if let Ok(bytes) = data.downcast::<PyBytes>() {
        return Ok(crate::secrets::may_hold_secrets(bytes.as_bytes()));
    }
    // bytearray, memoryview: as Python's bytes() copies them.
    let copy = data.py().get_type::<PyBytes>().call1((data,))?;
    Ok(crate::secrets::may_hold_secrets(copy.downcast::<PyBytes>()?.as_bytes()))
}

// ---- ImageServer framer -------------------------------------------------------------------

/// `ImageServerFramerKit(Framed, Skipped, problem, sections)`: the classes the framers
/// build their events with (`dissectors.base`'s own), the maker of their problems
/// (`dissectors.imageserver.rules.problem(rule, message, spec)`, which knows each rule's
/// severity) and the spec sections they cite, in `isframe::Spec` order (`S_INTRO`,
/// `S_IMAGE_SINGLE`, `S_IMAGE_MULTIPART`, `S_LIVE_RESPONSES`); one kit is shared by every
/// framer.
#[pyclass(frozen, module = "cvipsniff_accel")]
pub struct ImageServerFramerKit {
    framed: Py<PyAny>,
    skipped: Py<PyAny>,
    problem: Py<PyAny>,
    sections: [Py<PyString>; 4],
}

#[pymethods]
impl ImageServerFramerKit {
    #[new]
    fn new(framed: Py<PyAny>, skipped: Py<PyAny>, problem: Py<PyAny>,
           sections: (Py<PyString>, Py<PyString>, Py<PyString>, Py<PyString>)) -> Self {
        let (intro, single, multipart, live) = sections;
        ImageServerFramerKit { framed, skipped, problem,
                               sections: [intro, single, multipart, live] }
    }
}

/// `ImageServerFramer(kit, max_header_bytes, max_xml_bytes, max_body)`: the compiled twin
/// of `dissectors.imageserver.framer.ImageServerFramer`, with its `feed`/`gap`/`close`
/// returning the same `Framed`/`Skipped` events. Caps it does not take (see
/// `isframe::Framer::new`) raise ValueError: the caller keeps the reference for them.
#[pyclass(module = "cvipsniff_accel")]
pub struct ImageServerFramer {
    pub(crate) inner: crate::isframe::Framer,
    kit: Py<ImageServerFramerKit>,
}

impl ImageServerFramer {
    pub(crate) fn events<'py>(&self, py: Python<'py>, events: Vec<crate::isframe::Event>)
                   -> PyResult<Bound<'py, PyList>> {
        let kit = self.kit.get();
        event_list(py, &kit.framed, &kit.skipped, events, |p| {
            let section = kit.sections[p.spec as usize].bind(py);
            kit.problem.call1(py, (PyString::intern(py, p.rule), p.message, section))
        })
    }
}

#[pymethods]
impl ImageServerFramer {
    #[new]
    fn new(kit: Py<ImageServerFramerKit>, max_header_bytes: u64, max_xml_bytes: u64,
           max_body: u64) -> PyResult<Self> {
        let inner = crate::isframe::Framer::new(max_header_bytes, max_xml_bytes, max_body)
            .ok_or_else(|| pyo3::exceptions::PyValueError::new_err(
                "caps the compiled ImageServer framer does not take"))?;
        Ok(ImageServerFramer { inner, kit })
    }

    #[getter]
    fn max_header_bytes(&self) -> u64 {
        self.inner.max_header_bytes
    }

    #[getter]
    fn max_xml_bytes(&self) -> u64 {
        self.inner.max_xml_bytes
    }

    #[getter]
    fn max_body(&self) -> u64 {
        self.inner.max_body
    }

    /// Bytes held in the framer's buffer (the reference's ``len(_buf)``).
    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    /// Bytes, or anything with the buffer protocol (bytearray, memoryview).
    fn feed<'py>(&mut self, py: Python<'py>, data: &Bound<'py, PyAny>)
                 -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        with_bytes(py, data, |bytes| self.inner.feed(bytes, &mut out))?;
        self.events(py, out)
    }

    /// A gap of `length` lost bytes (nothing happens for length <= 0, as in the
    /// reference; a length beyond 64 bits counts as 2**64 - 1).
    fn gap<'py>(&mut self, py: Python<'py>, length: i128) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        if length > 0 {
            self.inner.gap(u64::try_from(length).unwrap_or(u64::MAX), &mut out);
        }
        self.events(py, out)
    }

    fn close<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        self.inner.close(&mut out);
        self.events(py, out)
    }
}
