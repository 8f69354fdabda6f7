"""scripts/record_loopback.py: truth from the peers' step results, and (live, as root) a
real recording of the peers over 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from cvipsniff.sim.synth.truth import TRUTH_FORMAT

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "record_loopback.py"


@pytest.fixture(scope="module")
def recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("record_loopback", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RESULTS = {
    "cvip": [{"name": "discovery", "steps": [
        {"name": "ping over UDP on the CVIP port", "ok": True, "detail": "1 unit(s) answered",
         "method": None, "txn": None, "latency_ms": None},
        {"name": "getProperties", "ok": True, "detail": "", "method": "cviNetwork.getProperties",
         "txn": 3, "latency_ms": 0.4},
        {"name": "lists networkNtpServer read/write", "ok": True, "detail": "",
         "method": None, "txn": None, "latency_ms": None},
    ]}],
    "imageserver": {"live": [
        {"name": "live", "ok": True, "detail": "", "method": "live", "txn": 2,
         "latency_ms": 12.5},
        {"name": "live (adaptive resolution)", "ok": True, "detail": "as specified",
         "method": "live", "txn": 3, "latency_ms": None},
        {"name": "stop", "ok": False, "detail": "no answer", "method": "stop", "txn": 4,
         "latency_ms": None},
    ]},
}


def test_truth_from_step_results(recorder: ModuleType) -> None:
    truth = recorder.build_truth(RESULTS, "loopback-real.pcapng", 42)
    assert truth["format"] == TRUTH_FORMAT and truth["recorded"]
    assert truth["frame_count"] == 42 and truth["flows"] == []
    kinds = [(m["protocol"], m["kind"], m["method"]) for m in truth["messages"]]
    assert kinds == [("cvip-ping", "ping-request", None),
                     ("cvip", "request", "cviNetwork.getProperties"),
                     ("imageserver", "request", "live"), ("imageserver", "request", "live"),
                     ("imageserver", "request", "stop")]
    assert all("frames" not in m for m in truth["messages"])
    answered = [(t["answered"], t["as_specified"]) for t in truth["transactions"]]
    assert answered == [(True, True), (True, True), (True, True), (False, True),
                        (False, False)]
    assert [c["step"] for c in truth["checks"]] == ["lists networkNtpServer read/write"]


def _ports_free(module: ModuleType) -> bool:
    try:
        module.check_ports_free()
    except module.RecordingError:
        return False
    return True


@pytest.mark.live
@pytest.mark.slow
def test_a_real_recording_over_loopback(recorder: ModuleType, tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("tcpdump") is None:
        pytest.skip("needs root and tcpdump to capture the loopback interface")
    if not _ports_free(recorder):
        pytest.skip("the protocols' standard ports on 127.0.0.1 are in use")
    out = tmp_path / "loopback.pcapng"
    truth = recorder.record(out, "lo", 60.0)
    assert out.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"  # pcapng section header
    assert truth["frame_count"] > 50
    protocols = {m["protocol"] for m in truth["messages"]}
    assert protocols == {"cvip", "cvip-ping", "imageserver"}
    assert all(t["as_specified"] for t in truth["transactions"])
    assert (tmp_path / "loopback.truth.json").is_file()
