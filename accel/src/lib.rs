//! cvipsniff's optional compiled hot path. Every function here has a pure-Python
//! reference in the main package that it must equal; the Python seam
//! (`dissectors/accel.py`) chooses at import. The parsers are plain Rust (tested and
//! fuzzed without Python); the `python` feature adds the bindings.

pub mod capture;
pub mod cvipframe;
// The events both framers hand on.
pub mod framing;
pub mod isframe;
// A JSON report's transaction rows (the report's slowest Python step per transaction).
pub mod jsonrow;
// The records of a transaction log's spill file (CPython's marshal format).
pub mod marshal;
// The lean CVIP dissection of a conformant message (issue #17's fused path, stage 1).
pub mod cviplean;
// (flows: the statistics-only pass of `cvipsniff flows`)
pub mod flowstats;
pub mod flowweights;
// (the lean ImageServer dissection of conformant messages)
pub mod islean;
pub mod packets;
// (ranking a split capture's workers' positions into global numbers)
pub mod rank;
pub mod readahead;
pub mod rowgather;
pub mod secrets;
pub mod xmlrpc;

#[cfg(test)]
mod testrand;

#[cfg(feature = "python")]
mod py;
#[cfg(feature = "python")]
mod pyrows;
#[cfg(feature = "python")]
mod pylean;
#[cfg(feature = "python")]
mod pyislean;
#[cfg(feature = "python")]
mod pylane;
#[cfg(feature = "python")]
mod pyint;
#[cfg(feature = "python")]
mod pytxn;

#[cfg(feature = "python")]
use pyo3::prelude::*;

#[cfg(feature = "python")]
#[pymodule]
fn cvipsniff_accel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The binding interface's version: dissectors/accel.py refuses a build whose number
    // differs from its own (a checkout updated without rebuilding). Bump both together
    // whenever a class or function here is added, removed or changes its signature.
    m.add("API_VERSION", 17u32)?;
    m.add_class::<py::XmlRpcDecoder>()?;
    m.add_class::<py::CvipFramerKit>()?;
    m.add_class::<py::CvipFramer>()?;
    // The ImageServer framer (accel/src/isframe.rs).
    m.add_class::<py::ImageServerFramerKit>()?;
    m.add_class::<py::ImageServerFramer>()?;
    m.add_function(wrap_pyfunction!(py::walk_epbs, m)?)?;
    m.add_function(wrap_pyfunction!(py::fast_packet, m)?)?;
    m.add_function(wrap_pyfunction!(py::may_hold_secrets, m)?)?;
    // flows: the statistics-only pass of `cvipsniff flows`
    m.add_function(wrap_pyfunction!(py::flow_stats, m)?)?;
    m.add_class::<py::FlowRows>()?;
    // The split of one capture over processes (accel/src/flowweights.rs).
    m.add_function(wrap_pyfunction!(py::flow_weights, m)?)?;
    m.add_function(wrap_pyfunction!(py::flow_digest, m)?)?;
    m.add_class::<py::FlowShare>()?;
    m.add_function(wrap_pyfunction!(py::walk_pcap, m)?)?;
    // A JSON report's transaction row (accel/src/jsonrow.rs).
    m.add_function(wrap_pyfunction!(pyrows::transaction_row, m)?)?;
    m.add_function(wrap_pyfunction!(pyrows::transaction_rows, m)?)?;
    m.add_class::<pyrows::RowNumbers>()?;
    m.add_function(wrap_pyfunction!(pyrows::rank_runs, m)?)?;
    m.add_class::<pyrows::RowGather>()?;
    // A transaction log's spill of its settled transactions (accel/src/pytxn.rs).
    m.add_function(wrap_pyfunction!(pytxn::pack_settled, m)?)?;
    // The lean CVIP dissection of conformant messages (accel/src/cviplean.rs).
    m.add_class::<pylean::CvipLean>()?;
    // The lean ImageServer dissection of conformant messages (accel/src/islean.rs).
    m.add_class::<pyislean::ImageServerLean>()?;
    // The fast lane: calm connections' in-order segments taken in the record walks
    // (accel/src/pylane.rs), and the index of which frame carried which stream bytes.
    m.add_class::<pylane::FastLane>()?;
    m.add_class::<pylane::OffsetIndex>()?;
    Ok(())
}
