//! The Python face of `jsonrow`: a JSON report's transaction row in one call
//! (`cvipsniff.report.json_report.transaction_values_text` is the reference it must equal;
//! it declines, with None, whatever holds a value of another type than the usual ones).

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::buffer::PyBuffer;
use pyo3::types::{PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::jsonrow::{push_int, push_ints, push_str, python_float_repr, python_round};

/// `transaction_row(values, nl, step)`: the row `transaction_values_text` writes for a
/// transaction's values `(number, protocol, id, flow, method, state, request, responses,
/// expects)`, or None where a value is not an exact `int` (within 64 bits), `str` (valid
/// Unicode), None or, for message references, the tuple the transaction log keeps (the
/// reference renderer then writes the row). Floats (the latency and the times) are
/// computed as Python computes them and spelt as Python's `repr` spells them.
#[pyfunction]
pub fn transaction_row(py: Python<'_>, values: &Bound<'_, PyAny>, nl: &str, step: &str)
                       -> PyResult<Option<String>> {
    let mut out = String::with_capacity(640);
    let inner = format!("{nl}{step}");
    Ok(row_into(py, &mut out, values, nl, &inner, step, None)?.then_some(out))
}

/// `transaction_rows(rows, nl, step, first)`: what `Rows.pieces` yields for these rows of
/// an array whose items start on lines `nl`, joined: each row preceded by `"[" + nl` (the
/// array's first, when `first`) or `"," + nl`, and written as [`transaction_row`] writes
/// it at line start `nl`. None when any row is declined: the caller writes that batch
/// row by row. One call per batch rather than per row (the calls and the joins were a
/// third of writing a report's rows).
#[pyfunction]
pub fn transaction_rows(py: Python<'_>, rows: &Bound<'_, PyList>, nl: &str, step: &str,
                        first: bool) -> PyResult<Option<String>> {
    let mut out = String::with_capacity(rows.len() * 700);
    let inner = format!("{nl}{step}"); // each row's fields' line start, made once
    for (i, values) in rows.iter().enumerate() {
        out.push(if first && i == 0 { '[' } else { ',' });
        out.push_str(nl);
        if !row_into(py, &mut out, &values, nl, &inner, step, None)? {
            return Ok(None);
        }
    }
    Ok(Some(out))
}

/// The items of a buffer of `T` (an `array` of the matching type code), copied.
fn vec_of<T: pyo3::buffer::Element + Copy>(py: Python<'_>, buffer: &Bound<'_, PyAny>)
                                           -> PyResult<Vec<T>> {
    if buffer.len()? == 0 {
        return Ok(Vec::new()); // an empty array's buffer may not be aligned
    }
    PyBuffer::<T>::get(buffer)?.to_vec(py)
}

/// A split capture's worker's share of the global numbers
/// (`cvipsniff.split_analysis.Numbers`): per local message number - 1 and per local
/// transaction number - 1 the global one, per local flow id the global id. Its `rows`
/// writes the worker's transactions' rows with them, as `render_rows` does in Python
/// (`renumbered_values`, then `RowSpool.rows_bytes`), without making the renumbered
/// values.
#[pyclass(frozen)]
pub struct RowNumbers {
    maps: Maps,
}

struct Maps {
    messages: Vec<i64>,
    transactions: Vec<i64>,
    flows: Vec<i64>,
}

impl Maps {
    /// The global number of 1-based local `n` in `map`; None where there is none.
    fn numbered(map: &[i64], n: i64) -> Option<i64> {
        let index = usize::try_from(n.checked_sub(1)?).ok()?;
        map.get(index).copied()
    }

    fn flow(&self, id: i64) -> Option<i64> {
        let index = usize::try_from(id).ok()?;
        self.flows.get(index).copied().filter(|&global| global >= 0)
    }
}

#[pymethods]
impl RowNumbers {
    /// `RowNumbers(messages, transactions, flows)`: three buffers of signed 64-bit
    /// integers (`array("q")`); a flow id with no global one holds -1.
    #[new]
    fn new(py: Python<'_>, messages: &Bound<'_, PyAny>, transactions: &Bound<'_, PyAny>,
           flows: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(RowNumbers { maps: Maps { messages: vec_of(py, messages)?,
                                     transactions: vec_of(py, transactions)?,
                                     flows: vec_of(py, flows)? } })
    }

    /// `rows(rows, nl, step)`: the rows of these transactions' values (as the worker
    /// numbered them) with the global numbers, each after `"," + nl`, UTF-8, and each
    /// one's size in bytes; None where a value is not one the row writer takes or a
    /// number has no global one (the caller then renumbers and writes in Python).
    fn rows<'py>(&self, py: Python<'py>, rows: &Bound<'py, PyList>, nl: &str, step: &str)
                 -> PyResult<Option<(Bound<'py, PyBytes>, Vec<usize>)>> {
        let mut out = String::with_capacity(rows.len() * 700);
        let mut sizes = Vec::with_capacity(rows.len());
        let inner = format!("{nl}{step}");
        for values in rows.iter() {
            let start = out.len();
            out.push(',');
            out.push_str(nl);
            if !row_into(py, &mut out, &values, nl, &inner, step, Some(&self.maps))? {
                return Ok(None);
            }
            sizes.push(out.len() - start);
        }
        Ok(Some((PyBytes::new(py, out.as_bytes()), sizes)))
    }
}

/// `rank_runs(runs)`: per run (a buffer of unsigned 64-bit integers, `array("Q")`, in
/// non-decreasing order), the 1-based rank of each key among all runs' keys, as the bytes
/// of an `array("q")`; None where a run is out of order. See `rank::rank_runs`.
#[pyfunction]
pub fn rank_runs<'py>(py: Python<'py>, runs: &Bound<'py, PyList>)
                      -> PyResult<Option<Vec<Bound<'py, PyBytes>>>> {
    let mut keys: Vec<Vec<u64>> = Vec::with_capacity(runs.len());
    for run in runs.iter() {
        keys.push(vec_of(py, &run)?);
    }
    let views: Vec<&[u64]> = keys.iter().map(Vec::as_slice).collect();
    let Some(ranked) = py.allow_threads(|| crate::rank::rank_runs(&views)) else {
        return Ok(None);
    };
    Ok(Some(ranked.iter().map(|ranks| {
        let bytes: Vec<u8> = ranks.iter().flat_map(|rank| rank.to_ne_bytes()).collect();
        PyBytes::new(py, &bytes)
    }).collect()))
}

/// Append the row of `values` to `out` (at line start `nl`, its fields at `inner`, which
/// is `nl` + `step`), its own, flow and message numbers mapped by `maps` where given;
/// false (with `out` left part-written, which the callers drop) where a value is not of
/// the usual types or a number has no mapping.
fn row_into(py: Python<'_>, out: &mut String, values: &Bound<'_, PyAny>, nl: &str,
            inner: &str, step: &str, maps: Option<&Maps>) -> PyResult<bool> {
    let Ok(v) = values.downcast::<PyTuple>() else { return Ok(false) };
    if v.len() != 9 {
        return Ok(false);
    }
    out.push('{');
    for (index, key) in [(0, "number"), (1, "protocol"), (2, "id"), (3, "flow"), (4, "method"),
                         (5, "state")] {
        if index > 0 {
            out.push(',');
        }
        out.push_str(inner);
        out.push('"');
        out.push_str(key);
        out.push_str("\": ");
        let value = v.get_item(index)?;
        match (maps, index) {
            (Some(maps), 0) => {
                let Some(n) = exact_int(&value)? else { return Ok(false) };
                let Some(n) = Maps::numbered(&maps.transactions, n) else { return Ok(false) };
                push_int(out, n);
            }
            (Some(maps), 3) => {
                let Some(id) = exact_int(&value)? else { return Ok(false) };
                let Some(id) = maps.flow(id) else { return Ok(false) };
                push_int(out, id);
            }
            _ => {
                if !scalar(out, &value)? {
                    return Ok(false);
                }
            }
        }
    }
    let request = v.get_item(6)?;
    let responses = v.get_item(7)?;
    let Ok(responses) = responses.downcast::<PyList>() else { return Ok(false) };
    let first = if responses.is_empty() { None } else { Some(responses.get_item(0)?) };
    let request_ts = if request.is_none() { None } else { Some(reference_ts(&request)?) };
    let first_ts = match &first {
        Some(r) => Some(reference_ts(r)?),
        None => None,
    };
    out.push(',');
    out.push_str(inner);
    out.push_str("\"latency_ms\": ");
    match (request_ts, first_ts) {
        (Some(Some(asked)), Some(Some(answered))) => {
            let Some(diff) = answered.checked_sub(asked) else { return Ok(false) };
            // Python: int / float converts the int (correctly rounded, ties to even, as
            // `as` does) and divides; then round(x, 3).
            let latency = diff as f64 / 1e6;
            match python_round(latency, 3) {
                Some(rounded) => push_float(py, out, rounded)?,
                None => {
                    let rounded = round(py)?.call1((PyFloat::new(py, latency), 3))?;
                    out.push_str(rounded.repr()?.to_str()?);
                }
            }
        }
        (Some(None), _) | (_, Some(None)) => return Ok(false),
        _ => out.push_str("null"),
    }
    out.push(',');
    out.push_str(inner);
    out.push_str("\"request\": ");
    if !reference(py, out, &request, inner, step, maps)? {
        return Ok(false);
    }
    out.push(',');
    out.push_str(inner);
    out.push_str("\"response\": ");
    let none = py.None().into_bound(py);
    if !reference(py, out, first.as_ref().unwrap_or(&none), inner, step, maps)? {
        return Ok(false);
    }
    out.push(',');
    out.push_str(inner);
    out.push_str("\"responses\": ");
    push_int(out, responses.len() as i64);
    out.push_str(nl);
    out.push('}');
    Ok(true)
}

/// Append Python's `repr(x)`: spelt here where that is sure to be Python's spelling, by
/// Python otherwise.
fn push_float(py: Python<'_>, out: &mut String, x: f64) -> PyResult<()> {
    match python_float_repr(x) {
        Some(text) => out.push_str(&text),
        None => out.push_str(PyFloat::new(py, x).repr()?.to_str()?),
    }
    Ok(())
}

/// Python's `round`, looked up once.
fn round(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static ROUND: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
    Ok(ROUND
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("builtins")?.getattr("round")?.unbind())
        })?
        .bind(py))
}

/// An exact int within 64 bits; None for anything else.
fn exact_int(value: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    if !value.is_exact_instance_of::<PyInt>() {
        return Ok(None);
    }
    Ok(value.extract::<i64>().ok())
}

/// Write an exact int (within 64 bits), an exact str or None; false for anything else.
fn scalar(out: &mut String, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    if value.is_none() {
        out.push_str("null");
    } else if value.is_exact_instance_of::<PyInt>() {
        let Ok(n) = value.extract::<i64>() else { return Ok(false) };
        push_int(out, n);
    } else if value.is_exact_instance_of::<PyString>() {
        let Ok(text) = value.downcast::<PyString>()?.to_str() else { return Ok(false) };
        push_str(out, text);
    } else {
        return Ok(false);
    }
    Ok(true)
}

/// A message reference's capture time in ns (`Some(None)`: not one this writer takes).
fn reference_ts(reference: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    let Ok(t) = reference.downcast::<PyTuple>() else { return Ok(None) };
    if t.len() != 5 {
        return Ok(None);
    }
    let ts = t.get_item(2)?;
    if !ts.is_exact_instance_of::<PyInt>() {
        return Ok(None);
    }
    Ok(ts.extract::<i64>().ok())
}

/// Write a message reference `(number, frames, ts_ns, kind, method)` (None: `null`), its
/// number mapped by `maps` where given; false where it is not one this writer takes.
fn reference(py: Python<'_>, out: &mut String, value: &Bound<'_, PyAny>, nl: &str, step: &str,
             maps: Option<&Maps>) -> PyResult<bool> {
    if value.is_none() {
        out.push_str("null");
        return Ok(true);
    }
    let Some(ts) = reference_ts(value)? else { return Ok(false) };
    let t = value.downcast::<PyTuple>()?;
    let inner = format!("{nl}{step}");
    out.push('{');
    out.push_str(&inner);
    out.push_str("\"message\": ");
    match maps {
        Some(maps) => {
            let Some(n) = exact_int(&t.get_item(0)?)? else { return Ok(false) };
            let Some(n) = Maps::numbered(&maps.messages, n) else { return Ok(false) };
            push_int(out, n);
        }
        None => {
            if !scalar(out, &t.get_item(0)?)? {
                return Ok(false);
            }
        }
    }
    let frames = t.get_item(1)?;
    let Ok(frames) = frames.downcast::<PyTuple>() else { return Ok(false) };
    let mut numbers = Vec::with_capacity(frames.len());
    for frame in frames.iter() {
        if !frame.is_exact_instance_of::<PyInt>() {
            return Ok(false);
        }
        let Ok(n) = frame.extract::<i64>() else { return Ok(false) };
        numbers.push(n);
    }
    out.push(',');
    out.push_str(&inner);
    out.push_str("\"frames\": ");
    push_ints(out, &numbers, &inner, step);
    out.push(',');
    out.push_str(&inner);
    out.push_str("\"frame\": ");
    match numbers.iter().max() {
        Some(n) => push_int(out, *n),
        None => out.push_str("null"),
    }
    out.push(',');
    out.push_str(&inner);
    out.push_str("\"kind\": ");
    if !scalar(out, &t.get_item(3)?)? {
        return Ok(false);
    }
    out.push(',');
    out.push_str(&inner);
    out.push_str("\"time\": ");
    // Python: ts_ns / 1e9 (the int converted, correctly rounded, then divided).
    push_float(py, out, ts as f64 / 1e9)?;
    out.push_str(nl);
    out.push('}');
    Ok(true)
}

// ---- a split report's rows put back in number order (accel/src/rowgather.rs) ----------

use crate::rowgather::{Gatherer, Layout, ReadAt};

/// `RowGather(fds, parts, offsets, sizes)`: the rows of a split capture's JSON report as
/// `cvipsniff.report.rowspool.SpooledRows` copies them from the part files its workers
/// wrote (`fds[p]`: part `p`'s file, read with `os.pread`, its position left as it is),
/// per transaction number - 1 its part (`array("B")`, 255: no part), offset
/// (`array("q")`) and size (`array("I")`).
#[pyclass]
pub struct RowGather {
    gatherer: Gatherer,
    pread: Py<PyAny>,
    fds: Vec<i32>,
}

/// The part files, read through `os.pread` (a few calls of a megabyte each).
struct PartFiles<'a, 'py> {
    pread: &'a Bound<'py, PyAny>,
    fds: &'a [i32],
}

impl ReadAt for PartFiles<'_, '_> {
    fn read_at(&mut self, part: usize, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let Some(&fd) = self.fds.get(part) else {
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound,
                                           "a row of no part file"));
        };
        let data = self.pread.call1((fd, buf.len(), offset)).map_err(std::io::Error::other)?;
        let data = data.downcast::<PyBytes>()
            .map_err(|_| std::io::Error::other("os.pread gave no bytes"))?;
        let data = data.as_bytes();
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

#[pymethods]
impl RowGather {
    #[new]
    fn new(py: Python<'_>, fds: Vec<i32>, parts: &Bound<'_, PyAny>, offsets: &Bound<'_, PyAny>,
           sizes: &Bound<'_, PyAny>) -> PyResult<Self> {
        let layout = Layout { parts: vec_of(py, parts)?, offsets: vec_of(py, offsets)?,
                              sizes: vec_of(py, sizes)? };
        let gatherer = Gatherer::new(layout)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let pread = py.import("os")?.getattr("pread")?.unbind();
        Ok(RowGather { gatherer, pread, fds })
    }

    /// `rows(start, limit)`: the rows of transactions `start`, `start + 1`, … as the part
    /// files hold them, one after another, up to the first no part holds, the end of
    /// the layout, or about `limit` bytes; and the index after the last one given.
    fn rows<'py>(&mut self, py: Python<'py>, start: usize, limit: usize)
                 -> PyResult<(Bound<'py, PyBytes>, usize)> {
        let mut out = Vec::with_capacity(limit.min(1 << 24) + 4096);
        let pread = self.pread.bind(py);
        let mut files = PartFiles { pread, fds: &self.fds };
        let next = self.gatherer.gather(&mut files, start, limit, &mut out)
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))?;
        Ok((PyBytes::new(py, &out), next))
    }
}
