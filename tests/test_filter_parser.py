"""Parser of the display-filter language: precedence, tree shapes, and every kind of mistake
reported as a one-line FilterError with its position and, where possible, a suggestion."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvipsniff.filter import FieldRegistry, FilterError, compile_filter
from cvipsniff.filter.parser import MAX_DEPTH, parse
from cvipsniff.filter.syntax import (
    And,
    Compare,
    Exists,
    FieldRef,
    Literal,
    MatchAll,
    Membership,
    Not,
    Or,
    Range,
)
from dissectors.base import FieldInfo

REGISTRY = FieldRegistry(
    {
        "cvip": [
            FieldInfo("cvip.method", "Method", "string"),
            FieldInfo("cvip.txn", "Transaction", "uint"),
            FieldInfo("cvip.kind", "Kind", "string"),
            FieldInfo("cvip.param.*", "Parameter", "any"),
        ],
        "imageserver": [
            FieldInfo("imageserver.requestid", "Request id", "uint"),
            FieldInfo("imageserver.methodname", "Method", "string"),
            FieldInfo("imageserver.header.<name>", "Header", "string"),
        ],
    }
)


def canonical(text: str) -> str:
    return str(parse(text, REGISTRY))


# ---- precedence and shapes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cvip || imageserver && finding", "(cvip || (imageserver && finding))"),
        ("cvip && imageserver || finding", "((cvip && imageserver) || finding)"),
        ("(cvip || imageserver) && finding", "((cvip || imageserver) && finding)"),
        ("!cvip && finding", "(!cvip && finding)"),
        ("not cvip or finding", "(!cvip || finding)"),
        ("!(cvip && finding)", "!(cvip && finding)"),
        ("!!cvip", "!!cvip"),
        ("not frame == 1", "!(frame == 1)"),
        ("cvip and imageserver and finding", "(cvip && imageserver && finding)"),
        ("cvip or imageserver or finding", "(cvip || imageserver || finding)"),
        ("(cvip || imageserver) || finding", "(cvip || imageserver || finding)"),
        ("frame == 1 && frame != 2 || !txn", "((frame == 1 && frame != 2) || !txn)"),
        ("((((cvip))))", "cvip"),
        ("frame eq 1 and frame ne 2", "(frame == 1 && frame != 2)"),
        ("frame gt 1 && frame le 0x10", "(frame > 1 && frame <= 16)"),
        ('cvip.method ~ "x"', 'cvip.method matches "x"'),
        ("frame in {1, 2,3 ,}", "frame in {1 2 3}"),
        ("frame not in {1 5 7..9}", "frame not in {1 5 7..9}"),
        ("   ", ""),
    ],
)
def test_precedence_and_canonical_form(text: str, expected: str) -> None:
    assert canonical(text) == expected


def test_tree_of_the_headline_example() -> None:
    tree = parse('cvip.method == "cviStream.create" && latency_ms > 100', REGISTRY)
    assert tree == And(
        (
            Compare("cvip.method", "==", Literal("string", "cviStream.create", 15), 0),
            Compare("latency_ms", ">", Literal("number", 100, 50), 37),
        )
    )


def test_membership_tree() -> None:
    tree = parse("frame in {1 5 7..9}", REGISTRY)
    assert isinstance(tree, Membership)
    assert tree.field == "frame" and not tree.negated
    assert [str(e) for e in tree.elements] == ["1", "5", "7..9"]
    assert isinstance(tree.elements[2], Range)


def test_field_on_the_right_is_a_reference() -> None:
    tree = parse("ip.src == ip.dst", REGISTRY)
    assert isinstance(tree, Compare)
    assert tree.value == FieldRef("ip.dst", 10)


def test_wildcard_and_bare_protocol_names() -> None:
    assert parse("cvip.param.StreamID == 3", REGISTRY) == Compare(
        "cvip.param.StreamID", "==", Literal("number", 3, 23), 0
    )
    assert parse("imageserver.header.Content-type", REGISTRY) == Exists(
        "imageserver.header.Content-type", 0
    )
    assert parse("cvip-ping", REGISTRY) == Exists("cvip-ping", 0)
    assert parse("tcp", REGISTRY) == Exists("tcp", 0)
    assert parse("cvip.param", REGISTRY) == Exists("cvip.param", 0)


def test_empty_filter_matches_all() -> None:
    assert isinstance(parse("", REGISTRY), MatchAll)
    assert compile_filter(" ", REGISTRY).is_empty


def test_long_chains_are_flat() -> None:
    text = " || ".join(f"frame == {i}" for i in range(3000))
    tree = parse(text, REGISTRY)
    assert isinstance(tree, Or)
    assert len(tree.operands) == 3000


def test_nesting_up_to_the_cap_is_fine() -> None:
    text = "(" * MAX_DEPTH + "cvip" + ")" * MAX_DEPTH
    assert canonical(text) == "cvip"
    assert isinstance(parse("!" * MAX_DEPTH + "cvip", REGISTRY), Not)


# ---- errors ------------------------------------------------------------------------------

ERRORS = [
    # (filter, 0-based position, text the message must contain)
    ('cvip.method == "x" & frame == 1', 19, "did you mean '&&'?"),
    ("cvip.methd == 1", 0, "unknown field 'cvip.methd' at column 1; did you mean 'cvip.method'?"),
    ("Frame == 1", 0, "did you mean 'frame'?"),
    ("imagesrever", 0, "did you mean 'imageserver'?"),
    ("cvip.prm.StreamID == 1", 0, "did you mean 'cvip.param.StreamID'?"),
    ("nosuchthing", 0, "unknown field 'nosuchthing'"),
    ('cvip.kind == ack', 13, 'unquoted string \'ack\' at column 14; did you mean "ack"?'),
    ("cvip.kind == cvip.knd", 13, "did you mean 'cvip.kind'?"),
    ("frame in {ack}", 10, 'did you mean "ack"?'),
    ("(cvip", 0, "unclosed '('"),
    ("((cvip) && (finding)", 0, "unclosed '('"),
    ("cvip)", 4, "no '(' to close"),
    ("(cvip finding)", 6, "expected '&&', '||' or ')'"),
    ("()", 0, "empty parentheses"),
    ("cvip.txn ==", 9, "expected a value after '=='"),
    ("cvip.txn == )", 12, "expected a value after '=='"),
    ("cvip &&", 5, "expected a field name after '&&'"),
    ("&& cvip", 0, "unexpected '&&'"),
    ("not", 0, "expected a field name after 'not'"),
    ("5 == frame", 0, "expected a field name at column 1, found number 5"),
    ("cvip imageserver", 5, "expected '&&', '||' or the end of the filter"),
    ("frame == 1 == 2", 11, "comparisons cannot be chained"),
    ("(cvip) == 1", 7, "a comparison starts with a field name"),
    ("frame == 7..9", 10, "only allowed inside a set"),
    ("frame == {1 2}", 6, "a set needs 'in'"),
    ("frame in 5", 9, "expected '{' after 'in'"),
    ("frame not in 5", 13, "expected '{' after 'in'"),
    ("frame in {}", 9, "empty set"),
    ("frame in {1 2", 9, "unclosed '{'"),
    ("frame in {1..}", 13, "expected a value or '}' in a set"),
    ("frame in {9..7}", 10, "the start is greater than the end"),
    ('frame in {1.."a"}', 10, "must join two numbers"),
    ("ip.addr in {10.0.0.1..::1}", 12, "must join two numbers"),
    ("in {1}", 0, "unexpected 'in'"),
    ("cvip in {1}", 0, "'cvip' at column 1 is a protocol or group of fields"),
    ("cvip == 1", 0, "is a protocol or group of fields"),
    ("cvip.param == 1", 0, "is a protocol or group of fields"),
    ('cvip.method contain "x"', 12, "did you mean 'contains'?"),
    ('cvip.method machtes "x"', 12, "did you mean 'matches'?"),
    ('cvip.method matches "("', 20, "invalid regular expression"),
    ('cvip.method matches "' + "a" * 2000 + '"', 20, "regular expression too long"),
    ("cvip.method matches cvip.kind", 20, "'matches' needs a quoted regular expression"),
    ("cvip.method matches 5", 20, "'matches' needs a quoted regular expression"),
    ("cvip.method contains 5", 21, 'did you mean "5"?'),
    ("frame < true", 8, "cannot order booleans"),
    ("ip.src > 10.0.0.0/8", 9, "needs a single address"),
    ('finding.severity >= "warn"', 20, "ordered info < warning < error"),
    ("finding.severity >= 2", 20, "ordered info < warning < error"),
    ("cvip not imageserver", 5, "unexpected 'not'"),
    ("frame ==", 6, "found end of filter"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), ERRORS)
def test_errors_have_position_and_one_line_message(
    text: str, position: int, fragment: str
) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(text, REGISTRY)
    error = caught.value
    message = str(error)
    assert fragment in message
    assert error.position == position, message
    assert error.column == position + 1
    assert f"column {position + 1}" in message
    assert "\n" not in message
    assert 0 <= error.position <= len(text)
    assert error.length >= 1


def test_error_length_spans_the_offending_name() -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter("frame == 1 && cvip.methd", REGISTRY)
    assert (caught.value.position, caught.value.length) == (14, len("cvip.methd"))


def test_deep_parentheses_are_an_error_not_a_recursion_error() -> None:
    depth = 50_000 // 2
    with pytest.raises(FilterError, match="nested too deeply") as caught:
        compile_filter("(" * depth + "cvip" + ")" * depth, REGISTRY)
    assert caught.value.position == MAX_DEPTH


def test_deep_negation_is_an_error_not_a_recursion_error() -> None:
    with pytest.raises(FilterError, match="nested too deeply"):
        compile_filter("!" * 10_000 + "cvip", REGISTRY)
    with pytest.raises(FilterError, match="nested too deeply"):
        compile_filter("not " * 5_000 + "cvip", REGISTRY)


def test_unknown_fields_are_checked_everywhere() -> None:
    for text in ("nosuch", "nosuch == 1", "nosuch in {1}", "!nosuch", "cvip || (nosuch)"):
        with pytest.raises(FilterError, match="unknown field 'nosuch'"):
            compile_filter(text, REGISTRY)


# ---- the canonical rendering parses back to the same tree -------------------------------

_fields = st.sampled_from(["frame", "cvip.txn", "cvip.method", "ip.addr", "latency_ms"])
_literals = st.one_of(
    st.integers(-(2**40), 2**40).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.text(max_size=8).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(["true", "false", "10.0.0.1", "::1", "10.0.0.0/8"]),
)
_comparisons = st.builds(
    lambda f, op, lit: f"{f} {op} {lit}",
    _fields,
    st.sampled_from(["==", "!=", "===", "!=="]),
    _literals,
)
_terms = st.one_of(
    _comparisons,
    st.sampled_from(["cvip", "finding", "tcp", "frame in {1 5 7..9}", "frame not in {2}"]),
)
_expressions = st.recursive(
    _terms,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a} && {b})", inner, inner),
        st.builds(lambda a, b: f"({a} || {b})", inner, inner),
        st.builds(lambda a: f"!({a})", inner),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_expressions)
def test_canonical_form_round_trips(text: str) -> None:
    tree = parse(text, REGISTRY)
    again = parse(str(tree), REGISTRY)
    assert str(again) == str(tree)
    assert _strip_positions(again) == _strip_positions(tree)


def _strip_positions(node: object) -> object:
    """A tree's shape and values without source positions (which differ after rendering)."""
    if isinstance(node, Literal):
        return ("lit", node.kind, node.value)
    if isinstance(node, FieldRef):
        return ("ref", node.name)
    if isinstance(node, Range):
        return ("range", _strip_positions(node.low), _strip_positions(node.high))
    if isinstance(node, Exists):
        return ("exists", node.name)
    if isinstance(node, Compare):
        return ("cmp", node.field, node.op, _strip_positions(node.value))
    if isinstance(node, Membership):
        return ("in", node.field, node.negated, tuple(_strip_positions(e) for e in node.elements))
    if isinstance(node, Not):
        return ("not", _strip_positions(node.operand))
    if isinstance(node, And | Or):
        return (type(node).__name__, tuple(_strip_positions(o) for o in node.operands))
    return node
