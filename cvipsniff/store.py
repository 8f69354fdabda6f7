"""A compact, append-only index of analysed messages for interactive use (TUI, live).

A million messages must fit in a few hundred megabytes and list instantly, so the store
keeps only *columns* (``array`` of ints, interned strings) in memory; each message's bytes
are appended to an anonymous spill file and its full dissection tree is rebuilt on demand
(dissectors are pure functions of the bytes) through a small LRU cache. Findings and
transaction links are kept per message number.
"""

from __future__ import annotations

import tempfile
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from cvipsniff.analysis.model import Finding
from cvipsniff.model import Message
from dissectors import registry
from dissectors.base import SEVERITY_RANK, Record


class _Interner:
    """Strings (and endpoint tuples) stored once, referenced by a small int."""

    __slots__ = ("ids", "values")

    def __init__(self) -> None:
        self.values: list = []
        self.ids: dict = {}

    def id(self, value) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


@dataclass(slots=True, frozen=True)
class Row:
    """What the message list shows for one message (built on demand for visible rows)."""

    index: int  # 0-based position in the store
    number: int  # message number (1-based)
    frame: int
    ts_ns: int
    src: tuple[str, int]
    dst: tuple[str, int]
    protocol: str
    kind: str
    length: int
    info: str
    flow: int
    direction: int
    transport: str
    method: str | None
    txn: int | str | None
    severity: int  # worst finding: 0 none, 1 info, 2 warning, 3 error
    is_response: bool = False


class MessageStore:
    """Append messages as the analysis produces them; read rows and details by index."""

    CACHE_SIZE = 64

    def __init__(self, dissector_options: Mapping[str, Mapping[str, object]] | None = None
                 ) -> None:
        # The settings the pipeline dissected with: a message dissected again for the
        # details pane or an export reads the same (reveal_secrets, ack_table...).
        self.dissector_options = dict(dissector_options or {})
        self._strings = _Interner()
        self._numbers = array("q")
        self._frame = array("q")
        self._ts = array("q")
        self._first_ts = array("q")
        self._length = array("q")
        self._flow = array("q")
        self._direction = array("b")
        # Interned values: ids count distinct values, so 4 bytes ("i") are plenty where
        # "l" takes 8 on 64-bit Linux (28 MB over a million messages).
        self._protocol = array("i")
        self._kind = array("i")
        self._src = array("i")
        self._dst = array("i")
        self._transport = array("i")
        self._method = array("i")
        self._txn = array("i")
        self._is_response = array("b")
        # Summary lines, UTF-8 in one buffer: a million small str objects would cost
        # about 60 bytes each in object headers alone.
        self._info_blob = bytearray()
        self._info_start = array("q")
        self._severity = array("b")
        self._frames_start = array("q")
        self._frames_flat = array("q")
        self._offset = array("q")  # stream offset in its flow direction
        # Lives as long as the store; close() releases it.
        self._spill = tempfile.TemporaryFile(prefix="cvipsniff-")  # noqa: SIM115
        self._spill_pos = array("q")
        self._spill_len = array("q")
        self._spill_end = 0
        # Whether the file position may be elsewhere than the end (a read moved it):
        # seeking flushes the write buffer, a system call per message when loading.
        self._spill_moved = False
        self._cache: OrderedDict[int, Record] = OrderedDict()
        # Message numbers are normally 1, 2, 3 ... in store order: the index is then
        # number - 1 and no dict is needed. The dict is built on the first exception.
        self._by_number: dict[int, int] | None = None
        self.findings: list[Finding] = []
        self._findings_of: dict[int, list[int]] = {}
        self.first_ts_ns: int | None = None

    def __len__(self) -> int:
        return len(self._numbers)

    def close(self) -> None:
        self._spill.close()

    # ---- writing -------------------------------------------------------------------------

    def add(self, msg: Message, *, keep_record: bool = True) -> int:
        """Store a message (its bytes go to the spill file); returns its index.

        ``keep_record=False``: the record has no dissection tree (lean mode), so it must
        not answer :meth:`record`; the first look re-dissects the bytes."""
        s = self._strings.id
        index = len(self._numbers)
        rec = msg.record
        if self._by_number is not None:
            self._by_number[msg.number] = index
        elif msg.number != index + 1:
            self._by_number = {n: i for i, n in enumerate(self._numbers)}
            self._by_number[msg.number] = index
        self._numbers.append(msg.number)
        self._frame.append(msg.frame)
        self._ts.append(msg.ts_ns)
        self._first_ts.append(msg.first_ts_ns)
        self._length.append(msg.length)
        self._flow.append(msg.flow)
        self._direction.append(msg.direction)
        self._protocol.append(s(rec.protocol))
        self._kind.append(s(rec.kind))
        self._src.append(s(msg.src))
        self._dst.append(s(msg.dst))
        self._transport.append(s(msg.transport))
        self._method.append(s(rec.method))
        self._txn.append(s(rec.txn))
        self._is_response.append(bool(rec.is_response))
        self._info_start.append(len(self._info_blob))
        self._info_blob += rec.info.encode("utf-8", "surrogatepass")
        self._offset.append(msg.offset)
        worst = 0
        for p in rec.problems:
            worst = max(worst, SEVERITY_RANK.get(p.severity, 0))
        self._severity.append(worst)
        self._frames_start.append(len(self._frames_flat))
        self._frames_flat.extend(msg.frames)
        data = msg.data or b""
        if self._spill_moved:
            self._spill.seek(self._spill_end)
            self._spill_moved = False
        self._spill.write(data)
        self._spill_pos.append(self._spill_end)
        self._spill_len.append(len(data))
        self._spill_end += len(data)
        if self.first_ts_ns is None:
            self.first_ts_ns = msg.first_ts_ns or msg.ts_ns
        if keep_record:
            self._cache[index] = rec
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return index

    def extend(self, messages: Sequence[Message], *, keep_record: bool = True) -> int:
        """Store a batch of messages, as :meth:`add` does one by one, column by column
        (the loader hands over thousands at a time: one pass per column costs a fraction
        of a method call and two dozen appends per message). Returns the first index."""
        start = len(self._numbers)
        if not messages:
            return start
        numbers = [m.number for m in messages]
        if self._by_number is None and numbers != list(range(start + 1,
                                                               start + 1 + len(numbers))):
            self._by_number = {n: i for i, n in enumerate(self._numbers)}
        if self._by_number is not None:
            self._by_number.update(zip(numbers, range(start, start + len(numbers)),
                                       strict=True))
        records = [m.record for m in messages]
        intern = self._strings.id
        self._numbers.extend(numbers)
        self._frame.extend([max(m.frames) if m.frames else 0 for m in messages])
        self._ts.extend([m.ts_ns for m in messages])
        self._first_ts.extend([m.first_ts_ns for m in messages])
        self._length.extend([m.length for m in messages])
        self._flow.extend([m.flow for m in messages])
        self._direction.extend([m.direction for m in messages])
        self._protocol.extend([intern(r.protocol) for r in records])
        self._kind.extend([intern(r.kind) for r in records])
        self._src.extend([intern(m.src) for m in messages])
        self._dst.extend([intern(m.dst) for m in messages])
        self._transport.extend([intern(m.transport) for m in messages])
        self._method.extend([intern(r.method) for r in records])
        self._txn.extend([intern(r.txn) for r in records])
        self._is_response.extend([bool(r.is_response) for r in records])
        infos = [r.info.encode("utf-8", "surrogatepass") for r in records]
        at = len(self._info_blob)
        starts = []
        for info in infos:
            starts.append(at)
            at += len(info)
        self._info_start.extend(starts)
        self._info_blob += b"".join(infos)
        self._offset.extend([m.offset for m in messages])
        rank = SEVERITY_RANK.get
        self._severity.extend([max([rank(p.severity, 0) for p in r.problems], default=0)
                               if r.problems else 0 for r in records])
        flat = self._frames_flat
        starts = []
        for m in messages:
            starts.append(len(flat))
            flat.extend(m.frames)
        self._frames_start.extend(starts)
        datas = [m.data or b"" for m in messages]
        at = self._spill_end
        starts = []
        for data in datas:
            starts.append(at)
            at += len(data)
        if self._spill_moved:
            self._spill.seek(self._spill_end)
            self._spill_moved = False
        self._spill.write(b"".join(datas))
        self._spill_pos.extend(starts)
        self._spill_len.extend([len(d) for d in datas])
        self._spill_end = at
        if self.first_ts_ns is None:
            self.first_ts_ns = messages[0].first_ts_ns or messages[0].ts_ns
        if keep_record:
            cache = self._cache
            for index, rec in enumerate(records[-self.CACHE_SIZE:],
                                        start + max(0, len(records) - self.CACHE_SIZE)):
                cache[index] = rec
                if len(cache) > self.CACHE_SIZE:
                    cache.popitem(last=False)
        return start

    def add_finding(self, finding: Finding) -> None:
        """Attach a finding to its message (by message number) and raise its severity."""
        self.findings.append(finding)
        number = finding.message_number
        if number is None:
            return
        index = self.index_of_number(number)
        if index is None:
            return
        self._findings_of.setdefault(index, []).append(len(self.findings) - 1)
        rank = SEVERITY_RANK.get(finding.severity, 0)
        if rank > self._severity[index]:
            self._severity[index] = rank

    # ---- reading -------------------------------------------------------------------------

    def row(self, index: int) -> Row:
        v = self._strings.values
        return Row(
            index=index, number=self._numbers[index], frame=self._frame[index],
            ts_ns=self._ts[index], src=v[self._src[index]], dst=v[self._dst[index]],
            protocol=v[self._protocol[index]], kind=v[self._kind[index]],
            length=self._length[index], info=self.info(index), flow=self._flow[index],
            direction=self._direction[index], transport=v[self._transport[index]],
            method=v[self._method[index]], txn=v[self._txn[index]],
            severity=self._severity[index], is_response=bool(self._is_response[index]),
        )

    def info(self, index: int) -> str:
        """The message's summary line (what the list's Info column shows)."""
        start = self._info_start[index]
        end = (self._info_start[index + 1] if index + 1 < len(self._info_start)
               else len(self._info_blob))
        return self._info_blob[start:end].decode("utf-8", "surrogatepass")

    def frames(self, index: int) -> list[int]:
        start = self._frames_start[index]
        end = (self._frames_start[index + 1] if index + 1 < len(self._frames_start)
               else len(self._frames_flat))
        return list(self._frames_flat[start:end])

    def data(self, index: int) -> bytes:
        """The message's bytes, read back from the spill file."""
        self._spill_moved = True
        self._spill.seek(self._spill_pos[index])
        return self._spill.read(self._spill_len[index])

    def record(self, index: int) -> Record:
        """The full dissection of a message, rebuilt from its bytes when not cached."""
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        return self._dissect(index, self.row(index), self.data(index))

    def _dissect(self, index: int, row: Row, data: bytes) -> Record:
        """Dissect the message at ``index`` again (its row and bytes in hand) and cache
        the record."""
        spec_name = "cvip" if row.protocol == "cvip-ping" else row.protocol
        spec = registry().get(spec_name)
        if spec is None:
            rec = Record(protocol=row.protocol, kind=row.kind, info=row.info)
        else:
            try:
                rec = spec.dissect(data, row.transport,
                                   self.dissector_options.get(spec_name) or None)
            except Exception as exc:  # the same guard as the pipeline
                rec = Record(protocol=row.protocol, kind="unknown",
                             info=f"[dissector error: {type(exc).__name__}]")
        self._cache[index] = rec
        if len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return rec

    def message(self, index: int) -> Message:
        """A full Message again (bytes and record), e.g. for the filter or export. The
        row and the bytes are read once (a filter on tree fields does this per message)."""
        row = self.row(index)
        data = self.data(index)
        record = self._cache.get(index)
        if record is not None:
            self._cache.move_to_end(index)
        else:
            record = self._dissect(index, row, data)
        return Message(
            number=row.number, flow=row.flow, direction=row.direction,
            transport=row.transport, src=row.src, dst=row.dst, frames=self.frames(index),
            ts_ns=row.ts_ns, first_ts_ns=self._first_ts[index], offset=self._offset[index],
            length=row.length, record=record, data=data,
        )

    def findings_of(self, index: int) -> list[Finding]:
        return [self.findings[i] for i in self._findings_of.get(index, ())]

    def index_of_number(self, number: int) -> int | None:
        if self._by_number is not None:
            return self._by_number.get(number)
        return number - 1 if 0 < number <= len(self._numbers) else None

    def number(self, index: int) -> int:
        """The message number of the message at ``index``."""
        return self._numbers[index]

    # Single columns, for callers that need one value of many rows (a list's delta time,
    # a column layout) without building a Row each time.

    def ts_ns(self, index: int) -> int:
        return self._ts[index]

    def frame(self, index: int) -> int:
        """The frame that completed the message at ``index``."""
        return self._frame[index]

    def protocol(self, index: int) -> str:
        return self._strings.values[self._protocol[index]]

    def kind(self, index: int) -> str:
        return self._strings.values[self._kind[index]]

    def method(self, index: int) -> str | None:
        return self._strings.values[self._method[index]]

    def is_response(self, index: int) -> bool:
        return bool(self._is_response[index])

    def direction(self, index: int) -> int:
        return self._direction[index]

    def length(self, index: int) -> int:
        return self._length[index]

    def flow(self, index: int) -> int:
        return self._flow[index]

    def transport(self, index: int) -> str:
        return self._strings.values[self._transport[index]]

    def src(self, index: int) -> tuple[str, int]:
        return self._strings.values[self._src[index]]

    def dst(self, index: int) -> tuple[str, int]:
        return self._strings.values[self._dst[index]]

    def severity(self, index: int) -> int:
        """Worst finding of the message at ``index``: 0 none, 1 info, 2 warning, 3 error."""
        return self._severity[index]

    def findings_count(self, index: int) -> int:
        return len(self._findings_of.get(index, ()))

    def index_of_frame(self, frame: int) -> int | None:
        """The first message that a frame belongs to (binary search on completing frame,
        then a short scan: messages are in completion order)."""
        lo, hi = 0, len(self._frame)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._frame[mid] < frame:
                lo = mid + 1
            else:
                hi = mid
        for i in range(max(0, lo - 8), min(len(self._frame), lo + 8)):
            if frame in self.frames(i):
                return i
        return lo if lo < len(self._frame) else None

    def iter_rows(self) -> Iterator[Row]:
        for i in range(len(self)):
            yield self.row(i)
