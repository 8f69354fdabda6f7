"""Per-message CPU cost of the ImageServer dissector and framer (µs, process time).

    .venv/bin/python bench/imageserver_micro.py                        # this tree's code
    PYTHONPATH=OTHER_TREE .venv/bin/python bench/imageserver_micro.py  # another checkout's

The messages are those of the bench captures (``bench/bench.py --size-mb 50
--generate-only`` makes them): the ptzrectangle request closest to 246 bytes and an
ImageResponse carrying a 75 KB JPEG, dissected alone, then every ImageServer message of the
sessions mix; each in lean mode (``tree=False``, what batch reports and the TUI's load use)
and with the field tree (``read``, ``-V``, the detail pane). The framer is fed each mix's
ImageServer stream in 1448-byte segments. Each figure is the minimum over rounds; run the
trees to compare one after the other, several times, on a busy machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture
from dissectors.imageserver import dissect
from dissectors.imageserver.framer import ImageServerFramer
from dissectors.imageserver.options import DissectOptions

OUT = Path(__file__).resolve().parent / "out"
SEGMENT = 1448


def imageserver_messages(path: Path) -> list[bytes]:
    """The bytes of every ImageServer message of a capture, in capture order."""
    out: list[bytes] = []
    for item in iter_capture(str(path), PipelineConfig(keep_data=True, tree=False)):
        if (isinstance(item, Message) and item.record.protocol == "imageserver"
                and item.data is not None):
            out.append(bytes(item.data))
    return out


def per_item(work: Callable[[], int], rounds: int) -> float:
    """Minimum over rounds of CPU seconds per item (``work`` returns the item count)."""
    best = float("inf")
    for _ in range(rounds):
        began = time.process_time()
        count = work()
        best = min(best, (time.process_time() - began) / max(count, 1))
    return best * 1e6


def dissecting(messages: list[bytes], options: DissectOptions) -> Callable[[], int]:
    def work() -> int:
        for data in messages:
            dissect(data, "tcp", options)
        return len(messages)
    return work


def framing(messages: list[bytes]) -> Callable[[], int]:
    stream = b"".join(messages)
    segments = [stream[i: i + SEGMENT] for i in range(0, len(stream), SEGMENT)]

    def work() -> int:
        framer = ImageServerFramer()
        count = 0
        for segment in segments:
            count += len(framer.feed(segment))
        return count + len(framer.close())
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sessions = imageserver_messages(OUT / f"sessions-{args.size_mb}mb.pcap")
    images = imageserver_messages(OUT / f"bench-{args.size_mb}mb.pcap")
    request = min((m for m in sessions if b"<methodcall>" in m),
                  key=lambda m: abs(len(m) - 246))
    jpeg = next(m for m in images if m.startswith(b"ImageResponse") and len(m) > 70_000)
    lean, full = DissectOptions(tree=False), DissectOptions()
    rows = [
        (f"request {len(request)} B", [request] * 2000),
        (f"ImageResponse {len(jpeg)} B", [jpeg] * 300),
        (f"sessions mix, {len(sessions)} messages", sessions),
    ]
    print(f"{'µs per message (CPU)':42s} {'lean':>8s} {'tree':>8s}")
    for label, messages in rows:
        print(f"{label:42s} {per_item(dissecting(messages, lean), args.rounds):8.1f} "
              f"{per_item(dissecting(messages, full), args.rounds):8.1f}")
    for label, messages in (("framer, images mix", images), ("framer, sessions mix", sessions)):
        print(f"{label:42s} {per_item(framing(messages), args.rounds):8.1f}")


if __name__ == "__main__":
    main()
