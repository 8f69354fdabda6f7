"""docs/FILTERS.md stays true: its examples compile and its error lines are what the
language really says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cvipsniff.filter import FieldRegistry, FilterError, compile_filter
from cvipsniff.filter.registry import ENGINE_FIELDS
from dissectors.base import FieldInfo

DOC = Path(__file__).resolve().parent.parent / "docs" / "FILTERS.md"

REGISTRY = FieldRegistry(
    {
        "cvip": [FieldInfo(k, k, "any") for k in
                 ("cvip.method", "cvip.txn", "cvip.kind", "cvip.param.*")],
        "imageserver": [FieldInfo(k, k, "any") for k in
                        ("imageserver.requestid", "imageserver.connected")],
    }
)


def code_blocks() -> list[str]:
    return re.findall(r"```\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_headline_examples_compile() -> None:
    examples = [line for line in code_blocks()[0].splitlines() if line.strip()]
    assert len(examples) == 16
    for text in examples:
        compile_filter(text, REGISTRY)


def test_every_engine_field_is_documented() -> None:
    text = DOC.read_text()
    for info in ENGINE_FIELDS:
        name = info.key.replace(".*", ".<name>")
        assert f"`{name}`" in text, name


ERROR_INPUTS = {
    "unexpected token '&'": "frame == 123 & cvip",
    "unknown field 'cvip.methd'": "cvip.methd",
    "unquoted string 'ack'": "cvip.kind == ack",
    "unexpected name 'contain'": 'cvip.method contain "x"',
    "unclosed '('": "(cvip",
    "a range is only allowed inside a set": "frame == 7..9",
    "'cvip' at column 1 is a protocol": "cvip == 1",
    "invalid regular expression": 'cvip.method matches "("',
}


def documented_errors() -> list[str]:
    block = next(b for b in code_blocks() if "did you mean" in b)
    return [line for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("line", documented_errors())
def test_documented_error_messages_are_real(line: str) -> None:
    prefix = next((p for p in ERROR_INPUTS if line.startswith(p)), None)
    assert prefix is not None, f"no input for documented error {line!r}"
    with pytest.raises(FilterError) as caught:
        compile_filter(ERROR_INPUTS[prefix], REGISTRY)
    shown = line.rstrip("…").rstrip()
    assert str(caught.value).startswith(shown)


def test_documented_precedence_example() -> None:
    registry = FieldRegistry({"x": [FieldInfo(k, k, "any") for k in ("a", "b", "c")]})
    assert str(compile_filter("a || b && !c == 1", registry)) == "(a || (b && !(c == 1)))"
