"""``cvipsniff flows -r FILE``: every TCP connection and UDP conversation, like
``tshark -z conv,tcp``, with the reassembler's view (retransmissions, gaps)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from itertools import chain

from cvipsniff.commands.common import check_readable
from cvipsniff.flows import FlowTable
from cvipsniff.flowstats import plain_flows
from cvipsniff.model import Flow, TransportNote
from cvipsniff.pipeline import default_server_ports, iter_flow_events
from cvipsniff.render import endpoint_text, flow_json, note_line


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("flows", help="list TCP connections and UDP conversations",
                       description=__doc__)
    p.add_argument("-r", "--read-file", dest="file", metavar="FILE", required=True,
                   help="capture to read (pcap/pcapng, optionally gzip)")
    p.add_argument("-T", "--output-format", dest="format", default="text",
                   choices=("text", "json"), help="output format (default text)")
    p.add_argument("--notes", action="store_true", help="also list capture/transport notes")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_readable(args.file)
    server_ports = default_server_ports()
    notes: list[TransportNote] = []
    flows: Iterable[Flow]
    # A plain capture is counted in one compiled pass (no notes to list) whose flows are
    # written as they are built (a SYN flood's million flows never all exist as objects);
    # anything else, and the pure-Python path, goes through the reference pipeline.
    fast = plain_flows(args.file, server_ports)
    if fast is not None:
        # On that path time never goes backwards, so the first flow started first.
        head = next(fast, None)
        first_ts = head.first_ts_ns if head is not None else 0
        flows = chain((head,), fast) if head is not None else ()
    else:
        flows = _reference_flows(args.file, server_ports, notes if args.notes else None)
        first_ts = min((f.first_ts_ns for f in flows), default=0)
    if args.format == "json":
        _write(json_pieces(flows))
        return 0
    _write(table_lines(flows, first_ts))
    for note in notes:
        sys.stdout.write(note_line(note) + "\n")
    return 0


def _reference_flows(path: str, server_ports: frozenset[int],
                     notes: list[TransportNote] | None) -> list[Flow]:
    """Every flow of ``path`` through reader, decoder and flow table (the reference);
    the transport notes go to ``notes`` when it is given."""
    table = FlowTable(server_ports=server_ports)
    for event in iter_flow_events(path, flow_table=table):
        if notes is not None and isinstance(event, TransportNote):
            notes.append(event)
    return list(table.flows)


def _write(pieces: Iterable[str], batch: int = 4096) -> None:
    """Write text pieces to standard output a few thousand at a time."""
    out = sys.stdout
    buffer: list[str] = []
    for piece in pieces:
        buffer.append(piece)
        if len(buffer) >= batch:
            out.write("".join(buffer))
            buffer.clear()
    out.write("".join(buffer))


def json_pieces(flows: Iterable[Flow]) -> Iterator[str]:
    """``{"flows": [...]}`` as ``json.dump(..., indent=1)`` writes it, plus a newline,
    one flow at a time (each flow's object indented to its place in the list)."""
    yield '{\n "flows": ['
    separator = "\n  "
    for flow in flows:
        yield separator + json.dumps(flow_json(flow), indent=1).replace("\n", "\n  ")
        separator = ",\n  "
    yield "]\n}\n" if separator == "\n  " else "\n ]\n}\n"


def table_lines(flows: Iterable[Flow], first_ts: int) -> Iterator[str]:
    """A fixed-width conversation table, line by line: one row per flow, both
    directions' counters, start times relative to ``first_ts`` (the earliest flow's)."""
    header = (f"{'ID':>4} {'Proto':5} {'Client':>22}   {'Server':<22} "
              f"{'Pkts→':>7} {'Bytes→':>10} {'Pkts←':>7} {'Bytes←':>10} "
              f"{'Retr':>5} {'Gaps':>5} {'Start':>12} {'Duration':>10}")
    yield header + "\n"
    yield "-" * len(header) + "\n"
    count = 0
    for f in flows:
        count += 1
        a, b = f.stats
        yield (
            f"{f.id:>4} {f.transport.upper():5} {endpoint_text(f.client):>22} ↔ "
            f"{endpoint_text(f.server):<22} {a.packets:>7} {a.bytes:>10} {b.packets:>7} "
            f"{b.bytes:>10} {a.retransmissions + b.retransmissions:>5} "
            f"{a.gaps + b.gaps:>5} {(f.first_ts_ns - first_ts) / 1e9:>12.6f} "
            f"{max(0, f.last_ts_ns - f.first_ts_ns) / 1e9:>10.6f}"
            + (" (mid-session)" if f.mid_session else "") + "\n"
        )
    yield f"{count} flows\n"
