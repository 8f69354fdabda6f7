"""Benchmark: cvipsniff against tshark on a large generated capture.

    .venv/bin/python bench/bench.py                 # generate (once) and measure
    .venv/bin/python bench/bench.py --size-mb 400   # a bigger capture
    .venv/bin/python bench/bench.py --regenerate --repeat 3

Generates ``bench/out/bench-<size>mb.pcap`` (deterministic): hundreds of CVIP flows with
XML-RPC request/ack/response traffic and dozens of ImageServer flows with JPEG-sized
ImageResponses, segmented at 1448 bytes by the project's synthesizer. Then measures, each
as a separate process (wall time, peak RSS from the kernel's rusage):

* ``cvipsniff flows -r FILE``            beside ``tshark -r FILE -q -z conv,tcp``
* ``cvipsniff report --format json FILE`` (full dissection, pairing and rules)

and prints packets/s, MB/s, peak RSS and the ratio to tshark. Timings are never asserted
by the test suite; record them in the issue notes with the command that produced them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchanges import cvip_exchanges, with_txn  # noqa: E402  (bench/, the script's folder)

from cvipsniff.capture import PcapWriter  # noqa: E402
from cvipsniff.sim.imageserver import encode as imgs  # noqa: E402
from cvipsniff.sim.imageserver.jpeg import noise_jpeg_of_size  # noqa: E402
from cvipsniff.sim.synth import Synthesizer  # noqa: E402
from cvipsniff.sim.transcript import Conversation, MessageTruth, Scenario, WireMessage  # noqa: E402

OUT = ROOT / "bench" / "out"

def _cvip_conversation(index: int, rng: random.Random, messages: int,
                       exchanges: list[list[tuple[int, bytes, MessageTruth]]]) -> Conversation:
    conv = Conversation("tcp", (f"10.0.{index // 250}.{index % 250 + 1}", 40000 + index),
                        ("10.1.0.1", 7110))
    t = rng.random() * 100.0
    txn = 1
    while len(conv.messages) < messages:
        for direction, data, truth in exchanges[rng.randrange(len(exchanges))]:
            conv.messages.append(WireMessage(direction, with_txn(data, txn), t, MessageTruth(
                truth.protocol, truth.kind, txn, truth.method, truth.is_response)))
            t += 0.2 + rng.random() * (1 if direction else 5)
        txn = txn % 0x7FFF + 1
    return conv


def _imageserver_conversation(index: int, rng: random.Random, requests: int,
                              jpeg: bytes) -> Conversation:
    conv = Conversation("tcp", (f"10.2.0.{index + 1}", 50000 + index), ("10.3.0.1", 7563))
    t = rng.random() * 100.0
    now_ms = 1_700_000_000_000
    for rid in range(1, requests + 1):
        request = imgs.goto_request(rid, now_ms + rid * 1000)
        conv.messages.append(WireMessage(0, request, t, MessageTruth(
            "imageserver", "request", rid, "goto")))
        t += 2.0 + rng.random() * 3
        headers = imgs.ImageHeaders(rid, now_ms + rid * 1000 - 40, now_ms + rid * 1000,
                                    now_ms + rid * 1000 + 40)
        conv.messages.append(WireMessage(1, imgs.image_response(headers, jpeg), t,
                                         MessageTruth("imageserver", "imageresponse", rid,
                                                      "goto", True)))
        t += 5.0 + rng.random() * 10
    return conv


def generate(path: Path, size_mb: int, seed: int = 7) -> None:
    """Write the benchmark capture. At 200 MB: ~62k CVIP messages in 300 flows (about a
    quarter of the bytes) and ~4k ImageServer messages (goto + 75 KB JPEG ImageResponse)
    in 30 flows, the proportions the issues' budgets were measured on."""
    rng = random.Random(seed)
    scale = size_mb / 200
    jpeg = noise_jpeg_of_size(75_000, seed=seed)
    cvip_flows, is_flows = 300, 30
    cvip_messages = max(2, int(62_000 * scale / cvip_flows) // 2 * 2)
    image_requests = max(1, int(2_000 * scale / is_flows))
    exchanges = cvip_exchanges(seed)
    scenario = Scenario("bench", "benchmark traffic")
    for i in range(cvip_flows):
        scenario.conversations.append(_cvip_conversation(i, rng, cvip_messages, exchanges))
    for i in range(is_flows):
        scenario.conversations.append(_imageserver_conversation(i, rng, image_requests, jpeg))
    synth = Synthesizer(scenario, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        writer = PcapWriter(fh, synth.linktype, snaplen=synth.snaplen or 262144)
        for frame in synth.frames():
            writer.write(frame)
        writer.close()
    tmp.replace(path)


_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "wall = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(code, wall, rss)\n"
)


def _rss_of(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of ``argv``, measured by a small
    wrapper process so that the figure is the tool's own (a fork of this process would
    carry the generator's memory)."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True,
                         text=True, check=True).stdout.split()
    code, wall, rss_kb = int(out[0]), float(out[1]), int(out[2])
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return wall, rss_kb / 1024.0


def count_packets(path: Path) -> int:
    from cvipsniff.capture import open_capture

    with open_capture(str(path)) as reader:
        return sum(1 for _ in reader)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=210)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool (best is kept)")
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()

    path = OUT / f"bench-{args.size_mb}mb.pcap"
    if args.regenerate or not path.exists():
        print(f"generating {path} ...", flush=True)
        start = time.perf_counter()
        generate(path, args.size_mb)
        print(f"  generated in {time.perf_counter() - start:.1f} s", flush=True)
    size = path.stat().st_size
    packets = count_packets(path)
    print(f"capture: {path} — {size / 1e6:.1f} MB, {packets} packets")

    cvipsniff = [sys.executable, "-m", "cvipsniff"]
    runs: dict[str, tuple[float, float]] = {}

    def best(name: str, argv: list[str]) -> None:
        results = [_rss_of(argv) for _ in range(args.repeat)]
        runs[name] = (min(r[0] for r in results), max(r[1] for r in results))
        wall, rss = runs[name]
        print(f"  {name:32} {wall:8.2f} s  {packets / wall:12,.0f} pkt/s  "
              f"{size / 1e6 / wall:8.1f} MB/s  peak RSS {rss:7.1f} MB", flush=True)

    os.environ["PYTHONPATH"] = str(ROOT)
    best("cvipsniff flows", [*cvipsniff, "flows", "-r", str(path)])
    tshark = shutil.which("tshark")
    if tshark:
        best("tshark -q -z conv,tcp", [tshark, "-r", str(path), "-q", "-z", "conv,tcp"])
    if not args.skip_report:
        best("cvipsniff report --format json",
             [*cvipsniff, "report", "--format", "json", "--fail-on", "never", str(path)])
    if tshark:
        t_wall = runs["tshark -q -z conv,tcp"][0]
        print(f"ratio flows/tshark:  {runs['cvipsniff flows'][0] / t_wall:.2f} "
              "(target ≤ 0.5)")
        if "cvipsniff report --format json" in runs:
            print(f"ratio report/tshark: {runs['cvipsniff report --format json'][0] / t_wall:.2f}"
                  " (target ≤ 1.0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
