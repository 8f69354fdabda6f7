"""The JSON report's transaction rows, rendered by a split capture's workers.

Why: the rows (one per transaction) are most of a report: 52 MB and a quarter of a second
of rendering on the bench's 200 MB sessions mix. Rendered by the parent once the
analysis had ended, they were a serial tail on two cores; a split's workers
(:mod:`cvipsniff.split_analysis`) render the rows of the transactions they followed, in
parallel, once they know their global numbers, each into a file of its own. The parent
only records where each transaction's row is (:meth:`RowSpool.add_part`), and
:class:`SpooledRows` writes the array in number order by copying runs of those files. The
text is the renderer's own, row for row, so the report is byte for byte the same; a row
that no part holds is rendered from the transaction log when written.

Rows are rendered for one place in the document (the line start of the array's items):
asked for another, the array is rendered as usual, from the log.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from cvipsniff.analysis.model import Transaction
from cvipsniff.analysis.txnlog import values
from cvipsniff.report.jsontext import Piecewise, Rows
from dissectors.accel import accelerated

# A transaction's row from its values (cvipsniff.analysis.txnlog.values), at a line start
# and indentation step.
RowText = Callable[[tuple, str, str], str]
# Rows of a list of values at once, each after its separator (``"," + nl``: first=False),
# as json_report's compiled batch renderer; None where it declines the batch.
RowsText = Callable[[list, str, str, bool], "str | None"]

_NONE = 0xFF  # part of a transaction no part holds
_CHUNK = 1 << 20  # bytes copied or gathered per piece written


def _no_row_gather(fds: list[int], parts: array, offsets: array, sizes: array) -> None:
    return None


# The compiled copy of the parts' rows in number order (accel/src/rowgather.rs):
# ``RowGather(fds, parts, offsets, sizes).rows(start, limit)`` → (the rows of transactions
# ``start`` on, up to one no part holds or about ``limit`` bytes, as SpooledRows._rows
# copies them; the index after them). None on the pure-Python path.
_RowGather = accelerated("RowGather", _no_row_gather)


class RowSpool:
    """Where each transaction's row is: rows rendered for an array whose line start is
    ``nl`` (items at ``nl + step``), each stored as its separator (``"," + nl + step``)
    and text, UTF-8, in files written by whoever rendered them."""

    def __init__(self, render: RowText, nl: str, step: str,
                 render_batch: RowsText | None = None) -> None:
        self.render = render  # from a transaction's values
        self.render_batch = render_batch
        self.nl = nl
        self.step = step
        self.inner = nl + step
        self.separator = "," + self.inner
        # Per transaction number - 1: its part, the row's offset in that part's file and
        # the row's size.
        self._parts: list[IO[bytes]] = []
        self._part = array("B")
        self._offsets = array("q")
        self._sizes = array("I")
        self.spooled = 0  # rows the parts hold

    def row_bytes(self, txn_values: tuple) -> bytes:
        """A transaction's row as a part stores it (its separator first)."""
        return (self.separator + self.render(txn_values, self.inner, self.step)).encode()

    def rows_bytes(self, batch: list[tuple], sizes: array) -> bytes:
        """The rows of a batch of transactions' values as a part stores them, one after
        another; each one's size appended to ``sizes``. Rendered at once where the batch
        renderer takes them, cut into rows where each one's separator and opening brace
        stand (never inside a row: a row's own lines are indented deeper, and its strings
        hold no raw line break), row by row otherwise."""
        text = self.render_batch(batch, self.inner, self.step, False) \
            if self.render_batch is not None and batch else None
        if text is not None:
            data = text.encode()
            cut = (self.separator + "{").encode()
            rows = data.split(cut)
            if len(rows) == len(batch) + 1 and not rows[0]:
                sizes.extend([len(cut) + len(row) for row in rows[1:]])
                return data
        out = [self.row_bytes(values) for values in batch]
        sizes.extend([len(row) for row in out])
        return b"".join(out)

    def add_part(self, file: IO[bytes], sizes: array, numbers: array) -> None:
        """A file of rows rendered elsewhere, one after another from its start:
        ``sizes[i]`` bytes for transaction ``numbers[i]``. The spool keeps the file (and
        closes it with itself)."""
        if len(sizes) != len(numbers):
            raise ValueError("add_part: a size per transaction")
        if len(self._parts) >= _NONE:
            raise ValueError("add_part: too many parts")
        part = len(self._parts)
        self._parts.append(file)
        if not sizes:
            return
        missing = max(numbers) - len(self._offsets)
        if missing > 0:
            self._part.extend(array("B", [_NONE]) * missing)
            self._offsets.extend(array("q", [0]) * missing)
            self._sizes.extend(array("I", [0]) * missing)
        parts, offsets, row_sizes = self._part, self._offsets, self._sizes
        start = 0
        for number, size in zip(numbers, sizes, strict=True):
            parts[number - 1] = part
            offsets[number - 1] = start
            row_sizes[number - 1] = size
            start += size
        self.spooled += len(sizes)

    def rows(self, log: Sequence[Transaction], fallback: Rows) -> SpooledRows:
        """``log``'s array: rows the parts hold copied, the others rendered; ``fallback``
        (the usual rendering of the same rows) where it is asked for at another place."""
        return SpooledRows(self, log, fallback)

    def read_into(self, gathered: bytearray, part: int, start: int,
                  end: int) -> Iterator[bytes]:
        """Append bytes ``start`` to ``end`` of a part's file to ``gathered``; yield
        (and empty) it each time it holds a megabyte or more."""
        file = self._parts[part]
        if file.tell() != start:
            file.seek(start)
        while start < end:
            chunk = file.read(min(_CHUNK, end - start))
            if not chunk:
                raise OSError("a part of the report's rows ended early")
            start += len(chunk)
            gathered += chunk
            if len(gathered) >= _CHUNK:
                yield bytes(gathered)
                gathered.clear()

    def close(self) -> None:
        for file in self._parts:
            file.close()
        self._parts.clear()


class SpooledRows(Piecewise):
    """A transaction log's rows as :class:`~cvipsniff.report.jsontext.Rows` writes
    them, from a :class:`RowSpool` (UTF-8 bytes, in pieces of about a megabyte)."""

    __slots__ = ("copied", "fallback", "log", "spool")

    def __init__(self, spool: RowSpool, log: Sequence[Transaction], fallback: Rows) -> None:
        self.spool = spool
        self.log = log
        self.fallback = fallback
        self.copied = 0  # rows copied from the parts by the last rendering (for tests)

    def pieces(self, nl: str, step: str) -> Iterator[str | bytes]:
        spool = self.spool
        if nl != spool.nl or step != spool.step or not spool.spooled or not self.log:
            yield from self.fallback.pieces(nl, step)
            return
        first = True
        for piece in self._rows():
            if first:  # every row comes after a separator: the first opens the array
                piece = b"[" + piece[1:]
                first = False
            yield piece
        yield nl + "]"

    def _rows(self) -> Iterator[bytes]:
        """Every row with its separator, in number order, gathered into pieces of about
        a megabyte: runs of rows lying one after another in a part read at once (a
        part's rows are in number order, so each file is mostly read straight on), the
        rows no part holds rendered."""
        spool = self.spool
        gather = _RowGather([file.fileno() for file in spool._parts], spool._part,
                            spool._offsets, spool._sizes)
        if gather is not None:
            yield from self._gathered(gather)
            return
        log = self.log
        parts, offsets, sizes = spool._part, spool._offsets, spool._sizes
        held = len(parts)
        gathered = bytearray()
        run_part, run_start, run_end = _NONE, 0, 0  # the current run of copied rows
        copied = 0
        for index in range(len(log)):
            part = parts[index] if index < held else _NONE
            if part != _NONE:
                copied += 1
                offset = offsets[index]
                if part == run_part and offset == run_end:
                    run_end += sizes[index]
                    continue
                if run_part != _NONE:
                    yield from spool.read_into(gathered, run_part, run_start, run_end)
                run_part, run_start, run_end = part, offset, offset + sizes[index]
                continue
            if run_part != _NONE:
                yield from spool.read_into(gathered, run_part, run_start, run_end)
                run_part = _NONE
            gathered += spool.row_bytes(values(log[index]))
            if len(gathered) >= _CHUNK:
                yield bytes(gathered)
                gathered.clear()
        if run_part != _NONE:
            yield from spool.read_into(gathered, run_part, run_start, run_end)
        if gathered:
            yield bytes(gathered)
        self.copied = copied

    def _gathered(self, gather: Any) -> Iterator[bytes]:
        """:meth:`_rows` with the compiled copy (which leaves the rows no part holds to
        be rendered here)."""
        spool, log = self.spool, self.log
        parts = spool._part
        held, count = len(parts), len(log)
        rendered = bytearray()  # rows no part holds, until the next piece copied
        copied = index = 0
        while index < count:
            if index < held and parts[index] != _NONE:
                piece, after = gather.rows(index, _CHUNK)
                copied += after - index
                index = after
                if rendered:
                    yield bytes(rendered)
                    rendered.clear()
                yield piece
                continue
            rendered += spool.row_bytes(values(log[index]))
            index += 1
            if len(rendered) >= _CHUNK:
                yield bytes(rendered)
                rendered.clear()
        if rendered:
            yield bytes(rendered)
        self.copied = copied
