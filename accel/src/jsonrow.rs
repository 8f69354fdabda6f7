//! Text of JSON report rows, byte for byte as Python's `json.dumps(..., indent=N,
//! ensure_ascii=False)` writes them (`cvipsniff/report/jsontext.py` is the reference).
//! Only the pieces a row is made of: strings, integers, `null`, and the indented layout
//! of objects and lists; floats stay Python's to spell (the binding asks `repr`).

/// Append `s` as a JSON string literal, as `json.encoder.encode_basestring` writes it:
/// `"` and `\` escaped, the C0 controls as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`
/// (lowercase hex), everything else (DEL and all non-ASCII text included) as it is.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[plain..i]); // i is at an ASCII byte: a char boundary
        match escaped {
            Some(text) => out.push_str(text),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// Append `n` in decimal, as `int.__repr__` writes it.
pub fn push_int(out: &mut String, n: i64) {
    use std::fmt::Write;
    let _ = write!(out, "{n}"); // writing to a String cannot fail
}

/// Append a list of integers as the encoder lays it out on a line starting with `nl`
/// (each item on its own line one `step` deeper; `[]` when empty).
pub fn push_ints(out: &mut String, numbers: &[i64], nl: &str, step: &str) {
    if numbers.is_empty() {
        out.push_str("[]");
        return;
    }
    out.push('[');
    for (i, n) in numbers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(nl);
        out.push_str(step);
        push_int(out, *n);
    }
    out.push_str(nl);
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(s: &str) -> String {
        let mut out = String::new();
        push_str(&mut out, s);
        out
    }

    #[test]
    fn strings_are_escaped_as_the_python_encoder_does() {
        assert_eq!(quoted(""), r#""""#);
        assert_eq!(quoted("getProperties"), r#""getProperties""#);
        assert_eq!(quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quoted("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(quoted("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(quoted("é ü → 🎥"), "\"é ü → 🎥\"");
        assert_eq!(quoted("x\u{1}é\u{2}"), "\"x\\u0001é\\u0002\"");
    }

    #[test]
    fn integers_and_lists_of_them() {
        let mut out = String::new();
        push_int(&mut out, i64::MIN);
        out.push(' ');
        push_int(&mut out, 0);
        assert_eq!(out, "-9223372036854775808 0");
        let mut list = String::new();
        push_ints(&mut list, &[3, 14], "\n  ", " ");
        assert_eq!(list, "[\n   3,\n   14\n  ]");
        let mut empty = String::new();
        push_ints(&mut empty, &[], "\n", " ");
        assert_eq!(empty, "[]");
    }
}
