//! The Python face of the accelerator: builds exactly the objects the pure-Python
//! modules build (their own classes are handed in, so there is one model, not two).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::xmlrpc::{self, Body, Limits, RValue};

/// `XmlRpcDecoder(Value, Member, XmlRpcBody, readers)(body, size, depth, elements)`:
/// the `XmlRpcBody` the lean reference path (lxml, then `xmlrpc.decode`) would return
/// for a body it finds nothing to report about, or None to take that path.
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
    fn scalar(&self, py: Python<'_>, tag: &str, text: &str, context: &str)
              -> PyResult<Option<PyObject>> {
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
        Ok(Some(self.value.call1(py, (tag, value, literal))?))
    }

    fn value(&self, py: Python<'_>, value: &RValue<'_>, context: &str)
             -> PyResult<Option<PyObject>> {
        Ok(Some(match value {
            RValue::Untyped(text) => {
                let literal = PyString::new(py, text);
                self.value.call1(py, (PyString::intern(py, ""), &literal, &literal))?
            }
            RValue::Scalar(tag, text) => return self.scalar(py, tag, text, context),
            RValue::Struct(members) => {
                let list = PyList::empty(py);
                for (name, item) in members {
                    let name = strip(py, name)?;
                    let Some(item) = self.value(py, item, name.to_str()?)? else {
                        return Ok(None);
                    };
                    list.append(self.member.call1(py, (name, item))?)?;
                }
                self.value.call1(py, (PyString::intern(py, "struct"), list, PyString::intern(py, "")))?
            }
            RValue::Array(items) => {
                let list = PyList::empty(py);
                for item in items {
                    let Some(item) = self.value(py, item, "")? else { return Ok(None) };
                    list.append(item)?;
                }
                self.value.call1(py, (PyString::intern(py, "array"), list, PyString::intern(py, "")))?
            }
        }))
    }

    fn build(&self, py: Python<'_>, body: &Body<'_>) -> PyResult<Option<PyObject>> {
        let method_name = match body.method_name {
            Some(text) => {
                let name = strip(py, text)?;
                if body.root == "methodCall" && name.to_str()?.is_empty() {
                    return Ok(None); // "empty <methodName>"
                }
                Some(name)
            }
            None => None,
        };
        let params = PyList::empty(py);
        for value in &body.params {
            let Some(value) = self.value(py, value, "")? else { return Ok(None) };
            params.append(value)?;
        }
        let fault = match &body.fault {
            Some(value) => match self.value(py, value, "")? {
                Some(v) => Some(v),
                None => return Ok(None),
            },
            None => None,
        };
        let extras = PyDict::new(py);
        for (tag, text) in &body.extras {
            extras.set_item(PyString::intern(py, tag), (strip(py, text)?, -1, 0))?;
        }
        let root = PyString::intern(py, body.root);
        let args = (root, method_name, -1, 0, params, fault, extras, PyList::empty(py));
        Ok(Some(self.body.call1(py, args)?))
    }
}

#[pymethods]
impl XmlRpcDecoder {
    #[new]
    fn new(value: Py<PyAny>, member: Py<PyAny>, body: Py<PyAny>, readers: Py<PyDict>) -> Self {
        XmlRpcDecoder { value, member, body, readers }
    }

    fn __call__(&self, py: Python<'_>, data: &[u8], size: usize, depth: usize,
                elements: usize) -> PyResult<PyObject> {
        let Some(body) = xmlrpc::decode(data, Limits { size, depth, elements }) else {
            return Ok(py.None());
        };
        Ok(self.build(py, &body)?.unwrap_or_else(|| py.None()))
    }
}
