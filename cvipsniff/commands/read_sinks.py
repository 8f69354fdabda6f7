"""Where ``cvipsniff read`` writes a displayed message: one sink per ``-T`` format.

Each sink gets the message, the field source the filter saw (so ``-e`` values are the
filter's values) and the message's pairing as known at that point, and writes it at
once: nothing is held back, so the output streams whatever the capture's size (the JSON
array is written element by element).
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from cvipsniff.analysis.model import Transaction
from cvipsniff.commands.follow import hexdump
from cvipsniff.fields_output import FieldsWriter
from cvipsniff.filter import FieldSource
from cvipsniff.model import Message, TransportNote
from cvipsniff.render import message_json, note_json, note_line, summary_line, tree_lines
from cvipsniff.report.json_report import pairing_json


class NullSink:
    """``-q``: no message output (statistics and ``-w`` only)."""

    def message(self, msg: Message, time_text: str, txn: Transaction | None,
                source: FieldSource) -> None:
        pass

    def note(self, note: TransportNote, show: bool) -> None:
        pass

    def close(self) -> None:
        pass


class TextSink:
    """tshark's one line per message, ``-V`` trees, ``-x`` hex."""

    def __init__(self, out: TextIO, *, verbose: bool, hex_dump: bool) -> None:
        self.out = out
        self.verbose = verbose
        self.hex_dump = hex_dump

    def message(self, msg: Message, time_text: str, txn: Transaction | None,
                source: FieldSource) -> None:
        out = self.out
        if self.verbose:
            out.write("\n".join(tree_lines(msg)) + "\n")
        else:
            method, request_frame, answer_frame = _links(txn, msg)
            out.write(summary_line(msg, 0, request_method=method, request_frame=request_frame,
                                   answer_frame=answer_frame, time_text=time_text) + "\n")
        if self.hex_dump:
            write_hex(out, msg)
        if self.verbose or self.hex_dump:
            out.write("\n")

    def note(self, note: TransportNote, show: bool) -> None:
        if show:
            self.out.write(note_line(note) + "\n")

    def close(self) -> None:
        pass


class FieldsSink:
    """``-T fields``: the chosen fields of each message on one line."""

    def __init__(self, out: TextIO, writer: FieldsWriter, *, hex_dump: bool,
                 first_ts: list[int]) -> None:
        self.out = out
        self.writer = writer
        self.hex_dump = hex_dump
        self._first_ts = first_ts
        writer.header()

    def message(self, msg: Message, time_text: str, txn: Transaction | None,
                source: FieldSource) -> None:
        self.writer.row(msg, source, self._first_ts[0])
        if self.hex_dump:
            write_hex(self.out, msg)
            self.out.write("\n")

    def note(self, note: TransportNote, show: bool) -> None:
        pass

    def close(self) -> None:
        pass


class JsonSink:
    """``-T json`` (one array, written element by element) and ``-T jsonl``."""

    def __init__(self, out: TextIO, *, lines: bool, hex_dump: bool, final: bool,
                 first_ts: list[int]) -> None:
        self.out = out
        self.lines = lines
        self.hex_dump = hex_dump
        self.final = final
        self._first_ts = first_ts
        self._count = 0

    def _write(self, record: dict[str, Any]) -> None:
        text = json.dumps(record, ensure_ascii=False)
        if self.lines:
            self.out.write(text + "\n")
        else:
            self.out.write(("[\n" if not self._count else ",\n") + text)
        self._count += 1

    def message(self, msg: Message, time_text: str, txn: Transaction | None,
                source: FieldSource) -> None:
        record = message_json(msg, self._first_ts[0])
        record["transaction"] = pairing_json(txn, final=self.final)
        if self.hex_dump and msg.data is not None:
            record["hex"] = bytes(msg.data).hex()
        self._write(record)

    def note(self, note: TransportNote, show: bool) -> None:
        self._write(note_json(note))

    def close(self) -> None:
        if not self.lines:
            self.out.write("[]\n" if not self._count else "\n]\n")


def write_hex(out: TextIO, msg: Message) -> None:
    """The message's bytes as a hex dump (offsets within the message)."""
    if msg.data is None:
        return
    for line in hexdump(bytes(msg.data)):
        out.write(line + "\n")


def _links(txn: Transaction | None, msg: Message) -> tuple[str | None, int | None, int | None]:
    """(request method, request frame, None) for an answer; (None, None, answer frame)
    for a request whose answer is already known (always so with ``-2``)."""
    if txn is None:
        return None, None, None
    request = txn.request
    if request is not None and request.number == msg.number:
        return None, None, (max(txn.responses[0].frames) if txn.responses else None)
    if msg.record.is_response and request is not None:
        return txn.method, max(request.frames), None
    return None, None, None
