"""The report's JSON text is exactly what ``json.dumps(indent=..., ensure_ascii=False)``
would write: the fast encoder is checked against the standard library."""

from __future__ import annotations

import json
from enum import IntEnum

import pytest

from cvipsniff.report.jsontext import dumps_indented, iter_indented


class _Code(IntEnum):
    OK = 7


class _Name(str):
    pass


SAMPLES = [
    {},
    [],
    (),
    None,
    True,
    0,
    -12,
    2**70,
    1.5,
    1e-7,
    float("nan"),
    float("inf"),
    -float("inf"),
    "plain",
    "quote \" backslash \\ tab \t nl \n ctl \x01 é ✓ \U0001f600",
    {"a": {}, "b": [], "c": [{}], "d": [[], [1, [2, {"e": None}]]]},
    {3: "int key", 2.5: "float key", True: "bool", False: "f", None: "none", "s": (1, 2)},
    {"version": 1, "files": [{"path": "x", "summary": {"n": {"cvip": 3}},
                              "transactions": [{"frames": [1, 2], "time": 1714564800.000649,
                                                "latency_ms": None, "ok": False}]}]},
    {_Name("sub"): [_Code.OK, _Name("v"), 3.25]},
]


@pytest.mark.parametrize("indent", [1, 2, 4])
@pytest.mark.parametrize("obj", SAMPLES, ids=range(len(SAMPLES)))
def test_same_text_as_json_dumps(obj, indent):
    assert dumps_indented(obj, indent) == json.dumps(obj, indent=indent, ensure_ascii=False)


def test_unsupported_values_and_keys_raise_type_error():
    with pytest.raises(TypeError):
        dumps_indented({"x": object()})
    with pytest.raises(TypeError):
        dumps_indented({(1, 2): 3})


@pytest.mark.parametrize("depth", [0, 1, 2, 4, 9])
@pytest.mark.parametrize("obj", SAMPLES, ids=range(len(SAMPLES)))
def test_pieces_join_to_the_same_text(obj, depth):
    assert "".join(iter_indented(obj, 1, depth)) == json.dumps(obj, indent=1,
                                                               ensure_ascii=False)
