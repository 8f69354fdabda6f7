"""Field registry: engine fields, naming conventions (wildcards, protocol rows, open
protocols), loading from the dissectors robustly, suggestions, and the fields listing."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import dissectors
from cvipsniff.filter import (
    ENGINE_FIELDS,
    FieldRegistry,
    FilterError,
    compile_filter,
    default_registry,
    format_fields_listing,
)
from cvipsniff.filter.registry import RECORD_PROTOCOLS, load_protocol_specs, wildcard_prefix
from dissectors.base import FieldInfo, ProtocolSpec

BRIEF_ENGINE_KEYS = [
    "frame", "frame.time", "frame.time_relative", "message", "flow", "direction", "protocol",
    "length", "ip.src", "ip.dst", "ip.addr", "tcp.port", "tcp.srcport", "tcp.dstport",
    "udp.port", "udp.srcport", "udp.dstport", "src.port", "dst.port", "latency_ms",
    "txn.state", "txn.id", "finding", "finding.rule", "finding.severity", "finding.message",
    "finding.spec",
]


def spec(name: str, fields: object) -> ProtocolSpec:
    return ProtocolSpec(
        name=name, tcp_ports=(), udp_ports=(), detect=None, new_framer=None, dissect=None,
        fields=fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("key", BRIEF_ENGINE_KEYS)
def test_engine_fields_are_comparable(key: str) -> None:
    registry = FieldRegistry()
    assert registry.is_comparable(key)
    assert key in registry


def test_engine_groups_are_prefixes() -> None:
    registry = FieldRegistry()
    for prefix in ("ip", "tcp", "udp", "src", "dst", "txn", "finding", "frame", "attrs"):
        assert registry.is_known(prefix), prefix
    assert not registry.is_comparable("tcp")


def test_record_protocols_are_known_without_any_dissector() -> None:
    registry = FieldRegistry()
    for info in RECORD_PROTOCOLS:
        assert registry.is_known(info.key)
        assert not registry.is_comparable(info.key)


@pytest.mark.parametrize(
    ("key", "prefix"),
    [("cvip.param.*", "cvip.param."), ("imageserver.header.<name>", "imageserver.header."),
     ("cvip.param", None), ("cvip.*.x", None)],
)
def test_wildcard_conventions(key: str, prefix: str | None) -> None:
    assert wildcard_prefix(key) == prefix


def test_wildcard_fields_accept_any_key_below_them() -> None:
    registry = FieldRegistry(
        {"cvip": [FieldInfo("cvip.param.*", "Parameter", "any"),
                  FieldInfo("imageserver.header.<name>", "Header", "string")]}
    )
    info = registry.field("cvip.param.StreamID")
    assert info is not None and info.label == "Parameter"
    assert registry.is_comparable("cvip.param.Video.Width")
    assert registry.is_comparable("imageserver.header.Content-type")
    assert not registry.is_comparable("cvip.param")  # the prefix itself has no value
    assert registry.is_known("cvip.param")
    assert registry.field("cvip.params.x") is None


def test_protocol_rows_are_bare_names_only() -> None:
    registry = FieldRegistry({"x": [FieldInfo("x-ping", "X ping", "protocol")]})
    compile_filter("x-ping", registry)
    with pytest.raises(FilterError, match="is a protocol or group of fields"):
        compile_filter("x-ping == 1", registry)


def test_open_protocol_accepts_any_key_under_its_name() -> None:
    registry = FieldRegistry({"newproto": []})
    assert registry.is_comparable("newproto.whatever.deep")
    assert registry.is_known("newproto")
    assert not registry.is_known("newprotox.a")
    compile_filter("newproto.anything == 3 && newproto", registry)
    with pytest.raises(FilterError, match=r"unknown field 'otherproto\.x'"):
        compile_filter("otherproto.x == 1", registry)


def test_a_listed_protocol_is_closed() -> None:
    registry = FieldRegistry({"p": [FieldInfo("p.a", "A", "uint")]})
    assert registry.is_comparable("p.a")
    assert not registry.is_known("p.b")


def test_first_declaration_of_a_key_wins() -> None:
    registry = FieldRegistry({"p": [FieldInfo("frame", "Other frame", "string"),
                                     FieldInfo("p.a", "A", "uint"),
                                     FieldInfo("p.a", "A again", "string")]})
    assert registry.field("frame").label == "Frame number"  # type: ignore[union-attr]
    assert registry.field("p.a").label == "A"  # type: ignore[union-attr]


def test_suggestions() -> None:
    registry = FieldRegistry({"cvip": [FieldInfo("cvip.method", "M", "string"),
                                       FieldInfo("cvip.param.*", "P", "any")]})
    assert registry.suggest("cvip.methd") == "cvip.method"
    assert registry.suggest("CVIP.METHOD") == "cvip.method"
    assert registry.suggest("latency") == "latency_ms"
    assert registry.suggest("cvip.parm.Speed") == "cvip.param.Speed"
    assert registry.suggest("zzzzzzzz") is None


def test_from_specs_tolerates_malformed_specs() -> None:
    registry = FieldRegistry.from_specs(
        [
            spec("good", (FieldInfo("good.a", "A", "uint"), "not a FieldInfo", 42)),
            spec("broken", 17),  # fields not iterable
        ]
    )
    assert registry.is_comparable("good.a")
    assert registry.is_comparable("broken.anything")  # unlisted: open
    assert any("broken" in p for p in registry.problems)


def test_from_dissectors_uses_the_dissector_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = {"cvip": spec("cvip", (FieldInfo("cvip.txn", "Txn", "uint"),))}
    monkeypatch.setattr(dissectors, "registry", lambda: fake)
    registry = FieldRegistry.from_dissectors()
    assert registry.problems == ()
    assert registry.is_comparable("cvip.txn")
    assert not registry.is_known("cvip.nosuch")


def test_from_dissectors_survives_missing_and_broken_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def failing_registry() -> dict[str, ProtocolSpec]:
        raise ImportError("cannot import name 'PROTOCOL'")

    (tmp_path / "goodproto").mkdir()
    (tmp_path / "goodproto" / "__init__.py").write_text(
        textwrap.dedent(
            """
            from dissectors.base import FieldInfo, ProtocolSpec
            PROTOCOL = ProtocolSpec("goodproto", (), (), None, None, None,
                                    (FieldInfo("goodproto.x", "X", "uint"),))
            """
        )
    )
    (tmp_path / "brokenproto").mkdir()
    (tmp_path / "brokenproto" / "__init__.py").write_text("raise RuntimeError('half written')\n")
    (tmp_path / "emptyproto").mkdir()
    (tmp_path / "emptyproto" / "__init__.py").write_text("")
    monkeypatch.setattr(dissectors, "registry", failing_registry)
    monkeypatch.setattr(dissectors, "__path__", [str(tmp_path)])
    for name in ("goodproto", "brokenproto", "emptyproto"):
        # Registered so that monkeypatch removes what the imports add when the test ends.
        monkeypatch.setitem(sys.modules, f"dissectors.{name}", None)
        monkeypatch.delitem(sys.modules, f"dissectors.{name}")
        monkeypatch.setattr(dissectors, name, None, raising=False)
        monkeypatch.delattr(dissectors, name)

    specs, problems = load_protocol_specs()
    assert [s.name for s in specs] == ["goodproto"]
    text = "\n".join(problems)
    assert "dissectors.registry() failed" in text
    assert "dissectors.brokenproto: RuntimeError: half written" in text
    assert "dissectors.emptyproto: no PROTOCOL" in text

    registry = FieldRegistry.from_dissectors()
    assert registry.is_comparable("goodproto.x")
    assert registry.is_comparable("frame")
    listing = format_fields_listing(registry)
    assert "# problem: dissectors.brokenproto: RuntimeError: half written" in listing


def test_fake_protocol_packages_do_not_leak() -> None:
    assert "dissectors.goodproto" not in sys.modules
    assert not hasattr(dissectors, "goodproto")


def test_default_registry_always_has_the_engine_fields() -> None:
    registry = default_registry()
    assert registry is default_registry()  # built once
    for key in BRIEF_ENGINE_KEYS:
        assert registry.is_comparable(key)
    compile_filter("frame == 12 && cvip-ping")  # default registry when none given


def test_listing_format() -> None:
    registry = FieldRegistry(
        {"zeta": [FieldInfo("zeta.a", "A\tlabel", "uint", "line one\nline two")],
         "cvip": [FieldInfo("cvip.param.*", "Parameter", "any", "by name")]},
        problems=["something failed"],
    )
    listing = format_fields_listing(registry)
    lines = listing.splitlines()
    assert listing.endswith("\n")
    headers = [line for line in lines if line.startswith("# ") and "problem" not in line]
    assert headers == ["# engine", "# cvip", "# imageserver", "# zeta"]
    assert lines[0] == "# engine"
    rows = [line.split("\t") for line in lines if not line.startswith("#")]
    assert all(len(row) == 4 for row in rows)
    by_key = {row[0]: row for row in rows}
    assert by_key["zeta.a"] == ["zeta.a", "uint", "A label", "line one line two"]
    assert by_key["cvip.param.*"][1:] == ["any", "Parameter", "by name"]
    assert by_key["cvip"][1] == "protocol"
    assert by_key["frame"][1] == "uint"
    assert len(rows) == len(ENGINE_FIELDS) + len(RECORD_PROTOCOLS) + 2
    cvip_rows = lines[lines.index("# cvip") + 1 : lines.index("# imageserver")]
    assert [r.split("\t")[1] for r in cvip_rows] == ["protocol", "protocol", "any"]
    assert lines[-1] == "# problem: something failed"
