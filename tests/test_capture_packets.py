"""The decoding reader (``open_capture(..., packet_type=Packet)``, what
``cvipsniff.pipeline.iter_capture`` reads with): the compiled record walks hand on a
record the packet decoder's fast path reads as that Packet, and nothing else changes.

The contract, against the plain read of the same file: one item per record, in order;
an item is either the plain read's Frame, unchanged, or the Packet the decoder's fast
path makes of that Frame (``PacketDecoder.decode`` returns it, and so never notes
anything for it); the notes are the same, each before the same record. On every bundled
capture as pcapng and as classic pcap, on the same with a split worker's share, and on
damaged copies (resyncs, cut records, corrupt blocks). And the analysis is the same
either way: every bundled capture's messages and notes, fed both ways.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cvipsniff.capture import open_capture
from cvipsniff.capture.errors import CaptureError
from cvipsniff.model import Frame, Packet
from cvipsniff.packets.decoder import _fast
from cvipsniff.pipeline import PipelineConfig, iter_capture
from cvipsniff.split import _flow_share, shard_bounds
from dissectors.accel import COMPILED
from tests.test_capture_skip import CAPTURES, as_classic, damaged_copies  # noqa: F401  (a fixture)

pytestmark = pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built")


def _events(path: str, packets: bool, wanted: object | None = None) -> list[tuple]:
    """The read as one sequence of ("note", text), ("frame", Frame) and ("packet",
    Packet) in the order the reader made them."""
    events: list[tuple] = []
    try:
        with open_capture(path, on_note=lambda n: events.append(("note", n.message)),
                          wanted=wanted, packet_type=Packet if packets else None) as reader:
            for item in reader:
                kind = "packet" if type(item) is Packet else "frame"
                assert kind == "packet" or type(item) is Frame
                events.append((kind, item))
    except CaptureError as exc:
        events.append(("error", str(exc)))
    return events


def check(path: str, wanted: object | None = None) -> int:
    """The contract on ``path``; the records that came decoded."""
    plain = _events(path, False, wanted)
    decoded = _events(path, True, wanted)
    assert len(decoded) == len(plain)
    count = 0
    for (kind, item), (plain_kind, plain_item) in zip(decoded, plain, strict=True):
        if kind == "packet":
            assert plain_kind == "frame"
            assert item == _fast(Packet, plain_item)  # the decoder's own fast path
            count += 1
        else:
            assert (kind, item) == (plain_kind, plain_item)
            if kind == "frame":  # what the fast path reads never comes as a Frame
                assert _fast(Packet, item) is None
    return count


def test_bundled_captures_as_they_are() -> None:
    decoded = sum(check(str(capture)) for capture in CAPTURES)
    assert decoded > 1000


def test_bundled_captures_as_classic_pcap(as_classic: list[Path]) -> None:  # noqa: F811
    assert len(as_classic) > 20
    assert sum(check(str(path)) for path in as_classic) > 1000


def test_with_a_split_workers_share(as_classic: list[Path]) -> None:  # noqa: F811
    """Skipping other workers' records and decoding the rest go together."""
    bounds = list(shard_bounds(2))
    for path in [*CAPTURES[:12], *as_classic[:12]]:
        for index in (0, 1):
            check(str(path), _flow_share(index, bounds, {}))


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_damaged_copies(suffix: str, as_classic: list[Path],  # noqa: F811
                        tmp_path: Path) -> None:
    noted = 0
    sources = as_classic if suffix == ".pcap" else CAPTURES
    for path in damaged_copies(sources, tmp_path, suffix, seed=23):
        check(str(path))
        noted += any(e[0] == "note" for e in _events(str(path), False))
    assert noted > 10


def test_the_analysis_is_the_same_fed_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """``iter_capture`` feeds decoded records to ``Pipeline.feed_packet`` and the rest to
    ``Pipeline.feed``: the same outputs as feeding every Frame to ``feed``."""
    import cvipsniff.pipeline as pipeline_module

    def plain_open(path, on_note=None, wanted=None, packet_type=None, lane=None):
        return open_capture(path, on_note=on_note, wanted=wanted)

    config = PipelineConfig(tree=False)
    decoded_somewhere = False
    for capture in CAPTURES:
        decoded = [repr(item) for item in iter_capture(str(capture), config)]
        with monkeypatch.context() as m:
            m.setattr(pipeline_module, "open_capture", plain_open)
            plain = [repr(item) for item in iter_capture(str(capture), config)]
        assert decoded == plain, capture
        decoded_somewhere |= any(e[0] == "packet" for e in _events(str(capture), True))
    assert decoded_somewhere
