//! The handful of CPython `marshal` records (format version 4) a spilled transaction is
//! made of: None, ints, strings, tuples and lists.
//!
//! `cvipsniff/analysis/txnlog.py` writes settled transactions to a temporary file with
//! `marshal.dumps` and reads them back with `marshal.loads`; the compiled spill
//! (`pytxn.rs`) writes the same values here without building the intermediate tuples.
//! What matters is that `marshal.loads` gives back *equal* values, not identical bytes:
//! `marshal.dumps` also marks objects for back-references and interns short strings,
//! which only changes identity, and nothing that reads the file depends on it. The
//! record layouts are CPython's (`Python/marshal.c`): a type byte, then little-endian
//! sizes and payloads; no reference flags are ever set.

const TYPE_NONE: u8 = b'N';
const TYPE_INT: u8 = b'i';
const TYPE_LONG: u8 = b'l';
const TYPE_UNICODE: u8 = b'u';
const TYPE_TUPLE: u8 = b'(';
const TYPE_SMALL_TUPLE: u8 = b')';
const TYPE_LIST: u8 = b'[';

/// Bits per digit of marshal's long form (`PyLong_MARSHAL_SHIFT`).
const LONG_SHIFT: u32 = 15;

pub fn none(out: &mut Vec<u8>) {
    out.push(TYPE_NONE);
}

/// An int: the 32-bit form where it fits, else the long form (sign and 15-bit digits,
/// least significant first), as `marshal.dumps` chooses.
pub fn int(out: &mut Vec<u8>, value: i64) {
    if let Ok(small) = i32::try_from(value) {
        out.push(TYPE_INT);
        out.extend_from_slice(&small.to_le_bytes());
        return;
    }
    let mut magnitude = value.unsigned_abs();
    let mut digits: Vec<u16> = Vec::with_capacity(5);
    while magnitude != 0 {
        digits.push((magnitude & ((1 << LONG_SHIFT) - 1)) as u16);
        magnitude >>= LONG_SHIFT;
    }
    let count = digits.len() as i32; // at most 5 for 64 bits
    out.push(TYPE_LONG);
    out.extend_from_slice(&(if value < 0 { -count } else { count }).to_le_bytes());
    for digit in digits {
        out.extend_from_slice(&digit.to_le_bytes());
    }
}

/// A string, as UTF-8 (`marshal.loads` decodes it back). False if it is too long for the
/// record's 32-bit size (nothing is written then).
pub fn string(out: &mut Vec<u8>, text: &str) -> bool {
    let Ok(size) = i32::try_from(text.len()) else { return false };
    out.push(TYPE_UNICODE);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    true
}

/// The head of a tuple of `count` items (the items follow). False if too many.
pub fn tuple(out: &mut Vec<u8>, count: usize) -> bool {
    if let Ok(small) = u8::try_from(count) {
        out.push(TYPE_SMALL_TUPLE);
        out.push(small);
        return true;
    }
    sized(out, TYPE_TUPLE, count)
}

/// The head of a list of `count` items (the items follow). False if too many.
pub fn list(out: &mut Vec<u8>, count: usize) -> bool {
    sized(out, TYPE_LIST, count)
}

fn sized(out: &mut Vec<u8>, kind: u8, count: usize) -> bool {
    let Ok(size) = i32::try_from(count) else { return false };
    out.push(kind);
    out.extend_from_slice(&size.to_le_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn small_ints_take_the_32_bit_form() {
        assert_eq!(bytes(|o| int(o, 1)), b"i\x01\x00\x00\x00");
        assert_eq!(bytes(|o| int(o, -1)), b"i\xff\xff\xff\xff");
        assert_eq!(bytes(|o| int(o, i64::from(i32::MAX))), b"i\xff\xff\xff\x7f");
    }

    #[test]
    fn large_ints_take_the_long_form() {
        // 2**31 = 2 * 2**30: digits 0, 0, 2 (15 bits each).
        assert_eq!(bytes(|o| int(o, 1 << 31)), b"l\x03\x00\x00\x00\x00\x00\x00\x00\x02\x00");
        assert_eq!(bytes(|o| int(o, -(1 << 31) - 1)),
                   b"l\xfd\xff\xff\xff\x01\x00\x00\x00\x02\x00");
        // i64::MIN: magnitude 2**63 = 8 * 2**60: digits 0, 0, 0, 0, 8.
        assert_eq!(bytes(|o| int(o, i64::MIN)),
                   b"l\xfb\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00");
    }

    #[test]
    fn strings_tuples_lists_and_none() {
        assert_eq!(bytes(|o| assert!(string(o, "é"))), b"u\x02\x00\x00\x00\xc3\xa9");
        assert_eq!(bytes(|o| assert!(tuple(o, 2))), b")\x02");
        assert_eq!(bytes(|o| assert!(tuple(o, 300))), b"(\x2c\x01\x00\x00");
        assert_eq!(bytes(|o| assert!(list(o, 1))), b"[\x01\x00\x00\x00");
        assert_eq!(bytes(none), b"N");
    }
}
