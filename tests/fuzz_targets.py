"""The fuzz targets: every framer and dissector entry point and the capture readers, each a
hypothesis strategy and a function that must hold the promise of ``DESIGN.md`` on any
input it draws (no exception, no ``dissector_error``, exit status 0/1/2, bounded memory).

Run briefly by ``tests/test_fuzz.py`` (marker ``fuzz``, part of the normal suite) and for
as long as asked by ``scripts/fuzz.sh DURATION`` (``scripts/fuzz.py``), which counts the
inputs tried per target, times them and saves any failing input to ``tests/corpus/``.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from cvipsniff.capture import open_capture
from cvipsniff.capture.errors import CaptureError
from dissectors.cvip import detect as detect_cvip
from dissectors.imageserver import detect as detect_imageserver
from tests.capture_mutator import KINDS, TOKENS, Mutation, mutate
from tests.fuzzing import dissect_message, frame_and_dissect, run_capture

ROOT = Path(__file__).resolve().parent.parent
# Small bundled captures the capture mutator starts from (both formats, both protocols).
SEED_CAPTURES = (
    "captures/violations/cvip-violations-ping.pcapng",
    "captures/violations/imageserver-violation-connect-errorreason.pcapng",
    "captures/scenarios/cvip-discovery.pcapng",
    "captures/violations/cvip-violations-xml.pcapng",
    "captures/violations/imageserver-violation-unknown-method.pcapng",
    "captures/violations/cvip-violations-header.pcapng",
    "captures/impairments/sll.pcap",
    "captures/impairments/snaplen.pcap",
)


@dataclass(frozen=True, slots=True)
class Target:
    """``kind`` says where a failing input is saved in the corpus (``cvip``,
    ``imageserver``: one message; ``capture``: a capture file)."""

    name: str
    kind: str
    strategy: st.SearchStrategy
    run: Callable[[object], None]
    to_bytes: Callable[[object], bytes]


@functools.cache
def cvip_seeds() -> tuple[bytes, ...]:
    from tests.test_cvip_record import corpus

    return tuple(corpus())


@functools.cache
def imageserver_seeds() -> tuple[bytes, ...]:
    from cvipsniff.sim.imageserver import encode as e

    connect = e.connect_request(1, username="u", password="secret", cameraid="c",
                                connectparam=e.connect_param("d", "tok"))
    image = e.image_response(e.ImageHeaders(2, 1, 2, 3), b"\xff\xd8" + bytes(40) + b"\xff\xd9")
    live = e.livepackage(123, [])
    return (connect, e.goto_request(2, 1000), e.live_request(3), image, live,
            e.connect_response(1, connected=True))


def _edited(seeds: Callable[[], tuple[bytes, ...]]) -> st.SearchStrategy[bytes]:
    """A seed message with tokens written over it, bytes cut out and its end cut off."""
    edit = st.tuples(st.integers(0, 1 << 16), st.integers(0, len(TOKENS) - 1),
                     st.sampled_from(("over", "insert", "delete")))

    @st.composite
    def build(draw) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds())))
        for pos, token_index, how in draw(st.lists(edit, max_size=6)):
            at = pos % (len(data) + 1)
            token = TOKENS[token_index]
            if how == "over":
                data[at:at + len(token)] = token
            elif how == "insert":
                data[at:at] = token
            else:
                del data[at:at + 1 + token_index]
        cut = draw(st.none() | st.integers(0, len(data)))
        return bytes(data if cut is None else data[:cut])

    return build()


def _message(protocol: str) -> Callable[[object], None]:
    detect = detect_cvip if protocol == "cvip" else detect_imageserver

    def run(data: object) -> None:
        assert isinstance(data, bytes)
        dissect_message(protocol, data)
        if protocol == "cvip":
            dissect_message(protocol, data, "udp")
        assert 0 <= detect(data, "tcp", 40000, 7110) <= 100
    return run


def _stream(protocol: str) -> Callable[[object], None]:
    def run(drawn: object) -> None:
        data, chunk, gap_at = drawn  # type: ignore[misc]
        frame_and_dissect(protocol, data, chunk=chunk, gap_at=gap_at)
    return run


def _stream_strategy(seeds: st.SearchStrategy[bytes]) -> st.SearchStrategy:
    return st.tuples(st.lists(seeds | st.binary(max_size=64), min_size=1, max_size=5)
                     .map(b"".join), st.integers(1, 2000), st.none() | st.integers(0, 20))


def _read_only(data: object) -> None:
    """The capture reader alone: frames and notes, never an exception but CaptureError
    (a file that is no capture at all)."""
    assert isinstance(data, bytes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.pcapng"
        path.write_bytes(data)
        try:
            with open_capture(str(path), on_note=lambda note: None) as reader:
                for _frame in reader:
                    pass
        except CaptureError:
            pass


def _commands(data: object) -> None:
    assert isinstance(data, bytes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.pcapng"
        path.write_bytes(data)
        run_capture(path)


@functools.cache
def _seed_capture_bytes() -> tuple[bytes, ...]:
    return tuple((ROOT / name).read_bytes() for name in SEED_CAPTURES)


_MUTATION = st.builds(Mutation, st.sampled_from(KINDS), st.integers(0, 1 << 20),
                      st.integers(0, (1 << 64) - 1))


@st.composite
def mutated_capture(draw) -> bytes:
    seed = draw(st.sampled_from(_seed_capture_bytes()))
    return mutate(seed, draw(st.lists(_MUTATION, min_size=1, max_size=6)))


def _identity(data: object) -> bytes:
    return data  # type: ignore[return-value]


def _stream_bytes(drawn: object) -> bytes:
    return drawn[0]  # type: ignore[index]


CVIP_MESSAGES = _edited(cvip_seeds)
IMAGESERVER_MESSAGES = _edited(imageserver_seeds)

TARGETS: tuple[Target, ...] = (
    Target("cvip-dissect-bytes", "cvip", st.binary(max_size=600), _message("cvip"), _identity),
    Target("cvip-dissect-edited", "cvip", CVIP_MESSAGES, _message("cvip"), _identity),
    Target("cvip-framer", "cvip", _stream_strategy(CVIP_MESSAGES), _stream("cvip"),
           _stream_bytes),
    Target("imageserver-dissect-bytes", "imageserver", st.binary(max_size=600),
           _message("imageserver"), _identity),
    Target("imageserver-dissect-edited", "imageserver", IMAGESERVER_MESSAGES,
           _message("imageserver"), _identity),
    Target("imageserver-framer", "imageserver", _stream_strategy(IMAGESERVER_MESSAGES),
           _stream("imageserver"), _stream_bytes),
    Target("capture-reader", "capture", mutated_capture(), _read_only, _identity),
    Target("capture-report-read", "capture", mutated_capture(), _commands, _identity),
)
BY_NAME = {t.name: t for t in TARGETS}
