"""``ANALYSIS_ATTRS`` names every record attribute an Analysis reads: a split's workers
send the report only those (cvipsniff/split.py, ``pack_message``), so one it reads but
this set forgets would change a split report. Nor do they send a report's analysis a
message's summary line, field tree, offset, length or bytes (``pack_for_analysis``).
Checked on every bundled capture, in one process: the analysis of messages stripped as
the split sends them is the full one's, byte for byte; and the split's packing keeps
exactly those attributes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.engine import ANALYSIS_ATTRS, Analysis
from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture
from cvipsniff.report import FileResult, json_report
from cvipsniff.split import (
    pack_for_analysis,
    pack_message,
    unpack_for_analysis,
    unpack_message,
)
from tests.cli_helpers import BUNDLED_CAPTURES

CAPTURES = BUNDLED_CAPTURES
PIPELINE = PipelineConfig(keep_data=False, tree=False)


def _stripped(msg: Message) -> Message:
    attrs = {k: v for k, v in msg.record.attrs.items() if k in ANALYSIS_ATTRS}
    return replace(msg, record=replace(msg.record, attrs=attrs))


def _lean(msg: Message) -> Message:
    """As a split's worker sends the message to a report's analysis."""
    return unpack_for_analysis(pack_for_analysis(msg, ANALYSIS_ATTRS), msg.number,
                               msg.flow)


def _report(path: str, strip: bool) -> str:
    analysis = Analysis(AnalysisConfig())
    for item in iter_capture(path, PIPELINE):
        analysis.add(_lean(item) if strip and type(item) is Message else item)
    analysis.finish()
    return "".join(json_report.render([FileResult(path, analysis,
                                                   findings=list(analysis.findings))],
                                      "warning"))


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_the_analysis_reads_no_attribute_beyond_the_set(capture) -> None:
    assert _report(str(capture), strip=True) == _report(str(capture), strip=False)


def test_the_set_is_read_somewhere_in_the_bundled_captures() -> None:
    """Each name is met (so the set is not stale), and packing keeps exactly those."""
    met: set[str] = set()
    for capture in CAPTURES:
        for item in iter_capture(str(capture), PIPELINE):
            if type(item) is Message:
                met |= item.record.attrs.keys() & ANALYSIS_ATTRS
                packed = unpack_message(pack_message(item, ANALYSIS_ATTRS))
                assert packed.record.attrs == {k: v for k, v in item.record.attrs.items()
                                               if k in ANALYSIS_ATTRS}
                assert packed == _stripped(item)
                assert unpack_message(pack_message(item)) == item
                # Every other field as it was (direction and addresses matter only
                # where bytes were lost or a ping crossed TCP: not every capture shows
                # a slip in them).
                assert _lean(item) == replace(
                    packed, offset=0, length=0, data=None,
                    record=replace(packed.record, info="", fields=[]))
    assert met == ANALYSIS_ATTRS
