"""LiveSession with scripted frame sources (no interface, no privileges): the same
analysis as a file, timeouts while no packet comes, stop conditions, restart, and
failures of the source or the ``-w`` file ending the capture cleanly."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import Finding
from cvipsniff.capture import open_capture
from cvipsniff.live import (
    CaptureStats,
    LiveCaptureError,
    LiveSession,
    SessionEnded,
    StopConditions,
)
from cvipsniff.model import LINKTYPE_ETHERNET, Frame, Message, TransportNote
from cvipsniff.pipeline import PipelineConfig, iter_capture
from cvipsniff.render import message_json, note_json
from cvipsniff.report.json_report import finding_json, transaction_json
from cvipsniff.sim.cvip.encode import frame as cvip_frame
from cvipsniff.sim.cvip.encode import method_call
from tests.conftest import CAPTURES
from tests.live_helpers import ScriptedSource

DEADLINE_S = 10.0


def _frames(path: Path) -> list[Frame]:
    with open_capture(str(path)) as reader:
        return list(reader)


def _collect(session: LiveSession) -> list[object]:
    out: list[object] = []
    while True:
        item = session.outputs.get(timeout=DEADLINE_S)
        out.append(item)
        if isinstance(item, SessionEnded):
            return out


@pytest.mark.parametrize("capture", [
    "loopback-real.pcapng",
    "violations/cvip-violations-pairing.pcapng",
    "violations/imageserver-violation-content-length.pcapng",
    "impairments/conflict.pcapng",
])
def test_a_replayed_capture_gives_the_offline_analysis(capture: str, tmp_path: Path) -> None:
    path = CAPTURES / capture
    frames = _frames(path)
    source = ScriptedSource(frames, end_when_empty=True)
    written = tmp_path / "out.pcapng"
    config = PipelineConfig(keep_data=False)
    session = LiveSession("test0", "tcp", source, pipeline_config=config,
                          write_to=str(written), tick_s=60.0,
                          clock=lambda: source.last_ts)
    session.start()
    outputs = _collect(session)
    assert session.join(DEADLINE_S) is outputs[-1]

    offline = Analysis()
    offline_stream: list[dict] = []
    first_ts: int | None = None
    for item in iter_capture(str(path), PipelineConfig(keep_data=False)):
        offline.add(item)
        if isinstance(item, Message):
            first_ts = first_ts or item.first_ts_ns or item.ts_ns
            offline_stream.append(message_json(item, first_ts))
        elif isinstance(item, TransportNote):
            offline_stream.append(note_json(item))
    offline.finish()

    live_stream: list[dict] = []
    first_ts = None
    for item in outputs:
        if isinstance(item, Message):
            first_ts = first_ts or item.first_ts_ns or item.ts_ns
            live_stream.append(message_json(item, first_ts))
        elif isinstance(item, TransportNote):
            live_stream.append(note_json(item))
    assert live_stream == offline_stream
    live_findings = [finding_json(f) for f in outputs if isinstance(f, Finding)]
    assert live_findings == [finding_json(f) for f in offline.findings]
    assert [transaction_json(t) for t in session.analysis.transactions] == \
        [transaction_json(t) for t in offline.transactions]

    ended = outputs[-1]
    assert isinstance(ended, SessionEnded) and ended.reason == "stopped"
    assert ended.error is None and source.closed
    assert ended.stats.packets == len(frames)
    assert ended.stats.bytes == sum(f.caplen for f in frames)
    assert ended.stats.dropped == 3  # what the source reported
    rewritten = _frames(written)
    assert [(f.ts_ns, f.caplen, f.origlen, f.linktype, f.data) for f in rewritten] == \
        [(f.ts_ns, f.caplen, f.origlen, f.linktype, f.data) for f in frames]


def _cvip_request_frame(number: int, ts_ns: int, txn: int = 7) -> Frame:
    payload = cvip_frame(method_call("cviNetwork.getProperties"), txn)
    data = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2")
                 / TCP(sport=40000, dport=7110, flags="PA", seq=1000, ack=1) / payload)
    return Frame(number, ts_ns, len(data), len(data), LINKTYPE_ETHERNET, data)


def test_an_unanswered_request_becomes_a_finding_while_no_packet_comes() -> None:
    now = [1_700_000_000_000_000_000]
    source = ScriptedSource([_cvip_request_frame(1, now[0])])
    seen: list[object] = []
    reported = threading.Event()

    def on_output(item: object) -> None:
        seen.append(item)
        if isinstance(item, Finding) and item.rule == "cvip.txn.unanswered":
            reported.set()

    session = LiveSession("test0", "tcp", source, tick_s=0.02, on_output=on_output,
                          analysis_config=AnalysisConfig(unanswered_timeout_s=2.0),
                          clock=lambda: now[0])
    session.start()
    # Ticks pass (each one a stats snapshot) while the request is younger than the timeout.
    deadline = time.monotonic() + DEADLINE_S
    while sum(isinstance(i, CaptureStats) for i in list(seen)) < 3:
        assert time.monotonic() < deadline, "the session did not tick"
        time.sleep(0.01)
    assert not reported.is_set()
    now[0] += 2_100_000_000  # 2.1 s later, and still no packet
    assert reported.wait(DEADLINE_S)
    assert session.running  # reported during the capture, not at its end
    session.stop()
    ended = session.join(DEADLINE_S)
    assert ended is not None and ended.reason == "stopped"
    unanswered = [i for i in seen if isinstance(i, Finding) and i.rule == "cvip.txn.unanswered"]
    assert len(unanswered) == 1  # settled by the timeout, not again at the end
    assert unanswered[0].frames == [1]
    assert "cviNetwork.getProperties request id=7 was never answered" in unanswered[0].message
    assert session.analysis.summary()["transactions"] == {"unanswered": 1}
    assert any(isinstance(i, CaptureStats) for i in seen[:-2])  # snapshots every tick


def test_idle_flows_are_closed_by_the_clock() -> None:
    now = [1_700_000_000_000_000_000]
    source = ScriptedSource([_cvip_request_frame(1, now[0])])
    session = LiveSession("test0", "tcp", source, tick_s=0.02, idle_timeout_s=30.0,
                          analysis_config=AnalysisConfig(unanswered_timeout_s=3600.0),
                          clock=lambda: now[0])
    session.start()
    now[0] += 31_000_000_000
    closed = None
    deadline = time.monotonic() + DEADLINE_S
    while closed is None and time.monotonic() < deadline:
        item = session.outputs.get(timeout=DEADLINE_S)
        if type(item).__name__ == "FlowClosed":
            closed = item
    assert closed is not None and closed.reason == "idle"
    # Closing the flow settled its open request as unanswered, long before the timeout.
    assert session.analysis.summary()["transactions"] == {"unanswered": 1}
    session.stop()
    assert session.join(DEADLINE_S) is not None


def test_a_packet_count_stops_the_capture_and_the_file_holds_exactly_those(
        tmp_path: Path) -> None:
    frames = _frames(CAPTURES / "loopback-real.pcapng")[:40]
    source = ScriptedSource(frames, batch=16)
    written = tmp_path / "count.pcapng"
    session = LiveSession("test0", "tcp", source, write_to=str(written),
                          stop_conditions=StopConditions(packets=25))
    ended = session.run()
    assert ended.reason == "count" and ended.stats.packets == 25
    assert [f.data for f in _frames(written)] == [f.data for f in frames[:25]]
    assert session.pipeline.frame_count == 25


def test_a_duration_stops_an_idle_capture() -> None:
    source = ScriptedSource()
    session = LiveSession("test0", "tcp", source, tick_s=0.05,
                          stop_conditions=StopConditions(duration_s=0.3))
    started = time.monotonic()
    ended = session.run()
    elapsed = time.monotonic() - started
    assert ended.reason == "duration"
    # Not before the duration; "not much after" is no assertion a busy machine keeps (that
    # it ended at all, by itself and for this reason, is what the test is about).
    assert elapsed >= 0.3
    assert source.stopped and source.closed
    assert ended.stats.elapsed_s >= 0.3


def test_stop_from_another_thread_and_restart_with_fresh_state() -> None:
    frames = _frames(CAPTURES / "loopback-real.pcapng")[:30]
    source = ScriptedSource(frames)
    session = LiveSession("test0", "tcp", source, tick_s=0.05)
    session.start()
    with pytest.raises(RuntimeError):
        session.start()  # one capture at a time
    threading.Timer(0.3, session.stop).start()
    first = session.join(DEADLINE_S)
    assert first is not None and first.reason == "stopped" and first.stats.packets == 30
    first_analysis = session.analysis
    messages = first_analysis.message_count
    assert messages > 0

    for f in frames:
        source.push(f)
    source.stopped = False
    source._ended = False
    session.start()
    threading.Timer(0.3, session.stop).start()
    second = session.join(DEADLINE_S)
    assert second is not None and second.stats.packets == 30
    assert session.analysis is not first_analysis
    assert session.analysis.message_count == messages  # numbered afresh, same content


def test_a_source_failing_mid_capture_ends_with_its_error_after_a_full_flush() -> None:
    frames = _frames(CAPTURES / "loopback-real.pcapng")[:60]
    source = ScriptedSource(frames, batch=10, fail_after=20)
    session = LiveSession("test0", "tcp", source)
    outputs: list[object] = []
    session.on_output = outputs.append
    ended = session.run()
    assert ended.reason == "error"
    assert isinstance(ended.error, LiveCaptureError)
    assert str(ended.error) == "cannot capture on 'test0': capture stopped: Network is down"
    assert ended.stats.packets == 20
    assert outputs[-1] is ended and isinstance(outputs[-2], CaptureStats)
    assert source.closed


def test_a_source_that_cannot_open_raises_and_leaves_nothing_running(tmp_path: Path) -> None:
    refusal = LiveCaptureError("test0", "permission denied", kind="permission")
    source = ScriptedSource(refuse=refusal)
    session = LiveSession("test0", "tcp", source, write_to=str(tmp_path / "x.pcapng"))
    with pytest.raises(LiveCaptureError) as raised:
        session.start()
    assert raised.value is refusal
    assert not session.running and source.closed


def test_a_full_disk_ends_the_capture_with_the_write_error() -> None:
    frames = _frames(CAPTURES / "loopback-real.pcapng")[:200]
    source = ScriptedSource(frames, batch=50)
    session = LiveSession("test0", "tcp", source, write_to="/dev/full", tick_s=0.05)
    session.start()
    ended = session.join(DEADLINE_S)
    assert ended is not None and ended.reason == "error"
    assert "cannot write '/dev/full'" in str(ended.error)
    assert "No space left on device" in str(ended.error)


def test_findings_follow_the_message_that_produced_them() -> None:
    frames = _frames(CAPTURES / "violations" / "cvip-violations-fields.pcapng")
    source = ScriptedSource(frames, end_when_empty=True)
    order: list[object] = []
    session = LiveSession("test0", "tcp", source, on_output=order.append, tick_s=60.0,
                          clock=lambda: source.last_ts)
    session.run()
    shown: set[int] = set()
    checked = 0
    for item in order:
        if isinstance(item, Message):
            shown.add(item.number)
        elif isinstance(item, Finding) and item.message_number is not None:
            assert item.message_number in shown
            checked += 1
    assert checked >= 5


def test_abort_closes_the_source_at_once() -> None:
    source = ScriptedSource()
    session = LiveSession("test0", "tcp", source, tick_s=0.05)
    session.start()
    session.abort()
    ended = session.join(DEADLINE_S)
    assert ended is not None and source.closed
    assert ended.reason == "stopped" and ended.error is None
