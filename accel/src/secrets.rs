//! The credential pre-check of `dissectors/secrets.py` (`may_hold_secrets`): whether a
//! message's bytes contain `token`, `passw`, `pwd` or `secret` in any ASCII letter case.
//!
//! Most messages hold no credential, and every message is asked, so the question is on
//! the hot path. The Python reference lowers a copy of the message and runs four
//! substring searches over it (about 7 µs on the sessions bench mix's messages); here it
//! is one pass without a copy. ASCII case only, exactly as `bytes.lower()` folds.

/// The fragments, lower case (a secret-named element, key or member holds one of them).
const FRAGMENTS: [&[u8]; 4] = [b"token", b"passw", b"pwd", b"secret"];

/// Whether `data` contains one of the fragments, ASCII letters in any case.
pub fn may_hold_secrets(data: &[u8]) -> bool {
    let n = data.len();
    let mut i = 0;
    while i < n {
        // `| 0x20` folds an upper-case letter to its lower case; only `T`/`t`, `P`/`p`
        // and `S`/`s` fold to the fragments' first letters.
        let first = data[i] | 0x20;
        if first == b't' || first == b'p' || first == b's' {
            for fragment in FRAGMENTS {
                if fragment[0] == first && starts_with_folded(&data[i..], fragment) {
                    return true;
                }
            }
        }
        i += 1;
    }
    false
}

/// Whether `data` starts with `lower` (lower case), ASCII letters of `data` in any case.
fn starts_with_folded(data: &[u8], lower: &[u8]) -> bool {
    data.len() >= lower.len()
        && data.iter().zip(lower).all(|(&a, &b)| a.to_ascii_lowercase() == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrand::XorShift;

    /// The reference: lower the bytes (ASCII only, as Python's `bytes.lower`), search.
    fn reference(data: &[u8]) -> bool {
        let lowered = data.to_ascii_lowercase();
        FRAGMENTS.iter().any(|f| lowered.windows(f.len()).any(|w| w == *f))
    }

    #[test]
    fn every_fragment_in_any_case_anywhere() {
        for fragment in FRAGMENTS {
            let upper = fragment.to_ascii_uppercase();
            for word in [fragment.to_vec(), upper] {
                for (before, after) in [(&b""[..], &b""[..]), (b"<x>", b"</x>"), (b"ab", b"")] {
                    let data = [before, &word[..], after].concat();
                    assert!(may_hold_secrets(&data), "{:?}", String::from_utf8_lossy(&data));
                }
            }
        }
        assert!(may_hold_secrets(b"<UserPassWord>x</UserPassWord>"));
        assert!(may_hold_secrets(b"connectionToken=1"));
    }

    #[test]
    fn near_misses_and_non_ascii_do_not_match() {
        for data in [&b""[..], b"toke", b"tokn", b"pass", b"pw", b"secre", b"toke\x00n",
                     b"\xe2\x84\xaaey", b"\xc4\xb0", b"p\xd7d", b"T0KEN",
                     b"<methodCall><requestid>1</requestid></methodCall>"] {
            assert!(!may_hold_secrets(data), "{:?}", String::from_utf8_lossy(data));
        }
        // Bytes that fold onto a first letter with `| 0x20` but are not letters.
        assert!(!may_hold_secrets(&[0x54 ^ 0x80, b'o', b'k', b'e', b'n']));
    }

    #[test]
    fn same_verdict_as_the_reference_on_random_bytes() {
        let mut rand = XorShift::new(17);
        let mut below = |n: u64| rand.next() % n;
        let alphabet = b"tTpPsSoOkKeEnNaAwWdDcCrR<>=x\x00\xff ";
        for _ in 0..20_000 {
            let len = below(40) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| if below(4) == 0 { below(256) as u8 }
                     else { alphabet[below(alphabet.len() as u64) as usize] })
                .collect();
            assert_eq!(may_hold_secrets(&data), reference(&data), "{data:?}");
        }
    }
}
