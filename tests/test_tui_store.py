"""The message store as the TUI uses it: columns read back exactly, summaries kept in one
buffer, message numbers without a dict while they are dense, records re-dissected
once out of the cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture
from cvipsniff.store import MessageStore
from dissectors.base import Record

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "captures" / "demo.pcapng")


@pytest.fixture(scope="module")
def messages() -> list[Message]:
    return [m for m in iter_capture(DEMO, PipelineConfig(keep_data=True))
            if isinstance(m, Message)]


def _message(number: int, info: str = "x", *, response: bool = False) -> Message:
    record = Record(protocol="cvip", kind="response" if response else "request", info=info,
                    is_response=response)
    return Message(number=number, flow=0, direction=0, transport="tcp",
                   src=("10.0.0.1", 1), dst=("10.0.0.2", 7110), frames=[number],
                   ts_ns=number * 1000, first_ts_ns=number * 1000, offset=0, length=3,
                   record=record, data=b"abc")


def test_rows_read_back_what_was_stored(messages):
    store = MessageStore()
    for m in messages:
        store.add(m)
    assert len(store) == len(messages)
    for i, m in enumerate(messages):
        row = store.row(i)
        assert (row.number, row.frame, row.ts_ns, row.src, row.dst, row.protocol, row.kind,
                row.length, row.info, row.flow, row.direction, row.method, row.txn,
                row.is_response) == (
            m.number, m.frame, m.ts_ns, m.src, m.dst, m.record.protocol, m.record.kind,
            m.length, m.record.info, m.flow, m.direction, m.record.method, m.record.txn,
            m.record.is_response)
        assert (store.info(i), store.ts_ns(i), store.frame(i), store.protocol(i),
                store.number(i)) == (m.record.info, m.ts_ns, m.frame, m.record.protocol,
                                     m.number)
        assert store.frames(i) == m.frames
    store.close()


def test_records_are_rebuilt_from_the_bytes_once_evicted(messages):
    store = MessageStore()
    for m in messages:
        store.add(m)
    first = messages[6]  # long out of the cache
    again = store.record(6)
    assert again is not first.record
    assert [(f.key, f.offset, f.length, f.text()) for f in again.walk()] == \
        [(f.key, f.offset, f.length, f.text()) for f in first.record.walk()]
    assert store.message(6).data == first.data
    store.close()


def test_summaries_keep_any_text():
    store = MessageStore()
    texts = ["plain", "", "ünïcødé → ✓", "emoji 📷 and CJK 監視", "lone \udcff surrogate"]
    for n, text in enumerate(texts, 1):
        store.add(_message(n, text))
    assert [store.info(i) for i in range(len(texts))] == texts
    assert store.row(4).info == texts[4]
    store.close()


def test_dense_numbers_need_no_dict_and_a_gap_is_handled():
    store = MessageStore()
    for n in (1, 2, 3):
        store.add(_message(n))
    assert store._by_number is None  # the point of the dense case
    assert [store.index_of_number(n) for n in (0, 1, 3, 4)] == [None, 0, 2, None]
    store.add(_message(10))  # a gap: from now on numbers are looked up
    store.add(_message(11, response=True))
    assert [store.index_of_number(n) for n in (1, 3, 4, 10, 11, 12)] == \
        [0, 2, None, 3, 4, None]
    assert store.row(4).is_response and not store.row(0).is_response
    store.close()


def test_findings_raise_the_severity_of_their_message():
    from cvipsniff.analysis.model import Finding

    store = MessageStore()
    for n in (5, 6):  # not dense from the start
        store.add(_message(n))
    finding = Finding(rule="r", severity="warning", message="m", spec="", frames=[6],
                      message_number=6)
    store.add_finding(finding)
    store.add_finding(replace(finding, message_number=99))  # unknown: kept, not attached
    assert store.severity(1) == 2 and store.severity(0) == 0
    assert store.findings_of(1) == [finding] and store.findings_count(1) == 1
    assert len(store.findings) == 2
    store.close()
