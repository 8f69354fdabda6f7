#!/usr/bin/env python3
"""Record ``captures/loopback-real.pcapng``: the project's asyncio peers talking over
127.0.0.1 while tcpdump captures the loopback interface.

Unlike every other bundled capture this one is *real*: the kernel's TCP (its segment
sizes, ACK timing, window scaling and timestamps options), real UDP pings, real time.
It is recorded once and committed; it is not reproducible byte for byte, and its
manifest entry says so (``"reproducible": false``, group ``recorded``). Regenerating the
corpus keeps it as it is.

Its truth file comes from the peers' own step results: for every scripted step the
request's protocol, method and transaction number, whether the answer was the one the
specification describes, and the latency the client measured. Frame numbers are not
known (the kernel chose the segmentation), so messages carry none.

Bounded: fixed scripts, each peer with its own timeouts, and an overall time limit;
traffic only on 127.0.0.1. Needs root (or CAP_NET_RAW) for tcpdump.

    scripts/record_loopback.py [--out captures/loopback-real.pcapng] [--time-limit 90]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cvipsniff.capture import PcapngWriter, open_capture
from cvipsniff.paths import CAPTURES_DIR
from cvipsniff.sim.cvip.client import ClientConfig, run_client
from cvipsniff.sim.cvip.server import CvipServer
from cvipsniff.sim.cvip.server import ServerConfig as CvipServerConfig
from cvipsniff.sim.imageserver.client import run_script as run_imageserver_script
from cvipsniff.sim.imageserver.scripts import ClientOptions
from cvipsniff.sim.imageserver.server import ReferenceServer
from cvipsniff.sim.synth.corpus import MANIFEST, expected_summary, sha256, write_manifest
from cvipsniff.sim.synth.output import dump_truth, truth_path_for
from cvipsniff.sim.synth.truth import TRUTH_FORMAT

HOST = "127.0.0.1"
CVIP_PORT, CVIP_PING_PORT, IMAGESERVER_PORT = 7110, 9990, 7563
CVIP_SCRIPTS = ("discovery", "configure", "events", "device-services")
IMAGESERVER_SCRIPTS = ("browse", "live", "multipart", "control")
CAPTURE_FILTER = (f"host {HOST} and (port {CVIP_PORT} or port {CVIP_PING_PORT} "
                  f"or port {IMAGESERVER_PORT})")
DEFAULT_OUT = CAPTURES_DIR / "loopback-real.pcapng"
DESCRIPTION = ("recorded on the loopback interface: the CVIP reference device and the "
               "ImageServer reference recording server on 127.0.0.1, driven by the "
               "reference clients (kernel TCP, real UDP pings; not synthesized)")


class RecordingError(RuntimeError):
    """Something that stops the recording; reported as one line."""


# ---- tcpdump --------------------------------------------------------------------------


def start_tcpdump(interface: str, path: Path, timeout_s: float = 10.0) -> subprocess.Popen:
    """tcpdump writing ``path`` (packet-buffered), once it says it is listening."""
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        raise RecordingError("tcpdump is not installed (scripts/bootstrap.sh installs it)")
    proc = subprocess.Popen(
        [tcpdump, "-i", interface, "-n", "-U", "-s", "0", "-Z", "root", "-w", str(path),
         CAPTURE_FILTER],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    listening = threading.Event()
    lines: list[str] = []

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.strip())
            if "listening on" in line:
                listening.set()

    threading.Thread(target=watch, daemon=True).start()
    if not listening.wait(timeout_s):
        stop_tcpdump(proc)
        raise RecordingError(f"tcpdump did not start: {' '.join(lines) or 'no output'}")
    return proc


def stop_tcpdump(proc: subprocess.Popen) -> None:
    """Ask tcpdump to flush and exit (SIGINT), and make sure it did."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def check_ports_free() -> None:
    for kind, port in ((socket.SOCK_STREAM, CVIP_PORT), (socket.SOCK_STREAM, CVIP_PING_PORT),
                       (socket.SOCK_STREAM, IMAGESERVER_PORT), (socket.SOCK_DGRAM, CVIP_PORT),
                       (socket.SOCK_DGRAM, CVIP_PING_PORT)):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((HOST, port))
            except OSError as exc:
                raise RecordingError(f"{HOST}:{port} is in use ({exc.strerror}); the "
                                     "recording needs the protocols' standard ports") from None


# ---- the peers ----------------------------------------------------------------------


async def run_peers() -> dict[str, Any]:
    """Both servers on their standard ports, each client's scripts one after another;
    returns the clients' step results as plain data."""
    cvip = CvipServer(CvipServerConfig(host=HOST, port=CVIP_PORT, ping_port=CVIP_PING_PORT,
                                       role="device", event_interval=0.5))
    imageserver = ReferenceServer()
    await cvip.start()
    try:
        await imageserver.start(HOST, IMAGESERVER_PORT)
        config = ClientConfig(host=HOST, port=CVIP_PORT, ping_port=CVIP_PING_PORT,
                              role="device", timeout=5.0, event_timeout=5.0)
        cvip_results = []
        for name in CVIP_SCRIPTS:
            cvip_results.extend(await run_client(config, name, duration=30.0))
        image_results = {}
        options = ClientOptions()
        for name in IMAGESERVER_SCRIPTS:
            image_results[name] = await run_imageserver_script(HOST, IMAGESERVER_PORT, name,
                                                               options, limit_s=30.0)
        await asyncio.sleep(0.3)  # let the last ACKs and FINs cross
    finally:
        await imageserver.close()
        await cvip.close()
    return {
        "cvip": [r.to_jsonable() for r in cvip_results],
        "imageserver": {name: [_image_step(s) for s in steps]
                        for name, steps in image_results.items()},
    }


def _image_step(step: Any) -> dict[str, Any]:
    return {"name": step.name, "ok": step.ok, "detail": step.detail, "method": step.method,
            "txn": step.requestid, "latency_ms": step.latency_ms}


# ---- truth and manifest --------------------------------------------------------------


def build_truth(results: dict[str, Any], capture_name: str, frame_count: int
                ) -> dict[str, Any]:
    """Messages (the requests the clients sent) and transactions from the step results.

    A step that names a method sent that request (``answered``: the client measured a
    latency; ``as_specified``: the answer was the spec's — a ``live`` with only adaptive
    options is as specified *without* an answer). A CVIP discovery step sent a ping
    (``answered`` when a unit replied). Other steps check what earlier answers said (a
    property's access, notifications received) and are listed under ``checks``. No
    frames: the kernel chose the segmentation."""
    messages: list[dict[str, Any]] = []
    transactions: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    steps = [("cvip", r["name"], s) for r in results["cvip"] for s in r["steps"]]
    steps += [("imageserver", name, s) for name, ss in results["imageserver"].items()
              for s in ss]
    for protocol, script, step in steps:
        method = step.get("method")
        if method:
            kind, answered = "request", step.get("latency_ms") is not None
        elif protocol == "cvip" and "ping" in step["name"].lower():
            protocol, kind, answered = "cvip-ping", "ping-request", step["ok"]
        else:
            checks.append({"protocol": protocol, "script": script, "step": step["name"],
                           "ok": step["ok"], "detail": step.get("detail", "")})
            continue
        index = len(messages)
        messages.append({"index": index, "protocol": protocol, "kind": kind,
                         "txn": step.get("txn"), "method": method, "is_response": False,
                         "violations": [], "script": script, "step": step["name"],
                         "lost": False})
        transactions.append({"protocol": protocol, "txn": step.get("txn"), "method": method,
                             "script": script, "step": step["name"], "request": index,
                             "answered": answered, "as_specified": step["ok"],
                             "latency_ms": step.get("latency_ms"),
                             "detail": step.get("detail", "")})
    return {
        "format": TRUTH_FORMAT,
        "capture": capture_name,
        "scenario": {"name": "loopback-real", "description": DESCRIPTION,
                     "notes": {"cvip_scripts": list(CVIP_SCRIPTS),
                               "imageserver_scripts": list(IMAGESERVER_SCRIPTS),
                               "client_results": results}},
        "recorded": True,
        "frame_count": frame_count,
        "impairments": {"capture": [], "scenario": [], "conversations": {}},
        "flows": [],
        "messages": messages,
        "transactions": transactions,
        "checks": checks,
        "violations": [],
        "transport_findings": [],
        "impairment_events": [],
    }


def update_manifest(corpus: Path, capture: Path, truth_file: Path,
                    truth: dict[str, Any]) -> None:
    """Add or replace the recording's entry in the corpus manifest."""
    manifest_path = corpus / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) \
        if manifest_path.is_file() else {"seed": None, "captures": []}
    entry = {
        "file": capture.relative_to(corpus).as_posix(),
        "truth": truth_file.relative_to(corpus).as_posix(),
        "group": "recorded",
        "description": DESCRIPTION,
        "scenario": "loopback-real",
        "protocols": sorted({m["protocol"] for m in truth["messages"]}),
        "impairments": [],
        "reproducible": False,
        "frames": truth["frame_count"],
        "expected": expected_summary(truth),
        "size": capture.stat().st_size,
        "sha256": sha256(capture),
        "truth_sha256": sha256(truth_file),
    }
    entries = [e for e in manifest["captures"] if e["file"] != entry["file"]]
    write_manifest(corpus, manifest.get("seed"), [*entries, entry])


# ---- main -------------------------------------------------------------------------------


def record(out: Path, interface: str, time_limit_s: float) -> dict[str, Any]:
    check_ports_free()
    with tempfile.TemporaryDirectory(prefix="cvipsniff-loopback-") as tmp:
        raw = Path(tmp) / "lo.pcap"
        proc = start_tcpdump(interface, raw)
        try:
            results = asyncio.run(asyncio.wait_for(run_peers(), time_limit_s))
        finally:
            stop_tcpdump(proc)
        frames = 0
        with open_capture(str(raw)) as reader, PcapngWriter(out) as writer:
            for frame in reader:
                writer.write(frame)
                frames += 1
    if frames == 0:
        raise RecordingError(f"tcpdump captured nothing on {interface}")
    truth = build_truth(results, out.name, frames)
    truth_file = truth_path_for(out)
    truth_file.write_text(dump_truth(truth), encoding="utf-8")
    with contextlib.suppress(ValueError):  # only when writing into the corpus
        update_manifest(CAPTURES_DIR, out.resolve(), truth_file.resolve(), truth)
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"capture to write (default {DEFAULT_OUT})")
    parser.add_argument("-i", "--interface", default="lo", help="loopback interface")
    parser.add_argument("--time-limit", type=float, default=90.0,
                        help="seconds the peers may run in all (default 90)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("record_loopback: needs root to capture (tcpdump)", file=sys.stderr)
        return 2
    try:
        truth = record(args.out, args.interface, args.time_limit)
    except (RecordingError, OSError, TimeoutError) as exc:
        print(f"record_loopback: {exc}", file=sys.stderr)
        return 2
    answered = sum(1 for t in truth["transactions"] if t["answered"])
    print(f"record_loopback: {args.out}: {truth['frame_count']} frames, "
          f"{len(truth['transactions'])} steps ({answered} answered)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
