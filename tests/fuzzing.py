"""What every fuzz target and corpus replay runs: bytes through a protocol's framer and
dissector (or a whole capture through ``report`` and ``read``), with the promise of
``DESIGN.md`` checked: no exception escapes, no ``dissector_error``, nothing silently
dropped. Shared by ``tests/test_fuzz_*.py`` and ``tests/test_fuzz_corpus.py``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dissectors.base import Framed, Record, Skipped
from dissectors.cvip import PROTOCOL as CVIP
from dissectors.imageserver import PROTOCOL as IMAGESERVER

CORPUS = Path(__file__).resolve().parent / "corpus"
PROTOCOLS = {"cvip": CVIP, "imageserver": IMAGESERVER}


def assert_no_dissector_error(record: Record) -> None:
    bad = [p for p in record.problems if p.rule == "dissector_error"]
    assert not bad, bad[0].message


def frame_and_dissect(protocol: str, data: bytes, chunk: int = 997,
                      gap_at: int | None = None) -> list[Record]:
    """``data`` as one direction of a TCP stream, in ``chunk``-byte pieces (a gap of 100
    bytes after piece ``gap_at``), through the framer; every message dissected. The
    framer's accounting is checked: every byte is in a message or a skipped stretch."""
    spec = PROTOCOLS[protocol]
    framer = spec.new_framer()
    events = []
    for n, i in enumerate(range(0, len(data), chunk)):
        events += framer.feed(data[i:i + chunk])
        if gap_at == n:
            events += framer.gap(100)
    events += framer.close()
    records = []
    for event in events:
        assert isinstance(event, Framed | Skipped)
        if isinstance(event, Framed):
            record = spec.dissect(event.data, "tcp")
            assert_no_dissector_error(record)
            records.append(record)
    return records


def dissect_message(protocol: str, data: bytes, transport: str = "tcp") -> Record:
    """One message straight to the dissector, in both tree modes (full and lean)."""
    spec = PROTOCOLS[protocol]
    record = spec.dissect(data, transport)
    assert_no_dissector_error(record)
    lean = spec.dissect(data, transport, {"tree": False})
    assert_no_dissector_error(lean)
    return record


def message_target(protocol: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        dissect_message(protocol, data)
        frame_and_dissect(protocol, data)
    return run


CAPTURE_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("report", "{path}", "--format", "json"),
    ("read", "-r", "{path}", "-V", "-t", "a"),
    ("read", "-r", "{path}", "-T", "json"),
)


def run_capture(path: Path, commands: tuple[tuple[str, ...], ...] = CAPTURE_COMMANDS) -> None:
    """``report`` and ``read`` on a capture file in-process: no exception escapes, the exit
    status is 0, 1 or 2 (never 3, an internal error), and output is produced or the error
    is one line."""
    import contextlib
    import io

    from cvipsniff.cli import main

    for command in commands:
        argv = [part.format(path=path) for part in command]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        assert code in (0, 1, 2), (argv, code, err.getvalue()[-2000:])
        if code == 2:
            lines = err.getvalue().strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in lines[0], err.getvalue()[-2000:]
