"""Tokenizer of the display-filter language: token kinds, values, positions, lexical errors."""

from __future__ import annotations

import ipaddress

import pytest

from cvipsniff.filter.errors import FilterError
from cvipsniff.filter.tokenizer import (
    ADDRESS,
    AND,
    BOOL,
    COMMA,
    COMPARE,
    END,
    IN,
    LBRACE,
    LPAREN,
    MAX_FILTER_CHARS,
    NAME,
    NOT,
    NUMBER,
    OR,
    RANGE,
    RBRACE,
    RPAREN,
    STRING,
    tokenize,
)


def kinds(text: str) -> list[str]:
    return [t.kind for t in tokenize(text)]


def values(text: str) -> list[object]:
    return [t.value for t in tokenize(text)[:-1]]


def test_comparison_tokens_carry_positions() -> None:
    tokens = tokenize('cvip.method == "cviStream.create"')
    assert [(t.kind, t.position) for t in tokens] == [
        (NAME, 0),
        (COMPARE, 12),
        (STRING, 15),
        (END, 33),
    ]
    assert tokens[2].value == "cviStream.create"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("cvip.method", "cvip.method"),
        ("cvip-ping", "cvip-ping"),
        ("cvip.param.0", "cvip.param.0"),
        ("imageserver.header.Content-type", "imageserver.header.Content-type"),
        ("_private.x_y", "_private.x_y"),
        ("latency_ms", "latency_ms"),
    ],
)
def test_field_names(text: str, name: str) -> None:
    tokens = tokenize(text)
    assert tokens[0].kind == NAME
    assert tokens[0].value == name
    assert tokens[1].kind == END


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("==", "=="),
        ("eq", "=="),
        ("any_eq", "=="),
        ("!=", "!="),
        ("ne", "!="),
        ("all_ne", "!="),
        ("===", "==="),
        ("all_eq", "==="),
        ("!==", "!=="),
        ("any_ne", "!=="),
        ("<", "<"),
        ("lt", "<"),
        ("<=", "<="),
        ("le", "<="),
        (">", ">"),
        ("gt", ">"),
        (">=", ">="),
        ("ge", ">="),
        ("contains", "contains"),
        ("matches", "matches"),
        ("~", "matches"),
        ("GE", ">="),
    ],
)
def test_comparison_operator_spellings(text: str, canonical: str) -> None:
    token = tokenize(text)[0]
    assert (token.kind, token.value) == (COMPARE, canonical)


def test_logic_and_punctuation() -> None:
    assert kinds("&& and || or ! not ( ) { } , .. in AND Not") == [
        AND, AND, OR, OR, NOT, NOT, LPAREN, RPAREN, LBRACE, RBRACE, COMMA, RANGE, IN, AND,
        NOT, END,
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7", 7),
        ("007", 7),
        ("0x10", 16),
        ("0X1f", 31),
        ("0o17", 15),
        ("0b101", 5),
        ("-5", -5),
        ("-0x10", -16),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("-0.5", -0.5),
    ],
)
def test_numbers(text: str, value: float) -> None:
    token = tokenize(text)[0]
    assert token.kind == NUMBER
    assert token.value == value
    assert type(token.value) is type(value)


def test_range_is_not_a_float() -> None:
    assert kinds("7..9") == [NUMBER, RANGE, NUMBER, END]
    assert values("7..9") == [7, "..", 9]
    assert values("1.5..2.5") == [1.5, "..", 2.5]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1", ipaddress.ip_address("127.0.0.1")),
        ("::1", ipaddress.ip_address("::1")),
        ("fe80::1", ipaddress.ip_address("fe80::1")),
        ("2001:db8::5", ipaddress.ip_address("2001:db8::5")),
        ("::ffff:10.0.0.1", ipaddress.ip_address("::ffff:10.0.0.1")),
        ("10.0.0.0/8", ipaddress.ip_network("10.0.0.0/8")),
        ("10.1.2.3/8", ipaddress.ip_network("10.0.0.0/8")),
        ("fe80::/10", ipaddress.ip_network("fe80::/10")),
    ],
)
def test_addresses(text: str, address: object) -> None:
    token = tokenize(text)[0]
    assert token.kind == ADDRESS
    assert token.value == address
    assert tokenize(text)[1].kind == END


def test_address_range_in_set() -> None:
    assert kinds("{10.0.0.1..10.0.0.9}") == [LBRACE, ADDRESS, RANGE, ADDRESS, RBRACE, END]


def test_hex_word_without_colon_is_a_name() -> None:
    assert tokenize("deadbeef")[0].kind == NAME
    assert tokenize("cafe.babe")[0].kind == NAME


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"plain"', "plain"),
        ("'single'", "single"),
        (r'"a\"b"', 'a"b'),
        (r'"back\\slash"', "back\\slash"),
        (r'"tab\tnl\n"', "tab\tnl\n"),
        (r'"\x41\u00e9\U0001F600"', "A\u00e9\U0001f600"),
        (r'"^cviPTZ\\."', r"^cviPTZ\."),
        (r'r"^cviPTZ\."', r"^cviPTZ\."),
        (r'r"a\"b"', r"a\"b"),
        ('"&& || ( ) =="', "&& || ( ) =="),
        ('""', ""),
    ],
)
def test_strings(text: str, value: str) -> None:
    token = tokenize(text)[0]
    assert token.kind == STRING
    assert token.value == value
    assert token.text == text


def test_booleans() -> None:
    assert values("true false TRUE") == [True, False, True]
    assert kinds("true") == [BOOL, END]


def test_whitespace_is_free() -> None:
    assert values("frame==1") == values("  frame   ==\t1\n")


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("frame & cvip", 6, "did you mean '&&'?"),
        ("frame | cvip", 6, "did you mean '||'?"),
        ("frame = 1", 6, "did you mean '=='?"),
        ("frame <> 1", 6, "did you mean '!='?"),
        ('frame =~ "x"', 6, "did you mean 'matches'?"),
        ("frame @ 1", 6, "unexpected character '@'"),
        ('frame == "abc', 9, "unterminated string"),
        (r'frame == "a\.b"', 11, r"invalid escape '\.'"),
        (r'frame == "\x4"', 10, "takes 2 hex digits"),
        ("frame == 0xZZ", 9, "invalid number '0xZZ'"),
        ("frame == 12abc", 9, "invalid number '12abc'"),
        ("frame == 1.2.3", 9, "four numbers"),
        ("ip.src == 300.1.1.1", 10, "invalid IPv4 address"),
        ("ip.src == fe80::1::2", 10, "invalid IPv6 address"),
        ("ip.src == fe80::1zz", 10, "invalid IPv6 address 'fe80::1zz'"),
        ("cvip. == 1", 0, "incomplete field name 'cvip.'"),
        (".cvip", 0, "unexpected '.'"),
        ("frame == " + "1" * 65, 9, "number too long"),
        ("frame == -" + "1" * 65, 9, "number too long"),
        ("\u00e9t\u00e9 == 1", 0, "unexpected character '\u00e9'"),
        ("frame == \u0663", 9, "unexpected character"),
    ],
)
def test_lexical_errors(text: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterError) as caught:
        tokenize(text)
    error = caught.value
    assert error.position == position
    assert fragment in str(error)
    assert f"column {position + 1}" in str(error)
    assert "\n" not in str(error)


def test_too_long_filter_is_refused() -> None:
    with pytest.raises(FilterError, match="filter too long"):
        tokenize("frame == 1 || " * (MAX_FILTER_CHARS // 10))
