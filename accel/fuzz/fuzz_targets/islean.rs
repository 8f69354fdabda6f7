//! Any bytes into the lean ImageServer dissection (with the tests' excerpt of the tables),
//! as they come and behind an ImageResponse head (single and multipart), an XML root or a
//! connect request's connectparam, and base64 encoded as the XML privacy mask of an
//! ImageResponse: it may decline, it must never panic.
#![no_main]

use std::sync::OnceLock;

use cvipsniff_accel::islean::{dissect, excerpt_tables, Tables};
use libfuzzer_sys::fuzz_target;

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(excerpt_tables)
}

/// `data` in standard padded base64 (the header form of the XML privacy mask), so the
/// fuzzer's bytes are the decoded mask document.
fn base64(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] } else { b'=' });
        }
    }
    out
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
    let mut masked = b"ImageResponse\r\nRequestId: 1\r\nPrivacyMask: ".to_vec();
    masked.extend_from_slice(&base64(data));
    masked.extend_from_slice(b"\r\nRestriction: none\r\nPrev: 1700000000000\r\n\
        Current: 1700000000000\r\nNext: 1700000000000\r\nContent-length: 4\r\n\
        Content-type: image/jpeg\r\n\r\n\xff\xd8\xff\xd9\r\n\r\n");
    let _ = dissect(&masked, t);
});
