"""``cvipsniff follow -r FILE ID``: the reassembled bytes of one flow, like Wireshark's
Follow TCP Stream. Client → server bytes are flush left, server → client indented; a gap
in the capture is shown as a marker, never as invented bytes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import BinaryIO

from cvipsniff.commands.common import (
    add_config_option,
    check_readable,
    parse_decode_as,
    settings,
)
from cvipsniff.errors import UsageError
from cvipsniff.flows import FlowTable
from cvipsniff.model import Datagram, StreamData, StreamGap
from cvipsniff.pipeline import default_server_ports, iter_flow_events
from cvipsniff.render import endpoint_text

_DIRECTIONS = {"both": (0, 1), "client": (0,), "server": (1,)}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("follow", help="print the reassembled bytes of one flow",
                       description=__doc__)
    p.add_argument("-r", "--read-file", dest="file", metavar="FILE", required=True,
                   help="capture to read (pcap/pcapng, optionally gzip)")
    p.add_argument("flow", type=int, metavar="ID", help="flow id, as listed by 'cvipsniff flows'")
    p.add_argument("--format", default="ascii", choices=("ascii", "hex", "raw"),
                   help="ascii (default), hex dump, or raw bytes to stdout")
    p.add_argument("--direction", default="both", choices=sorted(_DIRECTIONS),
                   help="client (client → server), server, or both (default)")
    add_config_option(p)
    p.set_defaults(run=run)


Chunk = tuple[int, bytes | int]  # (direction, bytes) or (direction, gap length)


def flow_chunks(path: str, flow_id: int, directions: tuple[int, ...],
                server_ports: frozenset[int] | None = None) -> Iterator[Chunk]:
    """The flow's payload in capture order, consecutive bytes of one direction merged."""
    current_dir = -1
    buffer = bytearray()
    ports = default_server_ports() if server_ports is None else server_ports
    for event in iter_flow_events(path, flow_table=FlowTable(server_ports=ports)):
        if type(event) not in (StreamData, StreamGap, Datagram):
            continue
        if event.flow.id != flow_id or event.direction not in directions:
            continue
        if event.direction != current_dir and buffer:
            yield current_dir, bytes(buffer)
            buffer.clear()
        current_dir = event.direction
        if type(event) is StreamGap:
            if buffer:
                yield current_dir, bytes(buffer)
                buffer.clear()
            yield current_dir, event.length
        elif type(event) is Datagram:
            yield current_dir, event.data
        else:
            buffer += event.data
    if buffer:
        yield current_dir, bytes(buffer)


def run(args: argparse.Namespace) -> int:
    check_readable(args.file)
    if args.flow < 0:
        raise UsageError(f"flow id must be 0 or more, not {args.flow}")
    # The settings' decode-as ports are server ports too (they decide who is the client).
    ports = default_server_ports() | {port for _, port in
                                      parse_decode_as(settings(args).decode_as)}
    table = FlowTable(server_ports=ports)
    # One pass to learn the flow's endpoints (and that it exists) is cheap next to
    # formatting; it keeps memory flat instead of buffering the whole stream.
    for _ in iter_flow_events(args.file, flow_table=table):
        pass
    flow = next((f for f in table.flows if f.id == args.flow), None)
    if flow is None:
        raise UsageError(f"no flow {args.flow} in {args.file!r} (see 'cvipsniff flows -r FILE')")
    chunks = flow_chunks(args.file, args.flow, _DIRECTIONS[args.direction], ports)
    if args.format == "raw":
        return _write_raw(chunks, sys.stdout.buffer)
    out = sys.stdout
    bar = "=" * 66
    out.write(f"{bar}\nFollow: {flow.transport},{args.format}\nFlow: {flow.id}\n"
              f"Node 0: {endpoint_text(flow.client)}\nNode 1: {endpoint_text(flow.server)}\n")
    offsets = [0, 0]
    for direction, chunk in chunks:
        indent = "" if direction == 0 else "\t"
        if isinstance(chunk, int):
            out.write(f"{indent}[{chunk} bytes missing from the capture]\n")
            offsets[direction] += chunk
            continue
        if args.format == "ascii":
            text = "".join(c if c in "\r\n\t" or 32 <= ord(c) < 127 else "."
                           for c in chunk.decode("latin-1"))
            for line in text.splitlines():
                out.write(f"{indent}{line}\n")
        else:
            for line in hexdump(chunk, offsets[direction]):
                out.write(f"{'    ' if direction else ''}{line}\n")
        offsets[direction] += len(chunk)
    out.write(f"{bar}\n")
    return 0


def _write_raw(chunks: Iterator[Chunk], out: BinaryIO) -> int:
    gaps = 0
    for _, chunk in chunks:
        if isinstance(chunk, int):
            gaps += 1
        else:
            out.write(chunk)
    out.flush()
    if gaps:
        print(f"cvipsniff: warning: {gaps} gap(s) in the stream were left out of the raw output",
              file=sys.stderr)
    return 0


def hexdump(data: bytes, start: int = 0) -> Iterator[str]:
    """Wireshark-style hex dump lines: offset, 16 bytes in two groups, ASCII."""
    for i in range(0, len(data), 16):
        row = data[i:i + 16]
        hexes = " ".join(f"{b:02x}" for b in row[:8])
        if len(row) > 8:
            hexes += "  " + " ".join(f"{b:02x}" for b in row[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        yield f"{start + i:08X}  {hexes:<49} {text}"
