"""Evaluation semantics: multi-valued and missing fields, quantifiers, coercion between
numbers and strings, booleans, sets and ranges, addresses, regexes, totality."""

from __future__ import annotations

import ipaddress
from enum import Enum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvipsniff.filter import FieldRegistry, MappingFieldSource, compile_filter
from dissectors.base import FieldInfo

REGISTRY = FieldRegistry(
    {
        "t": [
            FieldInfo("t.n", "number", "uint"),
            FieldInfo("t.s", "string", "string"),
            FieldInfo("t.b", "bool", "bool"),
            FieldInfo("t.a", "address", "address"),
            FieldInfo("t.x", "anything", "any"),
            FieldInfo("t.y", "anything", "any"),
            FieldInfo("t.sub.*", "subtree", "any"),
        ]
    }
)


def match(text: str, **fields: object) -> bool:
    item = MappingFieldSource({f"t.{k}": v for k, v in fields.items()})
    return compile_filter(text, REGISTRY).matches(item)


# ---- multi-valued and missing fields ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("t.n == 2", [1, 2, 3], True),
        ("t.n == 4", [1, 2, 3], False),
        ("t.n != 2", [1, 2, 3], False),  # some value equals: != is false (all_ne)
        ("t.n != 4", [1, 2, 3], True),
        ("t.n === 2", [2, 2], True),
        ("t.n === 2", [2, 3], False),
        ("t.n !== 2", [2, 3], True),  # some value differs (any_ne)
        ("t.n !== 2", [2, 2], False),
        ("t.n > 2", [1, 3], True),
        ("t.n > 5", [1, 3], False),
        ("t.n < 2 && t.n > 2", [1, 3], True),  # each comparison picks its own value
        ("t.n in {3 9}", [1, 3], True),
        ("t.n not in {3 9}", [1, 3], False),
        ("t.n not in {4 9}", [1, 3], True),
    ],
)
def test_multi_valued_fields(text: str, values: list[object], expected: bool) -> None:
    assert match(text, n=values) is expected


@pytest.mark.parametrize(
    "text",
    [
        "t.n == 1",
        "t.n != 1",
        "t.n === 1",
        "t.n !== 1",
        "t.n < 1",
        "t.n >= 1",
        't.n contains "1"',
        't.n matches "1"',
        "t.n in {1}",
        "t.n not in {1}",
        "t.n",
        "t.n == t.s",
        "t.n != t.s",
    ],
)
def test_comparisons_with_a_missing_field_are_false(text: str) -> None:
    assert match(text, s="other") is False


def test_negation_matches_missing_fields() -> None:
    assert match("!(t.n == 1)", s="x") is True
    assert match("not t.n", s="x") is True
    assert match("!(t.n == 1)", n=1) is False


def test_structure_values_are_present_but_match_nothing() -> None:
    item = MappingFieldSource({"t.x": [None, {"a": 1}], "t.y": 1})
    assert compile_filter("t.x", REGISTRY).matches(item)
    for text in ("t.x == 1", 't.x == "None"', 't.x contains "a"', "t.x != 1"):
        assert compile_filter(text, REGISTRY).matches(item) is (text == "t.x != 1")


# ---- numbers and strings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("t.x == 7", 7, True),
        ("t.x == 7", 7.0, True),
        ("t.x == 7", "7", True),
        ("t.x == 7", " 7 ", True),
        ("t.x == 16", "0x10", True),
        ("t.x == 0x10", 16, True),
        ("t.x == 1500", "1.5e3", True),
        ("t.x == 7", "seven", False),
        ("t.x == 7", "7a", False),
        ("t.x == 1", True, True),
        ("t.x == 0", False, True),
        ("t.x == 7", None, False),
        ('t.x == "7"', 7, True),
        ('t.x == "7.0"', 7, True),
        ('t.x == "7"', "7", True),
        ('t.x == "07"', "7", False),  # two strings compare as strings
        ('t.x == "abc"', "abc", True),
        ('t.x == "ABC"', "abc", False),  # case-sensitive, as Wireshark
        ('t.x == "abc"', b"abc", True),
        ("t.x > 100", "250", True),
        ("t.x > 100", "99", False),
        ("t.x > 100", "lots", False),
        ("t.x <= 1.5", 1.5, True),
        ("t.x >= -3", -3, True),
        ('t.x > "100"', 250, True),
        ('t.x > "100"', "250", True),  # strings order as strings
        ('t.x > "100"', "99", True),
        ('t.x < "b"', "abc", True),
        ('t.x < "b"', 5, False),  # "b" is not a number
        ("t.x == 7", float("nan"), False),
        ("t.x == 7", "nan", False),
        ("t.x == 7", "inf", False),
        ("t.x == 3", "\u0663", False),  # an Arabic-Indic digit is not an ASCII number
    ],
)
def test_number_and_string_coercion(text: str, value: object, expected: bool) -> None:
    assert match(text, x=value) is expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("t.b == true", True, True),
        ("t.b == true", False, False),
        ("t.b == false", False, True),
        ("t.b == true", 1, True),
        ("t.b == true", "yes", True),
        ("t.b == true", "Yes", True),
        ("t.b == false", "no", True),
        ("t.b == true", "no", False),
        ("t.b == true", "maybe", False),
        ('t.b == "yes"', True, True),
        ('t.b == "true"', True, True),
        ('t.b == "no"', True, False),
        ("t.b", False, True),  # existence, not truth
        ("t.b != true", False, True),
    ],
)
def test_booleans(text: str, value: object, expected: bool) -> None:
    assert match(text, b=value) is expected


class State(Enum):
    ANSWERED = "answered"


def test_enum_values_compare_by_value() -> None:
    assert match('t.x == "answered"', x=State.ANSWERED)
    assert match('t.x contains "swer"', x=State.ANSWERED)


# ---- contains and matches ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ('t.s contains "Stream"', "cviStream.create", True),
        ('t.s contains "stream"', "cviStream.create", False),
        ('t.s contains ""', "x", True),
        ('t.s contains "JFIF"', b"\xff\xd8JFIF", True),
        ('t.s contains "12"', 3120, True),
        ('t.s matches "^cviPTZ\\\\."', "cviPTZ.cmd", True),
        ('t.s matches r"^cviPTZ\\."', "cviPTZ.cmd", True),
        ('t.s matches "^cviPTZ\\\\."', "cviPTZcmd", False),
        ('t.s matches "create$"', "cviStream.create", True),
        ('t.s matches "Stream"', "cviStream.create", True),  # unanchored search
        ('t.s matches "stream"', "cviStream.create", False),  # case-sensitive
        ('t.s matches "(?i)stream"', "cviStream.create", True),
        ('t.s matches "^[0-9]+$"', 1234, True),
        ('t.s matches "^true$"', True, True),
    ],
)
def test_contains_and_matches(text: str, value: object, expected: bool) -> None:
    assert match(text, s=value) is expected


def test_contains_and_matches_look_at_a_bounded_prefix() -> None:
    from cvipsniff.filter.values import MAX_SEARCH_CHARS

    huge = "a" * MAX_SEARCH_CHARS + "needle"
    assert match('t.s contains "aaa"', s=huge)
    assert not match('t.s contains "needle"', s=huge)
    assert not match('t.s matches "needle"', s=huge)


# ---- sets and ranges ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, True), (5, True), (6, False), (7, True), (8, True), (9, True), (10, False),
     ("8", True), (8.5, True), (True, True), (None, False), ("x", False)],
)
def test_number_sets_with_ranges(value: object, expected: bool) -> None:
    assert match("t.n in {1 5 7..9}", n=value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ack", True), ("event", True), ("b", True), ("bz", True), ("c", False),
     ("request", False), (1, True), ("1", True)],
)
def test_mixed_sets(value: object, expected: bool) -> None:
    assert match('t.x in {"ack", "event", "b".."bzz", 1}', x=value) is expected


def test_float_ranges() -> None:
    assert match("t.n in {0.5..1.5}", n=1)
    assert not match("t.n in {0.5..1.5}", n=2)


# ---- addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("t.a == 127.0.0.1", "127.0.0.1", True),
        ("t.a == 127.0.0.1", "127.0.0.2", False),
        ("t.a == 127.0.0.1", ipaddress.ip_address("127.0.0.1"), True),
        ("t.a == 127.0.0.1", b"\x7f\x00\x00\x01", True),
        ("t.a == 127.0.0.1", "::1", False),
        ("t.a == ::1", "::1", True),
        ("t.a == ::1", "0:0:0:0:0:0:0:1", True),
        ("t.a == 10.0.0.0/8", "10.1.2.3", True),
        ("t.a == 10.0.0.0/8", "11.1.2.3", False),
        ("t.a == 10.0.0.0/8", "::1", False),
        ("t.a == fe80::/10", "fe80::1", True),
        ("t.a != 10.0.0.0/8", "11.1.2.3", True),
        ("t.a > 10.0.0.1", "10.0.0.2", True),
        ("t.a > 10.0.0.1", "::2", False),
        ("t.a in {10.0.0.1..10.0.0.9}", "10.0.0.5", True),
        ("t.a in {10.0.0.1..10.0.0.9}", "10.0.0.10", False),
        ("t.a in {192.168.0.0/16 ::1}", "192.168.7.7", True),
        ("t.a == 127.0.0.1", "not an address", False),
        ("t.a == 127.0.0.1", 2130706433, False),
        ('t.a == "127.0.0.1"', "127.0.0.1", True),
    ],
)
def test_addresses(text: str, value: object, expected: bool) -> None:
    assert match(text, a=value) is expected


# ---- field against field -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "x", "y", "expected"),
    [
        ("t.x == t.y", 5, 5, True),
        ("t.x == t.y", 5, "5", True),
        ("t.x == t.y", [1, 2], [3, 2], True),
        ("t.x != t.y", [1, 2], [3, 2], False),
        ("t.x != t.y", [1, 2], [3, 4], True),
        ("t.x === t.y", [2, 2], [2], True),
        ("t.x !== t.y", [2, 3], [2], True),
        ("t.x < t.y", 1, 2, True),
        ("t.x < t.y", 3, 2, False),
        ("t.x contains t.y", "cviStream", "Str", True),
        ("t.x == t.y", "127.0.0.1", ipaddress.ip_address("127.0.0.1"), True),
        ("t.x < t.y", 1, True, False),
    ],
)
def test_field_against_field(text: str, x: object, y: object, expected: bool) -> None:
    assert match(text, x=x, y=y) is expected


# ---- ordered string fields -----------------------------------------------------------------


def test_severity_orders_by_rank_not_spelling() -> None:
    flt = compile_filter('finding.severity >= "warning"', REGISTRY)

    def item(*severities: str) -> MappingFieldSource:
        return MappingFieldSource({"finding.severity": list(severities)})

    assert flt.matches(item("error"))
    assert flt.matches(item("warning"))
    assert not flt.matches(item("info"))
    assert flt.matches(item("info", "error"))
    assert not flt.matches(item("bogus"))
    assert compile_filter('finding.severity < "error"', REGISTRY).matches(item("info"))
    assert compile_filter('finding.severity == "error"', REGISTRY).matches(item("error"))


# ---- prefixes and logic ----------------------------------------------------------------------


def test_bare_names_test_presence_under_a_prefix() -> None:
    item = MappingFieldSource({"t.sub.deep.key": 1}, protocols=["t-extra"])
    assert compile_filter("t", REGISTRY).matches(item)
    assert compile_filter("t.sub", REGISTRY).matches(item)
    assert compile_filter("t.sub.deep", REGISTRY).matches(item)
    assert compile_filter("t.sub.deep.key == 1", REGISTRY).matches(item)
    assert not compile_filter("t.n", REGISTRY).matches(item)
    assert not compile_filter("cvip", REGISTRY).matches(item)


def test_short_circuit_logic() -> None:
    assert match("t.n == 1 || t.n == 2 || t.n == 3", n=3)
    assert not match("t.n == 1 && t.s == 'a' && t.n > 0", n=1, s="b")
    assert match("t.n == 1 && t.s == 'a' && t.n > 0", n=1, s="a")
    assert match("!(t.n == 1 && t.s == 'a') || t.n == 1", n=1, s="a")


def test_empty_filter_matches_everything() -> None:
    flt = compile_filter("", REGISTRY)
    assert flt.matches(MappingFieldSource({}))


def test_filter_reports_the_fields_it_reads() -> None:
    flt = compile_filter("t.n == 1 || (t || !(t.x == t.y) || t.s in {1})", REGISTRY)
    assert flt.fields == {"t.n", "t", "t.x", "t.y", "t.s"}


def test_huge_or_chain_evaluates_without_recursion() -> None:
    text = " || ".join(f"t.n == {i}" for i in range(4000))
    flt = compile_filter(text, REGISTRY)
    assert flt.matches(MappingFieldSource({"t.n": 3999}))
    assert not flt.matches(MappingFieldSource({"t.n": 4000}))


# ---- evaluation is total: any value, any operator, no exception --------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.sampled_from(["127.0.0.1", "::1", "0x10", "1e3", " 7 ", "yes", "nan", "-inf"]),
    st.builds(ipaddress.ip_address, st.integers(0, 2**32 - 1)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)
_filters = st.sampled_from(
    [
        "t.x == 7", "t.x != 7", "t.x === 7", "t.x !== 7", "t.x < 7", "t.x >= -1.5",
        't.x == "7"', 't.x < "m"', "t.x == true", "t.x == 127.0.0.1", "t.x == 10.0.0.0/8",
        "t.x > ::1", 't.x contains "1"', 't.x matches "^[0-9]"', "t.x in {1 5 7..9}",
        't.x in {"a".."m" 1.5 ::1 true}', "t.x == t.y", "t.x < t.y", "t.x contains t.y",
        "t.x !== t.y", "t.x",
    ]
)


@settings(max_examples=400, deadline=None)
@given(_filters, st.lists(_scalars, max_size=3), st.lists(_scalars, max_size=3))
def test_evaluation_never_raises(text: str, xs: list[object], ys: list[object]) -> None:
    item = MappingFieldSource({"t.x": xs, "t.y": ys})
    result = compile_filter(text, REGISTRY).matches(item)
    assert result is True or result is False
