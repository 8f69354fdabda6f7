//! The Python face of `cviplean`: `CvipLean(Record, catalogue)(data, udp)` → the lean
//! `Record` of a conformant CVIP message, or None (see `accel/src/cviplean.rs`).
//!
//! The catalogue arrives as a dict of plain values that `dissectors/cvip/lean.py` reads
//! from the Python tables (the single source of truth); it is checked and indexed once.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::cviplean::{self, Catalogue, CatalogueSpec, ExtraSpec, FieldSpec, MethodSpec,
                      ServiceSpec};

type FieldRow = (String, Vec<String>, bool, Option<String>, Option<String>, Option<(i64, i64)>,
                 Option<(i64, i64)>, Option<String>, Option<(String, i64)>, bool);
type MethodRow = (bool, Option<Vec<usize>>, Option<Vec<usize>>, bool, String, String,
                  Option<(String, String, String, String)>);
type Properties = Option<Vec<(String, bool)>>;
type ServiceRow = (String, bool, usize, Option<bool>, Option<bool>, Properties, Properties,
                   Properties);

fn item<'py, T: FromPyObject<'py>>(spec: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    spec.get_item(key)?
        .ok_or_else(|| PyValueError::new_err(format!("catalogue without {key:?}")))?
        .extract()
}

fn field((key, types, required, enum_name, bits_name, range, magnitude, fmt, zero_when,
          secret): FieldRow) -> FieldSpec {
    FieldSpec { key, types, required, enum_name, bits_name, range, magnitude, fmt, zero_when,
                secret }
}

fn method((generic, request, response, response_list, shape, response_shape, extra): MethodRow)
          -> MethodSpec {
    let extra = extra.map(|(table, selector_key, placeholder_key, where_)| {
        ExtraSpec { table, selector_key, placeholder_key, where_ }
    });
    MethodSpec { generic, request, response, response_list, shape, response_shape, extra }
}

fn service((key, is_system, instances, property_support, function_support, p0, p1, p2):
           ServiceRow) -> ServiceSpec {
    ServiceSpec { key, is_system, instances, property_support, function_support,
                  properties: [p0, p1, p2] }
}

fn catalogue(spec: &Bound<'_, PyDict>) -> PyResult<Catalogue> {
    let rows: Vec<FieldRow> = item(spec, "fields")?;
    let methods: Vec<MethodRow> = item(spec, "methods")?;
    let services: Vec<ServiceRow> = item(spec, "services")?;
    let spec = CatalogueSpec {
        fields: rows.into_iter().map(field).collect(),
        methods: methods.into_iter().map(method).collect(),
        services: services.into_iter().map(service).collect(),
        service_keys: item(spec, "service_keys")?,
        method_keys: item(spec, "method_keys")?,
        enums: item(spec, "enums")?,
        bit_sets: item(spec, "bit_sets")?,
        ack_response: item(spec, "ack_response")?,
        ack_event: item(spec, "ack_event")?,
        ack_field: item(spec, "ack_field")?,
        event_ack_field: item(spec, "event_ack_field")?,
        property_sets: item(spec, "property_sets")?,
        entity_codes: item(spec, "entity_codes")?,
        variants: item(spec, "variants")?,
        event_method_key: item(spec, "event_method_key")?,
        property_methods: item(spec, "property_methods")?,
        limits: item(spec, "limits")?,
        connection_types: item(spec, "connection_types")?,
    };
    Catalogue::new(spec).map_err(PyValueError::new_err)
}

/// `CvipLean(Record, catalogue)`; calling it with `(data, udp)` gives the `Record` the
/// lean dissection with the default options would give a message it finds nothing wrong
/// with, or None (then the Python path runs).
#[pyclass(frozen, module = "cvipsniff_accel")]
pub struct CvipLean {
    record: Py<PyAny>,
    catalogue: Catalogue,
}

#[pymethods]
impl CvipLean {
    #[new]
    fn new(record: Py<PyAny>, spec: &Bound<'_, PyDict>) -> PyResult<Self> {
        Ok(CvipLean { record, catalogue: catalogue(spec)? })
    }

    fn __call__(&self, py: Python<'_>, data: &[u8], udp: bool) -> PyResult<PyObject> {
        if matches!(data.get(2), Some(0x01 | 0x02)) {
            return match cviplean::ping(&self.catalogue, data) {
                Some(ping) => self.ping_record(py, ping, udp),
                None => Ok(py.None()),
            };
        }
        let Some(lean) = cviplean::lean(&self.catalogue, data, udp) else {
            return Ok(py.None());
        };
        // Record(protocol, kind, info, fields, problems, txn, is_response, method, attrs)
        let args = (pyo3::intern!(py, "cvip"), pyo3::types::PyString::intern(py, lean.kind),
                    lean.info, PyList::empty(py), PyList::empty(py), lean.txn,
                    lean.is_response, lean.method, PyDict::new(py));
        self.record.call1(py, args)
    }
}

impl CvipLean {
    /// A ping's record, its attributes in the order `dissect_ping` sets them (a ping's
    /// are kept even in lean mode: they are its content).
    fn ping_record(&self, py: Python<'_>, ping: cviplean::Ping<'_>, udp: bool)
                   -> PyResult<PyObject> {
        let attrs = PyDict::new(py);
        attrs.set_item("version", 0x0201)?;
        attrs.set_item("byte_order", "big")?;
        attrs.set_item("msg_type", ping.msg_type)?;
        attrs.set_item("size", ping.size)?;
        for key in ["service", "method_name", "ack_code", "ack_name"] {
            attrs.set_item(key, py.None())?;
        }
        let params = PyDict::new(py);
        for target in [&attrs, &params] {
            target.set_item("ip", &ping.ip)?;
            target.set_item("port", ping.port)?;
            target.set_item("connection_type", ping.connection_type)?;
            if let Some((guid, manufacturer, product, status)) = &ping.unit {
                target.set_item("guid", guid)?;
                target.set_item("manufacturer_id", manufacturer)?;
                target.set_item("product_type", product)?;
                target.set_item("status", status)?;
            }
        }
        attrs.set_item("connection_type_name", ping.connection_name)?;
        if let Some((_, _, _, status)) = &ping.unit {
            attrs.set_item("rebooted", *status == 1)?;
        }
        attrs.set_item("params", params)?;
        attrs.set_item("transport", if udp { "udp" } else { "tcp" })?;
        attrs.set_item("truncated", false)?;
        let kind = if ping.response { "ping-response" } else { "ping-request" };
        // Record(protocol, kind, info, fields, problems, txn, is_response, method, attrs)
        let args = (pyo3::intern!(py, "cvip-ping"), pyo3::types::PyString::intern(py, kind),
                    ping.info, PyList::empty(py), PyList::empty(py), ping.txn, ping.response,
                    py.None(), attrs);
        self.record.call1(py, args)
    }
}
