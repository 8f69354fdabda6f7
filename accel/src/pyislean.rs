//! The Python face of the lean ImageServer fast path (`islean.rs`): its tables read once
//! from the plain values `dissectors/imageserver/lean.py` builds from `tables.py`, and
//! its answers built as the reference's own `Record` class (handed in).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::islean::{self, AttrSpec, ElemSpec, Form, GbdTables, HeaderSpec, MethodSpec, ShapeSpec,
                    Tables, Value};

fn item<'py>(tuple: &Bound<'py, PyTuple>, index: usize) -> PyResult<Bound<'py, PyAny>> {
    tuple.get_item(index)
}

fn form(obj: &Bound<'_, PyAny>) -> PyResult<Form> {
    Ok(Form::from_name(&obj.extract::<String>()?))
}

fn attr_spec(obj: &Bound<'_, PyAny>) -> PyResult<AttrSpec> {
    let t = obj.downcast::<PyTuple>()?;
    Ok(AttrSpec {
        name: item(t, 0)?.extract()?,
        form: form(&item(t, 1)?)?,
        required: item(t, 2)?.extract()?,
        values: item(t, 3)?.extract()?,
        minimum: item(t, 4)?.extract()?,
        maximum: item(t, 5)?.extract()?,
    })
}

/// An element layout; nesting is bounded by the tables themselves (a few levels).
fn elem_spec(obj: &Bound<'_, PyAny>) -> PyResult<ElemSpec> {
    let t = obj.downcast::<PyTuple>()?;
    Ok(ElemSpec {
        name: item(t, 0)?.extract()?,
        form: form(&item(t, 1)?)?,
        required: item(t, 2)?.extract()?,
        repeated: item(t, 3)?.extract()?,
        values: item(t, 4)?.extract()?,
        children: elem_specs(&item(t, 5)?)?,
        attributes: item(t, 6)?.try_iter()?.map(|a| attr_spec(&a?)).collect::<PyResult<_>>()?,
        minimum: item(t, 7)?.extract()?,
        maximum: item(t, 8)?.extract()?,
        choice: item(t, 9)?.extract()?,
    })
}

fn elem_specs(obj: &Bound<'_, PyAny>) -> PyResult<Vec<ElemSpec>> {
    obj.try_iter()?.map(|e| elem_spec(&e?)).collect()
}

fn method_spec(obj: &Bound<'_, PyAny>) -> PyResult<MethodSpec> {
    let t = obj.downcast::<PyTuple>()?;
    let mut requests = Vec::new();
    for shape in item(t, 1)?.try_iter()? {
        let shape = shape?;
        let s = shape.downcast::<PyTuple>()?;
        requests.push(ShapeSpec { label: item(s, 0)?.extract()?, elements: elem_specs(&item(s, 1)?)? });
    }
    Ok(MethodSpec {
        name: item(t, 0)?.extract()?,
        requests,
        answered_by: item(t, 2)?.extract()?,
        response: elem_specs(&item(t, 3)?)?,
        checks: item(t, 4)?.extract()?,
    })
}

fn header_spec(obj: &Bound<'_, PyAny>) -> PyResult<HeaderSpec> {
    let t = obj.downcast::<PyTuple>()?;
    Ok(HeaderSpec {
        lower: item(t, 0)?.extract()?,
        form: form(&item(t, 1)?)?,
        required: item(t, 2)?.extract()?,
        values: item(t, 3)?.extract()?,
    })
}

fn get<'py>(tables: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyAny>> {
    tables.get_item(key)?.ok_or_else(|| PyValueError::new_err(format!("tables: no {key:?}")))
}

fn read_tables(d: &Bound<'_, PyDict>) -> PyResult<Tables> {
    Ok(Tables {
        roots: get(d, "roots")?.extract()?,
        methods: get(d, "methods")?.try_iter()?.map(|m| method_spec(&m?)).collect::<PyResult<_>>()?,
        livepackage: elem_specs(&get(d, "livepackage")?)?,
        envelope: get(d, "envelope")?.extract()?,
        adaptive_only: get(d, "adaptive_only")?.extract()?,
        time_min: get(d, "time_min")?.extract()?,
        time_max: get(d, "time_max")?.extract()?,
        max_xml_bytes: get(d, "max_xml_bytes")?.extract()?,
        max_xml_depth: get(d, "max_xml_depth")?.extract()?,
        max_xml_elements: get(d, "max_xml_elements")?.extract()?,
        max_header_lines: get(d, "max_header_lines")?.extract()?,
        max_header_line: get(d, "max_header_line")?.extract()?,
        image_first_line: get(d, "image_first_line")?.extract()?,
        headers: get(d, "headers")?.try_iter()?.map(|h| header_spec(&h?)).collect::<PyResult<_>>()?,
        jpeg_media: get(d, "jpeg_media")?.extract()?,
        sof_markers: get(d, "sof_markers")?.extract()?,
        jpeg_standalone: get(d, "jpeg_standalone")?.extract()?,
        privacymask_none: get(d, "privacymask_none")?.extract()?,
        privacymask_grid_prefix: get(d, "privacymask_grid_prefix")?.extract()?,
        privacymask_max_cells: get(d, "privacymask_max_cells")?.extract()?,
        privacymask_root: get(d, "privacymask_root")?.extract()?,
        multipart_media: get(d, "multipart_media")?.extract()?,
        gbd_media: get(d, "gbd_media")?.extract()?,
        part_headers: get(d, "part_headers")?.try_iter()?.map(|h| header_spec(&h?))
            .collect::<PyResult<_>>()?,
        part_media: get(d, "part_media")?.extract()?,
        max_parts: get(d, "max_parts")?.extract()?,
        gbd: GbdTables {
            video: get(d, "gbd_video")?.extract()?,
            multi: get(d, "gbd_multi")?.extract()?,
            data_types: get(d, "gbd_data_types")?.extract()?,
            video_block_codecs: get(d, "gbd_video_block_codecs")?.extract()?,
            codecs: get(d, "gbd_codecs")?.extract()?,
            max_packets: get(d, "gbd_max_packets")?.extract()?,
        },
    })
}

/// `ImageServerLean(Record, protocol, tables)(data)`: the lean `Record` the reference
/// gives `data` with the default options, when it has no problem and the compiled walk
/// covers it; else None (take the reference).
#[pyclass(frozen, module = "cvipsniff_accel")]
pub struct ImageServerLean {
    tables: Tables,
    record: Py<PyAny>,
    protocol: Py<PyString>,
}

fn value<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::None => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Int(n) => n.into_pyobject(py)?.into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::Items(items) => {
            let list = PyList::empty(py);
            for (id, val) in items {
                let d = PyDict::new(py);
                d.set_item(pyo3::intern!(py, "id"), id)?;
                d.set_item(pyo3::intern!(py, "value"), val)?;
                list.append(d)?;
            }
            list.into_any()
        }
        Value::Strs(items) => PyList::new(py, items)?.into_any(),
        Value::Packets(packets) => {
            let list = PyList::empty(py);
            for p in packets {
                let d = PyDict::new(py);
                d.set_item(pyo3::intern!(py, "layout"), &p.layout)?;
                d.set_item(pyo3::intern!(py, "codec"), &p.codec)?;
                d.set_item(pyo3::intern!(py, "keyframe"), p.keyframe)?;
                d.set_item(pyo3::intern!(py, "payload_offset"), p.payload_offset)?;
                d.set_item(pyo3::intern!(py, "payload_length"), p.payload_length)?;
                list.append(d)?;
            }
            list.into_any()
        }
    })
}

#[pymethods]
impl ImageServerLean {
    #[new]
    fn new(record: Py<PyAny>, protocol: Py<PyString>, tables: &Bound<'_, PyDict>) -> PyResult<Self> {
        Ok(ImageServerLean { tables: read_tables(tables)?, record, protocol })
    }

    /// `fast(data)`; `_udp` is taken and ignored (an ImageServer message dissects the same
    /// whatever carried it), so the engine calls every protocol's lean dissection alike.
    #[pyo3(signature = (data, _udp = false))]
    fn __call__(&self, py: Python<'_>, data: &[u8], _udp: bool) -> PyResult<Option<PyObject>> {
        let Some(lean) = islean::dissect(data, &self.tables) else { return Ok(None) };
        let attrs = PyDict::new(py);
        for (key, v) in &lean.attrs {
            attrs.set_item(PyString::intern(py, key), value(py, v)?)?;
        }
        let args = (
            self.protocol.clone_ref(py),
            PyString::intern(py, &lean.kind),
            lean.info,
            PyList::empty(py),
            PyList::empty(py),
            lean.txn,
            lean.is_response,
            lean.method,
            attrs,
        );
        Ok(Some(self.record.call1(py, args)?))
    }
}
