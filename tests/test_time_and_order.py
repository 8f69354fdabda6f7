"""Time and order like Wireshark (issue 12 item 8).

``frame.time_relative`` and the relative time column count from the first frame of the
capture, as tshark's do, not from the first message: cross-checked against tshark on a
capture whose first frames carry no message. Messages are listed in one documented
order (the capture's: by the frame whose arrival completed them), the same in ``read``
(text and JSON) and in the TUI's loader.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cvipsniff.pipeline import PipelineConfig
from cvipsniff.sim.imageserver import encode as imgs
from cvipsniff.tui.loader import Batch, load
from tests.cli_helpers import ROOT, run_cli
from tests.test_capture_artefacts import conversation, cvip_ack, cvip_call, image, write


def late_start_capture(path: Path) -> None:
    """Handshakes first (no message in frames 1-3), then request/answer exchanges."""
    frames = conversation(40001, [(0, cvip_call(1, "cviEntity.update", 3)), (1, cvip_ack(1))])
    frames += conversation(40002, [(0, imgs.goto_request(2, 1_700_000_000_000)),
                                   (1, image(2, 900))])
    write(path, frames)


def test_relative_times_count_from_the_first_frame_as_tshark_does(tmp_path, tshark) -> None:
    path = tmp_path / "late-start.pcap"
    late_start_capture(path)
    ours = run_cli("read", "-r", str(path), "-T", "fields", "-e", "frame.number",
                   "-e", "frame.time_relative")
    assert ours.code == 0, ours.stderr
    rows = [line.split("\t") for line in ours.stdout.splitlines()]
    assert len(rows) == 4 and int(rows[0][0]) > 3  # the first message is not frame 1
    theirs = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-e", "frame.number",
                             "-e", "frame.time_relative"], capture_output=True, text=True,
                            check=True, timeout=120).stdout
    by_frame = dict(line.split("\t") for line in theirs.splitlines())
    for frame, relative in rows:
        assert float(relative) == float(by_frame[frame]), (frame, relative, by_frame[frame])
    assert float(rows[0][1]) > 0
    # The text column and JSON's time_relative say the same.
    text = run_cli("read", "-r", str(path)).stdout.splitlines()
    assert [float(line.split()[1]) for line in text] == [
        round(float(r[1]), 6) for r in rows]
    records = [json.loads(line) for line in
               run_cli("read", "-r", str(path), "-T", "jsonl").stdout.splitlines()]
    assert [r["time_relative"] for r in records if r.get("type") == "message"] == [
        float(r[1]) for r in rows]


def test_the_tui_counts_from_the_first_frame_too(tmp_path) -> None:
    path = tmp_path / "late-start.pcap"
    late_start_capture(path)
    batches: list[Batch] = []
    load(str(path), PipelineConfig(), batches.append)
    starts = [b.start_ns for b in batches if b.start_ns is not None]
    assert starts == [1_700_000_000_000_000_000]  # frame 1's time, from the first batch on
    from cvipsniff.tui.session import CaptureSession

    session = CaptureSession(str(path))
    for batch in batches:
        session.ingest(batch)
    assert session.first_ts_ns == 1_700_000_000_000_000_000


def test_read_json_and_the_tui_list_messages_in_one_order() -> None:
    capture = ROOT / "captures" / "violations" / "imageserver-violation-content-length.pcapng"
    records = [json.loads(line) for line in
               run_cli("read", "-r", str(capture), "-T", "jsonl").stdout.splitlines()]
    read_order = [r["message"] for r in records if r.get("type") == "message"]
    text_frames = [int(line.split()[0]) for line in
                   run_cli("read", "-r", str(capture)).stdout.splitlines()]
    batches: list[Batch] = []
    load(str(capture), PipelineConfig(), batches.append)
    tui_order = [msg.number for b in batches for msg, _ in b.messages]
    assert read_order == tui_order == sorted(read_order)
    assert text_frames == [r["frame"] for r in records if r.get("type") == "message"]
    # The order is the capture's: a message whose end only later bytes showed (here a
    # body that ran past its Content-length) comes when they came, after a message of
    # the other direction with a higher frame number.
    assert text_frames != sorted(text_frames)
