"""Replay of ``tests/corpus/``: every input that ever broke a framer, a dissector or a
capture reader (see ``tests/corpus/README.md``), run through its target on every test run
so no fix can silently regress."""

from __future__ import annotations

import pytest

from tests.fuzzing import CORPUS, message_target, run_capture

MESSAGE_FILES = sorted(p for proto in ("cvip", "imageserver")
                       for p in (CORPUS / proto).glob("*.bin"))


@pytest.mark.parametrize("path", MESSAGE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_message_corpus(path):
    message_target(path.parent.name)(path.read_bytes())


def test_the_corpus_is_not_empty():
    assert MESSAGE_FILES


CAPTURE_FILES = sorted((CORPUS / "capture").glob("*.pcap*"))


@pytest.mark.parametrize("path", CAPTURE_FILES, ids=lambda p: p.name)
def test_capture_corpus(path):
    run_capture(path)
