"""The engine's side of the compiled lean dissections (``ProtocolSpec.lean_for``): each
protocol hands its lean dissection for exactly the options it answers for, the pipeline
tries it first, and whatever it declines or raises on is the dissector's as before. The
records themselves are held to the Python path by the two lean equivalence test files
and, end to end, by the compiled-against-pure report and read comparisons."""

from __future__ import annotations

import pytest

from cvipsniff.model import Message
from cvipsniff.pipeline import Pipeline, PipelineConfig, iter_capture
from dissectors import cvip, imageserver
from dissectors.accel import COMPILED

from .conftest import ROOT

PROTOCOLS = {"cvip": cvip.PROTOCOL, "imageserver": imageserver.PROTOCOL}
LEAN = {"tree": False, "attrs": False}
DEMO = ROOT / "captures" / "demo.pcapng"


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_a_protocol_hands_its_lean_dissection_for_the_lean_defaults_only(name: str) -> None:
    spec = PROTOCOLS[name]
    lean_options = {key: value for key, value in LEAN.items()
                    if key != "attrs" or spec.optional_attrs}
    lean = spec.lean_for(spec.read_options(lean_options))
    assert (lean is not None) == COMPILED
    for other in ({}, {"tree": False, "reveal_secrets": True}, {**lean_options, "tree": True}):
        assert spec.lean_for(spec.read_options(other)) is None, other
    assert spec.lean_for(dict(lean_options)) is None  # unread: dissect reads (or reports) it
    assert spec.lean_for(None) is None


def test_the_pipeline_takes_the_lean_dissections_for_a_batch_report_only() -> None:
    batch = Pipeline(PipelineConfig(keep_data=False, tree=False, attrs=False))
    assert set(batch._lean) == (set(PROTOCOLS) if COMPILED else set())
    assert Pipeline(PipelineConfig())._lean == {}  # read, the TUI: trees wanted


def _records(config: PipelineConfig) -> list[tuple]:
    return [(m.number, m.record) for m in iter_capture(str(DEMO), config)
            if isinstance(m, Message)]


@pytest.mark.skipif(not COMPILED, reason="pure-Python path: no lean dissection to try")
def test_what_a_lean_dissection_declines_or_raises_on_is_the_dissectors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = PipelineConfig(keep_data=False, tree=False, attrs=False)
    want = _records(config)
    assert len(want) > 20
    tried: list[bytes] = []
    real_init = Pipeline.__init__

    def init(self: Pipeline, *args, **kwargs) -> None:
        real_init(self, *args, **kwargs)
        for name, lean in list(self._lean.items()):
            def failing(data: bytes, udp: bool, lean=lean) -> None:
                tried.append(data)
                if len(tried) % 2:
                    raise RuntimeError("a lean dissection that breaks")
                return lean(data, udp) and None  # declines, after doing the work

            self._lean[name] = failing

    monkeypatch.setattr(Pipeline, "__init__", init)
    assert _records(config) == want
    assert len(tried) >= len(want) - 5  # every message was offered (pings never reach it)
