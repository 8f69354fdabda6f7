//! Text of JSON report rows, byte for byte as Python's `json.dumps(..., indent=N,
//! ensure_ascii=False)` writes them (`cvipsniff/report/jsontext.py` is the reference).
//! Only the pieces a row is made of: strings, integers, `null`, and the indented layout
//! of objects and lists; and floats in the range where Rust's shortest spelling is
//! Python's `repr` (outside it the binding asks Python).

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

/// Python's `repr(x)` where Rust is sure to spell the same digits, else None (ask
/// Python). Both write the shortest digits that read back as `x`, the nearest to `x`
/// among them; they part only on an exact tie between two nearest, which Python breaks to
/// the even digit and Rust's `Display` does not. A tie needs `x` to be the midpoint of two
/// candidates of at most 17 digits, so its exact decimal expansion has at most 18: that
/// is ruled out from the binary exponent and the mantissa's trailing zeros (see
/// [`long_expansion`]). Python also switches to exponent notation outside
/// `1e-4 <= |x| < 1e16`, which `Display` never does, so that range is Python's too. An
/// integral value gets Python's `.0`.
pub fn python_float_repr(x: f64) -> Option<String> {
    if !(1e-4..1e16).contains(&x.abs()) || !long_expansion(x) {
        return None;
    }
    let mut text = format!("{x}");
    if !text.contains('.') {
        text.push_str(".0");
    }
    Some(text)
}

/// Whether the exact decimal expansion of the finite, non-zero `x` surely has more than
/// 18 significant digits. `x = m·2^k` with `m` odd has exactly `-k` decimals when `k < 0`
/// (an integer otherwise: false), and its leading digit at `10^p` with
/// `p >= floor(e·log10 2)` for its binary exponent `e`, so `p + 1 - k` digits at least.
fn long_expansion(x: f64) -> bool {
    let bits = x.abs().to_bits();
    let biased = i32::try_from(bits >> 52).unwrap_or(0);
    if biased == 0 || biased == 0x7ff {
        return false; // zero, subnormal, infinite or NaN: not decided here
    }
    let e = biased - 1023;
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let k = e - 52 + i32::try_from(mantissa.trailing_zeros()).unwrap_or(0);
    if k >= 0 {
        return false;
    }
    p_of(e) + 1 - k > 18
}

/// `floor(log10(2^e))`: the decimal position of the leading digit of a number of binary
/// exponent `e` is at least this (exact for |e| <= 127, tested; `e·log10 2` is nowhere
/// near an integer there, so the product's rounding cannot cross one).
fn p_of(e: i32) -> i32 {
    (f64::from(e) * std::f64::consts::LOG10_2).floor() as i32
}

/// Python's `round(x, ndigits)` for `0 <= ndigits <= 17` and a finite `x` below 1e16:
/// the decimal nearest `x` with `ndigits` places (exact ties to even, on `x`'s exact
/// binary value), read back to the nearest double. Rust's fixed-precision formatting is
/// that same correctly rounded decimal, so the text round-trip is Python's algorithm
/// (`float.__round__` formats with `dtoa` mode 3, then parses). None outside that range.
pub fn python_round(x: f64, ndigits: usize) -> Option<f64> {
    if !x.is_finite() || x.abs() >= 1e16 || ndigits > 17 {
        return None;
    }
    format!("{x:.ndigits$}").parse().ok()
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

    #[test]
    fn leading_digit_position_is_exact() {
        let digits = |n: u128| n.to_string().len() as i32;
        for e in 0..=126 {
            assert_eq!(p_of(e), digits(1u128 << e) - 1, "2^{e}");
        }
        for e in 1..=126 {
            assert_eq!(p_of(-e), -digits(1u128 << e), "2^-{e}");
        }
    }

    #[test]
    fn float_repr_as_python() {
        // (value, Python's repr) pairs; None where Rust must ask Python.
        let cases: [(f64, Option<&str>); 12] = [
            (12.345, Some("12.345")),
            (1_700_000_000.123_456_7, Some("1700000000.1234567")),
            (0.1, Some("0.1")),
            (-2.5e-3, Some("-0.0025")),
            (1e-5, None),     // Python: 1e-05
            (1e16, None),     // Python: 1e+16
            (0.0, None),
            (3.0, None),      // an integer: exact expansion short, asked
            (1_690_060_720_831_323.2, None), // a tie: Python .2, Rust .3
            (1.0 + 2f64.powi(-17), None),    // a tie too
            (1_700_000_000.0 + 2f64.powi(-8), None), // 1700000000.00390625: a tie
            (f64::NAN, None),
        ];
        for (x, want) in cases {
            assert_eq!(python_float_repr(x).as_deref(), want, "{x}");
        }
    }

    #[test]
    fn round_as_python() {
        // Python: round(x, n); exact binary ties go to the even digit.
        for (x, n, want) in [(0.125, 2, 0.12), (0.375, 2, 0.38), (2.5, 0, 2.0), (0.5, 0, 0.0),
                             (0.0625, 3, 0.062), (0.1875, 3, 0.188), (2.675, 2, 2.67),
                             (1.0005, 3, 1.0), (-0.0005, 3, -0.001), (12.3455, 3, 12.345)] {
            assert_eq!(python_round(x, n), Some(want), "round({x}, {n})");
        }
        assert_eq!(python_round(1e16, 3), None);
        assert_eq!(python_round(f64::INFINITY, 3), None);
    }

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
