//! The fast lane (issue #17's fused path, stage 2): the in-order TCP segments of calm
//! connections taken in the record walk itself, never made Python objects.
//!
//! Most packets of real traffic are the next in-order segment (or a bare ACK) of a
//! connection with nothing special going on, and for those the reference does the same
//! few steps every time: the flow table's in-order fast path
//! (`cvipsniff.flows.table.FlowTable.feed`), the pipeline's note of which frame carried
//! which stream bytes (`OffsetIndex`) and the direction's framer. The lane does exactly
//! those steps here, on connections the table *lends* it, and hands Python only what
//! the framer finished (as `(state, direction state, direction, events, frame)`, which
//! the pipeline turns into messages as it would have) and every packet it does not take.
//!
//! Who owns what, so the two paths cannot differ:
//! * The table lends a connection (both directions) only while Python's state of it is
//!   current, and takes it back (`release`) before it touches that connection again: at
//!   any of its packets, and when it forgets it (eviction, reuse). The lane's mirror of
//!   the fields the fast path changes is then written back first.
//! * A walk writes every changed field back (`settle`) before it returns, and once it
//!   has handed Python a packet it takes nothing more: it returns right after a TCP
//!   packet or an undecoded frame (Python may lend that connection once it has seen
//!   it), and after anything else stops before the next packet it would take. Python
//!   sees the state as of each packet it is handed, never a later one. The messages the
//!   lane's framers finish hold no flow state; a skipped-bytes note holds its flow, so
//!   the walk returns right after the packet that made one. The record after a reader's
//!   note is always handed on (the note goes out with its outputs).
//! * A packet the lane takes meets exactly the reference fast path's conditions (same
//!   sequence number, only ACK among SYN/FIN/RST/ACK, an open window, nothing cut, time
//!   not going backwards) and changes exactly its fields.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::packets::Fast;
use crate::py::{CvipFramer, ImageServerFramer};
use crate::pyint::Int;

// ---- which frame carried which stream bytes ----------------------------------------------

/// `OffsetIndex()`: the compiled twin of `cvipsniff.pipeline.OffsetIndex` (see it for the
/// meaning): the bytes from `offsets[i]` up to `offsets[i+1]` came in `frames[i]` at
/// `times[i]`; entries before `head` are consumed.
#[pyclass(module = "cvipsniff_accel")]
#[derive(Default)]
pub struct OffsetIndex {
    offsets: Vec<i64>,
    frames: Vec<i64>,
    times: Vec<i128>,
    head: usize,
}

/// Python's `bisect.bisect_right(a, x, lo)` (the same probes, so the same answer on any
/// input).
fn bisect_right(a: &[i64], x: i128, mut lo: usize) -> usize {
    let mut hi = a.len();
    while lo < hi {
        let mid = (lo + hi) / 2;
        if x < i128::from(a[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Python's `bisect.bisect_left(a, x, lo)`.
fn bisect_left(a: &[i64], x: i128, mut lo: usize) -> usize {
    let mut hi = a.len();
    while lo < hi {
        let mid = (lo + hi) / 2;
        if i128::from(a[mid]) < x {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl OffsetIndex {
    pub(crate) fn note(&mut self, offset: i64, frame: i64, ts_ns: i128) {
        self.offsets.push(offset);
        self.frames.push(frame);
        self.times.push(ts_ns);
    }

    fn span(&mut self, start: i128, end: i128) -> (Vec<i64>, i128, i128) {
        let offsets = &self.offsets;
        let lo = bisect_right(offsets, start, self.head).wrapping_sub(1);
        let lo = if lo == usize::MAX { self.head } else { lo.max(self.head) };
        let hi = bisect_left(offsets, end.max(start + 1), lo);
        let mut frames: Vec<i64> = Vec::new();
        let mut last_ts: i128 = 0;
        for i in lo..hi {
            let f = self.frames[i];
            if frames.last() != Some(&f) {
                frames.push(f);
            }
            if self.times[i] > last_ts {
                last_ts = self.times[i];
            }
        }
        let first_ts = self.times.get(lo).copied().unwrap_or(0);
        if last_ts == 0 {
            last_ts = first_ts;
        }
        // The entry at hi-1 may still hold bytes past `end`; keep it as the new head.
        let keep = if hi > lo { hi - 1 } else { lo };
        self.head = self.head.max(keep);
        if self.head > 1024 && self.head * 2 > self.offsets.len() {
            self.offsets.drain(..self.head);
            self.frames.drain(..self.head);
            self.times.drain(..self.head);
            self.head = 0;
        }
        (frames, first_ts, last_ts)
    }
}

#[pymethods]
impl OffsetIndex {
    #[new]
    fn new() -> Self {
        OffsetIndex::default()
    }

    fn note_bytes(&mut self, offset: i64, frame: i64, ts_ns: Int) {
        self.note(offset, frame, ts_ns.0);
    }

    fn frames_for<'py>(&mut self, py: Python<'py>, start: Int, end: Int)
                       -> PyResult<(Bound<'py, PyList>, Int, Int)> {
        let (frames, first_ts, last_ts) = self.span(start.0, end.0);
        Ok((PyList::new(py, frames)?, Int(first_ts), Int(last_ts)))
    }

    /// The time of the last entry noted, 0 if none was.
    fn last_time(&self) -> Int {
        Int(self.times.last().copied().unwrap_or(0))
    }

    /// Entries held (consumed ones not yet dropped included).
    fn __len__(&self) -> usize {
        self.offsets.len()
    }
}

// ---- the lane --------------------------------------------------------------------------

/// A table key as bytes: source address, port, destination address, port (IPv4 only:
/// the packet decoder's fast path, whose packets the lane sees, reads nothing else).
type Key = [u8; 12];

fn key_of(src: &[u8; 4], sport: u16, dst: &[u8; 4], dport: u16) -> Key {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(src);
    k[4..6].copy_from_slice(&sport.to_be_bytes());
    k[6..10].copy_from_slice(dst);
    k[10..].copy_from_slice(&dport.to_be_bytes());
    k
}

enum LaneFramer {
    Cvip(Py<CvipFramer>),
    ImageServer(Py<ImageServerFramer>),
}

impl LaneFramer {
    /// Feed `payload`: the events it finished as the Python objects the framer's own
    /// `feed` returns, and whether a skipped-bytes event is among them; None if none.
    fn feed<'py>(&self, py: Python<'py>, payload: &[u8])
                 -> PyResult<Option<(Bound<'py, PyList>, bool)>> {
        fn finished<'py, P>(out: Vec<crate::framing::Event<P>>,
                            events: impl FnOnce(Vec<crate::framing::Event<P>>)
                                                -> PyResult<Bound<'py, PyList>>)
                            -> PyResult<Option<(Bound<'py, PyList>, bool)>> {
            if out.is_empty() {
                return Ok(None);
            }
            let skips = out.iter().any(|e| matches!(e, crate::framing::Event::Skipped { .. }));
            Ok(Some((events(out)?, skips)))
        }
        match self {
            LaneFramer::Cvip(framer) => {
                let mut framer = framer.bind(py).borrow_mut();
                let mut out = Vec::new();
                framer.inner.feed(payload, &mut out);
                finished(out, |out| framer.events(py, out))
            }
            LaneFramer::ImageServer(framer) => {
                let mut framer = framer.bind(py).borrow_mut();
                let mut out = Vec::new();
                framer.inner.feed(payload, &mut out);
                finished(out, |out| framer.events(py, out))
            }
        }
    }
}

/// A lent direction: the reference objects it stands for and its mirror of the fields
/// the fast path changes.
struct Half {
    flow: u64,
    half: Py<PyAny>,
    stats: Py<PyAny>,
    /// `(pipeline flow state, direction state, direction)`: where the framer's events go.
    target: Option<(Py<PyAny>, Py<PyAny>, u8)>,
    framer: Option<LaneFramer>,
    index: Option<Py<OffsetIndex>>,
    /// None: this direction's fast path is closed (its `fast_seq` is -1).
    fast_seq: Option<u32>,
    next_offset: i64,
    ack: u32,
    last_frame: u64,
    packets: i64,
    bytes: i64,
    delivered: i64,
    /// Changed since written back; `moved`: bytes were delivered (the stream position
    /// changed, not only the ACK and the counts).
    dirty: bool,
    moved: bool,
}

struct FlowEntry {
    flow: Py<PyAny>,
    last_ts: i128,
    keys: [Key; 2],
    dirty: bool,
}

/// What the lane made of a packet.
pub(crate) enum Taken<'py> {
    /// Not taken: the reference handles it.
    No,
    /// Taken, and the framer finished nothing.
    Quiet,
    /// Taken: the item to hand the pipeline (`(state, direction state, direction, events,
    /// frame)`).
    Framed(Bound<'py, PyTuple>),
    /// The same, with a skipped-bytes event among the events: its note carries the flow
    /// itself, whose state Python must see as of this packet (the walk returns after it).
    FramedNote(Bound<'py, PyTuple>),
}

/// `FastLane()`: see the module documentation. One per capture read.
#[pyclass(module = "cvipsniff_accel")]
#[derive(Default)]
pub struct FastLane {
    halves: HashMap<Key, Half>,
    flows: HashMap<u64, FlowEntry>,
    dirty_halves: Vec<Key>,
    dirty_flows: Vec<u64>,
    /// Packets taken (the pipeline counts them as frames it was fed).
    consumed: u64,
    /// The last walk stopped early, after handing over a packet, at one it would take.
    paused: bool,
}

fn key_from(key: &Bound<'_, PyAny>) -> PyResult<Option<Key>> {
    let t = key.downcast::<PyTuple>()?;
    let (src, dst) = (t.get_item(0)?, t.get_item(2)?);
    let (Ok(src), Ok(dst)) = (src.downcast::<PyBytes>(), dst.downcast::<PyBytes>()) else {
        return Ok(None);
    };
    let (Ok(src), Ok(dst)) = (<[u8; 4]>::try_from(src.as_bytes()),
                              <[u8; 4]>::try_from(dst.as_bytes())) else { return Ok(None) };
    let (Ok(sport), Ok(dport)) = (t.get_item(1)?.extract::<u16>(),
                                  t.get_item(3)?.extract::<u16>()) else { return Ok(None) };
    Ok(Some(key_of(&src, sport, &dst, dport)))
}

impl FastLane {
    /// Take `f` (frame `number` at `ts_ns`, its frame bytes `data`) if the reference
    /// fast path would, doing what it and the pipeline would; `peek`: only say whether
    /// it would (`Quiet` for yes), changing nothing.
    pub(crate) fn take<'py>(&mut self, py: Python<'py>, f: &Fast, data: &[u8], number: u64,
                            ts_ns: i128, peek: bool) -> PyResult<Taken<'py>> {
        if f.protocol != 6 || self.halves.is_empty() {
            return Ok(Taken::No);
        }
        let key = key_of(&f.src, f.sport, &f.dst, f.dport);
        let Some(h) = self.halves.get_mut(&key) else { return Ok(Taken::No) };
        if h.fast_seq != Some(f.seq) || f.flags & 0x17 != 0x10 || f.window == 0 {
            return Ok(Taken::No);
        }
        let flow = self.flows.get_mut(&h.flow).expect("a lent direction's flow is lent");
        if ts_ns < flow.last_ts {
            return Ok(Taken::No); // the eviction key went down: the reference's to push
        }
        let payload = &data[f.payload.0..f.payload.1];
        let n = payload.len();
        if n > 0 && h.framer.is_none() {
            return Ok(Taken::No); // no compiled framer: the pipeline frames these bytes
        }
        if peek {
            return Ok(Taken::Quiet);
        }
        self.consumed += 1;
        flow.last_ts = ts_ns;
        if !flow.dirty {
            flow.dirty = true;
            self.dirty_flows.push(h.flow);
        }
        h.ack = f.ack;
        h.packets += 1;
        if !h.dirty {
            h.dirty = true;
            self.dirty_halves.push(key);
        }
        if n == 0 {
            return Ok(Taken::Quiet);
        }
        let n64 = n as i64;
        h.bytes += n64;
        h.delivered += n64;
        let offset = h.next_offset;
        h.next_offset += n64;
        h.fast_seq = Some(((u64::from(f.seq) + n as u64) & 0xFFFF_FFFF) as u32);
        h.last_frame = number;
        h.moved = true;
        if let Some(index) = &h.index {
            index.bind(py).borrow_mut().note(offset, number as i64, ts_ns);
        }
        let Some((events, note)) = h.framer.as_ref().expect("checked above").feed(py, payload)?
        else { return Ok(Taken::Quiet) };
        let (state, d, direction) = h.target.as_ref().expect("a framer has its target");
        let item = PyTuple::new(py, [state.bind(py).clone(), d.bind(py).clone(),
                                     direction.into_pyobject(py)?.into_any(),
                                     events.into_any(), number.into_pyobject(py)?.into_any()])?;
        Ok(if note { Taken::FramedNote(item) } else { Taken::Framed(item) })
    }

    /// Write every changed field back to the reference objects.
    pub(crate) fn settle(&mut self, py: Python<'_>) -> PyResult<()> {
        for key in std::mem::take(&mut self.dirty_halves) {
            if let Some(h) = self.halves.get_mut(&key) {
                write_half(py, h)?;
            }
        }
        for id in std::mem::take(&mut self.dirty_flows) {
            if let Some(flow) = self.flows.get_mut(&id) {
                write_flow(py, flow)?;
            }
        }
        Ok(())
    }

    pub(crate) fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }
}

fn write_half(py: Python<'_>, h: &mut Half) -> PyResult<()> {
    if !h.dirty {
        return Ok(());
    }
    h.dirty = false;
    let half = h.half.bind(py);
    half.setattr(pyo3::intern!(py, "ack"), h.ack)?;
    let stats = h.stats.bind(py);
    stats.setattr(pyo3::intern!(py, "packets"), h.packets)?;
    if h.moved {
        h.moved = false;
        half.setattr(pyo3::intern!(py, "next_offset"), h.next_offset)?;
        if let Some(seq) = h.fast_seq {
            half.setattr(pyo3::intern!(py, "next_seq"), seq)?;
            half.setattr(pyo3::intern!(py, "fast_seq"), seq)?;
        }
        half.setattr(pyo3::intern!(py, "last_frame"), h.last_frame)?;
        stats.setattr(pyo3::intern!(py, "bytes"), h.bytes)?;
        stats.setattr(pyo3::intern!(py, "delivered"), h.delivered)?;
    }
    Ok(())
}

fn write_flow(py: Python<'_>, flow: &mut FlowEntry) -> PyResult<()> {
    if flow.dirty {
        flow.dirty = false;
        flow.flow.bind(py).setattr(pyo3::intern!(py, "last_ts_ns"), Int(flow.last_ts))?;
    }
    Ok(())
}

/// One direction of a connection to lend, read from the reference objects; None where a
/// value is outside what the lane mirrors (then the connection is not lent).
fn read_half(py: Python<'_>, flow_id: u64, half: &Bound<'_, PyAny>, target: Option<Py<PyAny>>,
             state: &Bound<'_, PyAny>, direction: u8) -> PyResult<Option<Half>> {
    let fast_seq: i64 = match half.getattr(pyo3::intern!(py, "fast_seq"))?.extract() {
        Ok(v) => v,
        Err(_) => return Ok(None),
    };
    let fast_seq = u32::try_from(fast_seq).ok();
    let stats = half.getattr(pyo3::intern!(py, "stats"))?;
    let read = |obj: &Bound<'_, PyAny>, name: &Bound<'_, pyo3::types::PyString>|
        obj.getattr(name).and_then(|v| v.extract::<i64>()).ok();
    let (Some(next_offset), Some(last_frame), Some(packets), Some(bytes), Some(delivered)) = (
        read(half, pyo3::intern!(py, "next_offset")),
        read(half, pyo3::intern!(py, "last_frame")),
        read(&stats, pyo3::intern!(py, "packets")),
        read(&stats, pyo3::intern!(py, "bytes")),
        read(&stats, pyo3::intern!(py, "delivered")),
    ) else { return Ok(None) };
    let Ok(last_frame) = u64::try_from(last_frame) else { return Ok(None) };
    // The direction's framer, where the pipeline has one it is compiled.
    let (mut framer, mut index, mut where_to) = (None, None, None);
    if let Some(d) = target {
        let d = d.bind(py);
        let f = d.getattr(pyo3::intern!(py, "framer"))?;
        framer = if let Ok(c) = f.downcast::<CvipFramer>() {
            Some(LaneFramer::Cvip(c.clone().unbind()))
        } else if let Ok(i) = f.downcast::<ImageServerFramer>() {
            Some(LaneFramer::ImageServer(i.clone().unbind()))
        } else {
            None
        };
        if framer.is_some() {
            let Ok(i) = d.getattr(pyo3::intern!(py, "index"))?.downcast_into::<OffsetIndex>()
            else { return Ok(None) };
            index = Some(i.unbind());
            where_to = Some((state.clone().unbind(), d.clone().unbind(), direction));
        }
    }
    Ok(Some(Half {
        flow: flow_id,
        half: half.clone().unbind(),
        stats: stats.unbind(),
        target: where_to,
        framer,
        index,
        fast_seq,
        next_offset,
        ack: 0,
        last_frame,
        packets,
        bytes,
        delivered,
        dirty: false,
        moved: false,
    }))
}

#[pymethods]
impl FastLane {
    #[new]
    fn new() -> Self {
        FastLane::default()
    }

    /// `lend(flow_id, flow, keys, halves, state, directions)`: take over a connection's
    /// in-order fast path: `keys` and `halves` are its `TcpConnection`'s (client
    /// direction first), `state` and `directions` the pipeline's flow state and its
    /// per-direction states (None where a direction has none yet). True if lent; False
    /// if nothing of it is the lane's to take (then nothing was kept).
    #[allow(clippy::too_many_arguments)]
    fn lend(&mut self, py: Python<'_>, flow_id: u64, flow: &Bound<'_, PyAny>,
            keys: &Bound<'_, PyTuple>, halves: &Bound<'_, PyTuple>, state: &Bound<'_, PyAny>,
            directions: &Bound<'_, PyTuple>) -> PyResult<bool> {
        if self.flows.contains_key(&flow_id) || keys.len() != 2 || halves.len() != 2 {
            return Ok(false);
        }
        let Ok(last_ts) = flow.getattr(pyo3::intern!(py, "last_ts_ns"))?.extract::<Int>().map(|n| n.0)
        else { return Ok(false) };
        let mut taken = Vec::with_capacity(2);
        for direction in 0..2u8 {
            let Some(key) = key_from(&keys.get_item(direction.into())?)? else {
                return Ok(false);
            };
            let d = directions.get_item(direction.into())?;
            let target = if d.is_none() { None } else { Some(d.unbind()) };
            let half = halves.get_item(direction.into())?;
            let Some(h) = read_half(py, flow_id, &half, target, state, direction)? else {
                return Ok(false);
            };
            taken.push((key, h));
        }
        if taken.iter().all(|(_, h)| h.fast_seq.is_none())
            || taken[0].0 == taken[1].0
            || taken.iter().any(|(k, _)| self.halves.contains_key(k)) {
            return Ok(false);
        }
        let keys = [taken[0].0, taken[1].0];
        for (key, h) in taken {
            self.halves.insert(key, h);
        }
        self.flows.insert(flow_id, FlowEntry { flow: flow.clone().unbind(), last_ts, keys,
                                               dirty: false });
        Ok(true)
    }

    /// Give a lent connection back (its changed fields written back first); False if it
    /// was not lent.
    fn release(&mut self, py: Python<'_>, flow_id: u64) -> PyResult<bool> {
        let Some(mut flow) = self.flows.remove(&flow_id) else { return Ok(false) };
        for key in flow.keys {
            if let Some(mut h) = self.halves.remove(&key) {
                write_half(py, &mut h)?;
            }
        }
        write_flow(py, &mut flow)?;
        Ok(true)
    }

    /// Give every connection back; the ids of those that were lent.
    fn release_all(&mut self, py: Python<'_>) -> PyResult<Vec<u64>> {
        self.settle(py)?;
        let ids: Vec<u64> = self.flows.keys().copied().collect();
        self.flows.clear();
        self.halves.clear();
        Ok(ids)
    }

    /// Packets the lane took.
    #[getter]
    fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Whether the last walk stopped after handing over a packet (the reader then walks
    /// on at once rather than reading the next record itself).
    #[getter]
    fn paused(&self) -> bool {
        self.paused
    }

    /// Connections lent.
    fn __len__(&self) -> usize {
        self.flows.len()
    }
}

/// What a record walk with a lane does with one record.
pub(crate) enum Step<'py> {
    /// The lane took it, and its framer finished nothing.
    Quiet,
    /// Hand this on: what the lane's framer finished, or the record's packet.
    Item(Bound<'py, PyAny>),
    /// Hand this on and return: Python may lend the packet's connection (or one it
    /// touches) once it has seen it, so nothing after it may be taken before that; or
    /// its notes carry a flow, whose state Python must see as of this packet.
    Last(Bound<'py, PyAny>),
    /// Return without taking this record (it follows a packet handed on).
    Stop,
}

/// One record of a walk with a lane: frame `number` at `ts_ns`, its bytes `data` of link
/// type `linktype`. `hand` builds the item the reader hands on for a record the lane
/// does not take (its packet, from what the decoder's fast path read of it, if it read
/// it). `handed`: whether the walk handed a packet on already; after that the lane takes
/// nothing more (the walk stops before a packet it would take) and the changed fields
/// are written back before the first one. `noted`: the reader noted something just
/// before this record; the note goes out with the record's outputs, so the record is
/// handed on, never taken quietly.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step<'py>(py: Python<'py>, lane: &mut FastLane, linktype: Option<u32>,
                        data: &[u8], number: u64, ts_ns: i128, handed: &mut bool,
                        noted: bool,
                        hand: impl FnOnce(Option<&Fast>) -> PyResult<Bound<'py, PyAny>>)
                        -> PyResult<Step<'py>> {
    let fast = linktype.and_then(|l| crate::packets::fast_path(l, data));
    if let (Some(f), false) = (&fast, noted) {
        match lane.take(py, f, data, number, ts_ns, *handed)? {
            Taken::Quiet if *handed => return Ok(Step::Stop),
            Taken::Quiet => return Ok(Step::Quiet),
            Taken::Framed(item) => return Ok(Step::Item(item.into_any())),
            Taken::FramedNote(item) => return Ok(Step::Last(item.into_any())),
            Taken::No => {}
        }
    }
    if !*handed {
        *handed = true;
        lane.settle(py)?;
    }
    let udp = fast.as_ref().is_some_and(|f| f.protocol == 17);
    let item = hand(fast.as_ref())?;
    Ok(if udp { Step::Item(item) } else { Step::Last(item) })
}
