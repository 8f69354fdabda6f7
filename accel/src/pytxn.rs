//! The compiled twin of `cvipsniff.analysis.txnlog.pack_settled`: a transaction log's
//! spill of its settled transactions, in one call.
//!
//! The reference packs each settled transaction as `marshal.dumps(values(txn))`, which
//! first builds the plain tuples `marshal` takes (a 9-tuple, a tuple per message
//! reference, a list of responses) and then writes them: about 2 µs a transaction, a
//! tenth of a report over a capture of many small exchanges. Here the values are read
//! off the objects and written as marshal records directly (`marshal.rs`), so
//! `marshal.loads` gives back exactly what `values(txn)` was. Anything outside the
//! plain types those values hold (an int beyond 64 bits, a `bool`, a float, a string
//! subclass or one with lone surrogates, ...) declines the whole call, before anything
//! is changed, and the reference does it.

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PySet, PyString, PyTuple};

use crate::marshal;

/// Nesting the generic value writer follows (a message reference's frames are one level
/// down; nothing the analysis makes goes deeper).
const MAX_DEPTH: u32 = 4;

/// Write `value` (None, an exact int of 64 bits, an exact str, or an exact tuple or list
/// of those); false if it is anything else.
fn value(out: &mut Vec<u8>, value: &Bound<'_, PyAny>, depth: u32) -> bool {
    if value.is_none() {
        marshal::none(out);
        return true;
    }
    if value.is_exact_instance_of::<PyInt>() {
        return match value.extract::<i64>() {
            Ok(n) => {
                marshal::int(out, n);
                true
            }
            Err(_) => false,
        };
    }
    if value.is_exact_instance_of::<PyString>() {
        return match value.downcast::<PyString>().map(|s| s.to_str()) {
            Ok(Ok(text)) => marshal::string(out, text),
            _ => false,
        };
    }
    if depth == 0 {
        return false;
    }
    if value.is_exact_instance_of::<PyTuple>() {
        let Ok(items) = value.downcast::<PyTuple>() else { return false };
        return marshal::tuple(out, items.len())
            && items.iter().all(|item| self::value(out, &item, depth - 1));
    }
    if value.is_exact_instance_of::<PyList>() {
        let Ok(items) = value.downcast::<PyList>() else { return false };
        return marshal::list(out, items.len())
            && items.iter().all(|item| self::value(out, &item, depth - 1));
    }
    false
}

/// A message reference as `txnlog._ref_tuple` gives it: None, or the items of the named
/// tuple as a plain tuple.
fn reference(out: &mut Vec<u8>, reference: &Bound<'_, PyAny>) -> bool {
    if reference.is_none() {
        marshal::none(out);
        return true;
    }
    let Ok(items) = reference.downcast::<PyTuple>() else { return false };
    marshal::tuple(out, items.len())
        && items.iter().all(|item| value(out, &item, MAX_DEPTH - 1))
}

/// `txnlog.values(txn)` as marshal records appended to `out`; false where the reference
/// must do it.
fn transaction<'py>(py: Python<'py>, out: &mut Vec<u8>, txn: &Bound<'py, PyAny>) -> PyResult<bool> {
    let get = |name: &Bound<'py, PyString>| txn.getattr(name);
    if !marshal::tuple(out, 9) {
        return Ok(false);
    }
    for name in [pyo3::intern!(py, "number"), pyo3::intern!(py, "protocol"),
                 pyo3::intern!(py, "id"), pyo3::intern!(py, "flow"),
                 pyo3::intern!(py, "method"), pyo3::intern!(py, "state")] {
        if !value(out, &get(name)?, MAX_DEPTH) {
            return Ok(false);
        }
    }
    if !reference(out, &get(pyo3::intern!(py, "request"))?) {
        return Ok(false);
    }
    // `values` makes a list of whatever `responses` iterates; an exact list is the only
    // kind the analysis keeps there, and the only kind taken here.
    let responses = get(pyo3::intern!(py, "responses"))?;
    let Ok(responses) = responses.downcast::<PyList>() else { return Ok(false) };
    if !responses.is_exact_instance_of::<PyList>() || !marshal::list(out, responses.len())
        || !responses.iter().all(|r| reference(out, &r)) {
        return Ok(false);
    }
    Ok(value(out, &get(pyo3::intern!(py, "expects"))?, MAX_DEPTH))
}

/// What a spill returns: the kept transactions, the records, the file offset after them,
/// the written transactions.
type Spilled<'py> = (Bound<'py, PyDict>, Bound<'py, PyBytes>, i64, Bound<'py, PyList>);

/// `pack_settled(memory, held, offsets, sizes, end)`: see the reference
/// (`cvipsniff.analysis.txnlog.pack_settled`), whose result this returns, or None to
/// decline (then nothing was changed).
#[pyfunction]
pub fn pack_settled<'py>(py: Python<'py>, memory: &Bound<'py, PyDict>, held: &Bound<'py, PySet>,
                         offsets: &Bound<'py, PyAny>, sizes: &Bound<'py, PyAny>, end: i64)
                         -> PyResult<Option<Spilled<'py>>> {
    let number = pyo3::intern!(py, "number");
    let kept = PyDict::new(py);
    let written = PyList::empty(py);
    let mut blob: Vec<u8> = Vec::new();
    // (position, offset, size) of each record written, applied once all are packed.
    let mut places: Vec<(usize, i64, u32)> = Vec::new();
    let mut at = end;
    for (position, txn) in memory.iter() {
        if held.contains(txn.getattr(number)?)? {
            kept.set_item(position, txn)?;
            continue;
        }
        let Ok(position) = position.extract::<usize>() else { return Ok(None) };
        let start = blob.len();
        if !transaction(py, &mut blob, &txn)? {
            return Ok(None);
        }
        let Ok(size) = u32::try_from(blob.len() - start) else { return Ok(None) };
        places.push((position, at, size));
        at += i64::from(size);
        written.append(txn)?;
    }
    let (Ok(offsets_buf), Ok(sizes_buf)) = (PyBuffer::<i64>::get(offsets),
                                            PyBuffer::<u32>::get(sizes)) else {
        return Ok(None);
    };
    let (Some(offset_cells), Some(size_cells)) = (offsets_buf.as_mut_slice(py),
                                                  sizes_buf.as_mut_slice(py)) else {
        return Ok(None);
    };
    if places.iter().any(|&(p, _, _)| p >= offset_cells.len() || p >= size_cells.len()) {
        return Ok(None);
    }
    for (position, offset, size) in places {
        offset_cells[position].set(offset);
        size_cells[position].set(size);
    }
    Ok(Some((kept, PyBytes::new(py, &blob), at, written)))
}
