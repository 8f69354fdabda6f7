//! Any bytes into the lean CVIP dissection (with a small catalogue in the real one's
//! shapes): it may decline, it must never panic; what it answers must agree with the
//! header (its txn and response flag, the kind the flag allows).
//!
//! The first byte picks how the rest is read: as a whole message, or as a body behind a
//! valid header (so the XML-RPC and catalogue code is reached), over TCP or UDP. The same
//! bytes go to the lean reading of a discovery ping too.
#![no_main]

use cvipsniff_accel::cviplean::{lean, ping, sample_catalogue, Catalogue};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(sample_catalogue);

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let udp = mode & 1 != 0;
    let message = if mode & 2 != 0 {
        let mut out = vec![0x02, 0x01, 0x00, mode & 0x80, 0x05];
        out.extend(u32::try_from(rest.len() + 9).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(rest);
        out
    } else {
        rest.to_vec()
    };
    if let Some(answer) = lean(&CATALOGUE, &message, udp) {
        let raw = u16::from_be_bytes([message[3], message[4]]);
        assert_eq!(answer.txn, raw & 0x7FFF);
        assert_eq!(answer.is_response, raw & 0x8000 != 0);
        assert_eq!(answer.is_response, matches!(answer.kind, "response" | "ack"));
        assert!(answer.info.ends_with(&format!("txn={}", answer.txn)));
    }
    if let Some(answer) = ping(&CATALOGUE, &message) {
        assert_eq!(message.len(), if answer.response { 37 } else { 16 });
        assert_eq!(answer.txn, u16::from_be_bytes([message[3], message[4]]) & 0x7FFF);
        assert!(answer.info.starts_with(if answer.response { "ping response" }
                                        else { "ping request" }));
    }
});
