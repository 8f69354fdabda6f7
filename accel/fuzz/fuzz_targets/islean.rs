//! Any bytes into the lean ImageServer dissection (with the tests' excerpt of the tables),
//! as they come and behind an ImageResponse head (single and multipart), an XML root or a
//! connect request's connectparam: it may decline, it must never panic.
#![no_main]

use std::sync::OnceLock;

use cvipsniff_accel::islean::{dissect, excerpt_tables, Tables};
use libfuzzer_sys::fuzz_target;

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(excerpt_tables)
}

fuzz_target!(|data: &[u8]| {
    let t = tables();
    let _ = dissect(data, t);
    let mut image = b"ImageResponse\r\nRequestId: 1\r\nRestriction: none\r\n\
        Prev: 1700000000000\r\nCurrent: 1700000000000\r\nNext: 1700000000000\r\n".to_vec();
    image.extend_from_slice(data);
    let _ = dissect(&image, t);
    let mut xml = b"<methodresponse><requestid>1</requestid><methodname>alarms</methodname>"
        .to_vec();
    xml.extend_from_slice(data);
    let _ = dissect(&xml, t);
    let mut multipart = b"ImageResponse\r\nRequestId: 1\r\nRestriction: none\r\n\
        Prev: 1700000000000\r\nCurrent: 1700000000000\r\nNext: 1700000000000\r\n\
        Content-type: multipart/related; boundary=b\r\n\r\n--b\r\n".to_vec();
    multipart.extend_from_slice(data);
    let _ = dissect(&multipart, t);
    let mut connect = b"<methodcall><requestid>1</requestid><methodname>connect</methodname>\
        <username>u</username><password>p</password><cameraid>c</cameraid><connectparam>"
        .to_vec();
    connect.extend_from_slice(data);
    let _ = dissect(&connect, t);
});
