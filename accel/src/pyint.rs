//! Python ints that may need 128 bits (stream offsets and times are Python ints, unbounded)
//! crossing the binding without pyo3's limited-API 128-bit path.
//!
//! Under the stable ABI (`abi3`) pyo3 converts an `i128` with two or three Python number
//! calls each way (shift, or, mask). The values that cross per message (a message's
//! first and last times, the stream offsets it spans) always fit 64 bits, so they take
//! the one-call `i64` conversion and only a value beyond it pays for the general one:
//! the same Python int either way.

use std::convert::Infallible;

use pyo3::prelude::*;

/// An `i128` that converts through `i64` whenever it fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Int(pub(crate) i128);

impl<'py> FromPyObject<'py> for Int {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        match ob.extract::<i64>() {
            Ok(n) => Ok(Int(n.into())),
            Err(_) => Ok(Int(ob.extract::<i128>()?)),
        }
    }
}

impl<'py> IntoPyObject<'py> for Int {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(match i64::try_from(self.0) {
            Ok(n) => n.into_pyobject(py)?.into_any(),
            Err(_) => self.0.into_pyobject(py)?.into_any(),
        })
    }
}
