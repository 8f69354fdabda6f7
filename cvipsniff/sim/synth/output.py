"""Writing a synthesized capture and its truth file.

The file format follows the name: ``.pcap`` or ``.pcapng``, optionally ``.gz``. Every
byte is reproducible: the pcapng section header carries only the fixed application name
(no host, OS or version), timestamps come from the synthesizer's fixed epoch, and gzip
is written without a file name and with mtime 0.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from cvipsniff.capture.writer import DEFAULT_SNAPLEN, PcapngWriter, PcapWriter
from cvipsniff.sim.synth.impairments import Impairments
from cvipsniff.sim.synth.packetizer import BASE_EPOCH_NS, Synthesizer
from cvipsniff.sim.transcript import Scenario


def capture_format(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """(``"pcap"`` or ``"pcapng"``, gzip?) from a file name; ValueError otherwise."""
    name = os.fspath(path).lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[:-3]
    for suffix in ("pcapng", "pcap"):
        if name.endswith("." + suffix):
            return suffix, compressed
    raise ValueError(f"{os.fspath(path)}: name must end in .pcap or .pcapng (optionally .gz)")


def truth_path_for(path: str | os.PathLike[str]) -> Path:
    """``x.pcapng`` / ``x.pcap.gz`` → ``x.truth.json`` next to it."""
    p = Path(path)
    name = p.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem = name.rsplit(".", 1)[0]
    return p.with_name(stem + ".truth.json")


def dump_truth(truth: Mapping[str, Any]) -> str:
    """The truth document as written: one top-level key per line and one list item
    (message, flow, transaction, finding) per line — compact, yet a diff of two
    generations shows which messages changed. Stable key order, trailing newline."""

    def compact(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    lines = ["{"]
    keys = list(truth)
    for i, key in enumerate(keys):
        value = truth[key]
        comma = "," if i < len(keys) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f" {compact(key)}: [")
            lines.extend(f"  {compact(item)}{',' if j < len(value) - 1 else ''}"
                         for j, item in enumerate(value))
            lines.append(f" ]{comma}")
        else:
            lines.append(f" {compact(key)}: {compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_capture(scenario: Scenario, path: str | os.PathLike[str], *,
                  impairments: Impairments | str | None = None,
                  per_conversation: Mapping[int, Impairments | str] | None = None,
                  seed: int = 0, start_ns: int = BASE_EPOCH_NS,
                  truth: bool = True) -> dict[str, Any]:
    """Synthesize ``scenario`` into ``path`` (and ``NAME.truth.json`` beside it unless
    ``truth`` is False), streaming frame by frame. Returns the truth document."""
    fmt, compressed = capture_format(path)
    synth = Synthesizer(scenario, impairments, per_conversation, seed, start_ns)
    with open(path, "wb") as raw:
        if compressed:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                _write_frames(synth, gz, fmt)
        else:
            _write_frames(synth, raw, fmt)
    document = synth.truth()
    document["capture"] = Path(path).name
    if truth:
        truth_path_for(path).write_text(dump_truth(document), encoding="utf-8")
    return document


def _write_frames(synth: Synthesizer, fileobj: BinaryIO, fmt: str) -> None:
    snaplen = synth.snaplen or DEFAULT_SNAPLEN
    writer: PcapWriter | PcapngWriter
    if fmt == "pcap":
        writer = PcapWriter(fileobj, synth.linktype, snaplen=snaplen, nanosecond=True)
    else:
        writer = PcapngWriter(fileobj, snaplen=snaplen)
    with writer:
        for frame in synth.frames():
            writer.write(frame)
