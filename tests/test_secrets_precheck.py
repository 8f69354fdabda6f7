"""``may_hold_secrets`` (lowering + substring search, or its compiled twin where the
accelerator is built) gives exactly the verdict of the case-insensitive regular
expression it replaced, on any bytes."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dissectors.secrets import SECRET_WORDS, _may_hold_secrets, is_secret_name, may_hold_secrets

# The reference: what the pre-check was before (and what it must keep answering).
REFERENCE = re.compile(rb"(?i)token|passw|pwd|secret")
FRAGMENTS = [b"token", b"passw", b"pwd", b"secret", b"tokn", b"pass", b"pw", b"secre",
             b"\xc4\xb0", b"\xe2\x84\xaa", b"<password>", b"connectiontoken=", b"PassWord"]


@st.composite
def near_misses(draw: st.DrawFn) -> bytes:
    """Bytes mixing random data with fragments of secret words in random letter case
    (and non-ASCII look-alikes that only Unicode case folding would match)."""
    pieces = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            word = draw(st.sampled_from(FRAGMENTS))
            pieces.append(bytes(c ^ 0x20 if 0x41 <= (c & ~0x20) <= 0x5A and draw(st.booleans())
                                else c for c in word))
        else:
            pieces.append(draw(st.binary(max_size=20)))
    return b"".join(pieces)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=300) | near_misses())
@example(b"PWD")
@example(b"sEcReT")
@example(b"toke\x00n")
@example(b"\xe2\x84\xaaey")
@example(b"")
def test_same_verdict_as_the_regex(data: bytes) -> None:
    expected = REFERENCE.search(data) is not None
    assert may_hold_secrets(data) == expected
    assert _may_hold_secrets(data) == expected  # the pure-Python twin, on both paths


def test_any_bytes_like_and_long_messages() -> None:
    body = b"<value>" + b"x" * 100_000 + b"</value>"
    for data in (body, bytearray(body)):
        assert not may_hold_secrets(data)
    for data in (body + b"PWD", b"Secret" + body, bytearray(body[:50] + b"tOkEn" + body)):
        assert may_hold_secrets(data)


def test_every_secret_word_is_caught_in_any_case() -> None:
    for word in SECRET_WORDS:
        for variant in (word, word.upper(), word.title()):
            assert may_hold_secrets(b"<x>" + variant.encode() + b"</x>")
    assert not may_hold_secrets(b"<methodcall><requestid>1</requestid></methodcall>")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30) | st.sampled_from(["PassWord", "UserPassword", "connectiontoken",
                                                 "pwdHash", "passwd", "Secret", "pass", "tok",
                                                 "\u0130token", "PASSWD"]))
def test_is_secret_name_any_secret_word(name: str) -> None:
    expected = any(word in name.lower() for word in SECRET_WORDS)
    assert is_secret_name(name) is expected
    assert is_secret_name(name) is expected  # the cached answer too
