"""The transactions of one analysis, kept in memory only while they can still change.

A report lists every transaction, so a capture of a million request/answer pairs would
hold a million :class:`~cvipsniff.analysis.model.Transaction` objects (about 1 KB each
with their message references) until the report is written: memory that grows with the
capture, which streaming analysis must not do. Yet almost every transaction is settled
within moments of its request (its answer came, its flow closed), and from then on
nothing changes it. So once more than ``spill_above`` transactions are in memory, the
settled ones are written to an anonymous temporary file as compact tuples and dropped;
what remains in memory is the handful still open (outstanding requests, live streams)
plus a file offset and size per transaction (12 bytes).

Which transactions are settled is the pairer's knowledge, not ours: :meth:`spill` is
given the numbers of those it still holds (its outstanding-request queues and open live
streams), and is only called between two messages, never while a handler may still be
changing the transaction it just made. Reading back gives equal objects in number order,
so every report is byte for byte what an all-in-memory run gives (tested with the
threshold at zero over every bundled capture).

It behaves as the ``list`` it replaces where the code base uses one: ``len``, indexing
by position, iteration in number order, ``append``, ``clear`` (the terminal UI takes the
new transactions batch by batch and clears the list), and pickling as a plain list (a
``report --jobs`` worker sends its file's result to the parent).

``marshal`` is the format on purpose: the tuples hold only ints, strings and None, it is
the fastest serializer of such values in the standard library, and the file lives and
dies with this process (no format to keep compatible).
"""

from __future__ import annotations

import marshal
import os
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, overload

from cvipsniff.analysis.model import MessageRef, Transaction
from dissectors.accel import accelerated

# In-memory transactions above which the settled ones go to the file. Small captures
# never spill; a large one keeps at most about this many (≈ 10 MB) plus its open ones.
DEFAULT_SPILL_ABOVE = 10_000
# Overrides the threshold (the tests set 0 to spill after every message).
SPILL_ENV = "CVIPSNIFF_TXN_SPILL_ABOVE"
_IN_MEMORY = -1  # offset of a transaction not (yet) in the file


def _ref_tuple(ref: MessageRef | None) -> tuple | None:
    return None if ref is None else tuple(ref)  # a plain tuple: marshal takes no subclass


def _ref_of(values: tuple | None) -> MessageRef | None:
    if values is None:
        return None
    return MessageRef(*values)


def values(txn: Transaction) -> tuple:
    """A transaction as plain values: ``(number, protocol, id, flow, method, state,
    request, responses, expects)``, each message reference as ``(number, frames, ts_ns,
    kind, method)`` (None for no request) and the responses as a list of them."""
    return (txn.number, txn.protocol, txn.id, txn.flow, txn.method, txn.state,
            _ref_tuple(txn.request), [_ref_tuple(r) for r in txn.responses], txn.expects)


def pack(txn: Transaction) -> bytes:
    """A settled transaction as bytes (every field, so :func:`unpack` gives it back)."""
    return marshal.dumps(values(txn))


def unpack(data: bytes | memoryview) -> Transaction:
    return transaction_of(marshal.loads(data))


def transaction_of(txn_values: tuple) -> Transaction:
    """The transaction whose :func:`values` these are."""
    (number, protocol, id_, flow, method, state, request, responses,
     expects) = txn_values
    return Transaction(number, protocol, id_, flow, method, state, _ref_of(request),
                       [MessageRef(*r) for r in responses], expects)


def pack_settled(memory: dict[int, Transaction], held: set[int], offsets: array,
                 sizes: array, end: int
                 ) -> tuple[dict[int, Transaction], bytes, int, list[Transaction]]:
    """A spill of ``memory`` (position → transaction) that keeps the transactions whose
    number is in ``held``: each other one packed (:func:`pack`) at file offset ``end``
    on, its offset and size set at its position in ``offsets`` and ``sizes``. Returns
    the kept ones (a new dict, in position order), the packed records as one string, the
    file offset after them, and the written transactions in position order.

    The reference of the compiled ``pack_settled`` (``accel/src/pytxn.rs``), which
    writes the same marshal values without building the tuples first (or declines)."""
    chunks: list[bytes] = []
    written: list[Transaction] = []
    kept: dict[int, Transaction] = {}
    # One pass, the kept ones into a new dict (a delete per written one cost more).
    for position, txn in memory.items():
        if txn.number in held:
            kept[position] = txn
            continue
        data = pack(txn)
        chunks.append(data)
        offsets[position] = end
        sizes[position] = len(data)
        end += len(data)
        written.append(txn)
    return kept, b"".join(chunks), end, written


def _decline(memory: dict[int, Transaction], held: set[int], offsets: array, sizes: array,
             end: int) -> None:
    return None  # the pure-Python path's stand-in: :func:`pack_settled` does every spill


_pack_settled = accelerated("pack_settled", _decline)


def default_spill_above() -> int:
    """The threshold: ``$CVIPSNIFF_TXN_SPILL_ABOVE`` if set to a number, else the default."""
    value = os.environ.get(SPILL_ENV, "")
    return int(value) if value.isdigit() else DEFAULT_SPILL_ABOVE


class TransactionLog:
    """Transactions in number order; settled ones spilled to a temporary file."""

    def __init__(self, items: Iterable[Transaction] = (), *,
                 spill_above: int | None = -1) -> None:
        """``spill_above``: in-memory count that triggers a spill (None: never spill;
        negative: :func:`default_spill_above`)."""
        self.spill_above = default_spill_above() if spill_above is not None and \
            spill_above < 0 else spill_above
        self._offsets = array("q")  # per position: file offset, or _IN_MEMORY
        self._memory: dict[int, Transaction] = {}  # position → object, for _IN_MEMORY
        self._file: IO[bytes] | None = None
        self._end = 0  # bytes written to the file
        self._sizes = array("I")  # per position: its record's size in the file
        self._cursor = -1  # file position after the last read (-1: unknown)
        # Told of the transactions of each spill as they are written out (settled for
        # good), in number order: lets the analysis take what it needs of them now
        # rather than read them back later.
        self.on_spill: Callable[[list[Transaction]], None] | None = None
        # In-memory count that triggers the next spill: the threshold, or twice what the
        # last spill had to keep (the held ones), so a capture holding more open
        # transactions than the threshold (a long run of broadcast pings, which stay
        # open for late answers) is not rescanned on every message.
        self._trigger = self.spill_above
        for txn in items:
            self.append(txn)

    # ---- the list operations the code base uses --------------------------------------

    def append(self, txn: Transaction) -> None:
        self._memory[len(self._offsets)] = txn
        self._offsets.append(_IN_MEMORY)
        self._sizes.append(0)

    def __len__(self) -> int:
        return len(self._offsets)

    def __bool__(self) -> bool:
        return bool(self._offsets)

    @overload
    def __getitem__(self, index: int) -> Transaction: ...
    @overload
    def __getitem__(self, index: slice) -> list[Transaction]: ...

    def __getitem__(self, index: int | slice) -> Transaction | list[Transaction]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self._offsets)))]
        if index < 0:
            index += len(self._offsets)
        if not 0 <= index < len(self._offsets):
            raise IndexError("transaction index out of range")
        return self._at(index)

    def __iter__(self) -> Iterator[Transaction]:
        for i in range(len(self._offsets)):
            yield self._at(i)

    def iter_values(self) -> Iterator[tuple]:
        """Every transaction in number order as its :func:`values`, the spilled ones
        without being made objects again: what a report's rows are written from (making
        the objects was as much as writing their text)."""
        memory = self._memory
        offsets, sizes = self._offsets, self._sizes
        loads = marshal.loads
        for position in range(len(offsets)):
            offset = offsets[position]
            if offset == _IN_MEMORY:
                yield values(memory[position])
                continue
            file = self._file
            assert file is not None
            if offset != self._cursor:
                file.seek(offset)
            size = sizes[position]
            self._cursor = offset + size
            yield loads(file.read(size))

    def clear(self) -> None:
        self._offsets = array("q")
        self._sizes = array("I")
        self._memory.clear()
        self._trigger = self.spill_above
        self._close_file()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as it is stored: the file's bytes as one string, the two index arrays
        and the objects still in memory. A ``report --jobs`` worker sends its result to
        the parent this way; rebuilding a million objects on each side instead cost a
        third of the run."""
        data = b""
        if self._file is not None:
            self._file.flush()
            self._file.seek(0)
            data = self._file.read(self._end)
            self._cursor = -1
        return (_rebuild, (data, self._offsets.tobytes(), self._sizes.tobytes(),
                           dict(self._memory), self.spill_above))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (TransactionLog, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it stands for

    # ---- spilling --------------------------------------------------------------------

    @property
    def in_memory(self) -> int:
        """Transactions held as objects (the rest are in the file)."""
        return len(self._memory)

    def wants_spill(self) -> bool:
        return self._trigger is not None and len(self._memory) > self._trigger

    def in_memory_items(self) -> Iterator[Transaction]:
        """The transactions still held as objects, in number order."""
        return iter(self._memory.values())

    def spill(self, held: set[int]) -> int:
        """Write every in-memory transaction whose number is not in ``held`` to the file
        (telling ``on_spill``) and drop the object; return how many were written."""
        if not self._memory:
            return 0
        if self._file is None:
            # Lives as long as this log (closed by clear() or with the object).
            self._file = tempfile.TemporaryFile(prefix="cvipsniff-txn-")  # noqa: SIM115
        packed = _pack_settled(self._memory, held, self._offsets, self._sizes, self._end)
        if packed is None:
            packed = pack_settled(self._memory, held, self._offsets, self._sizes, self._end)
        self._memory, data, end, written = packed
        if data:
            self._file.seek(self._end)
            self._file.write(data)
            self._end = end
            self._cursor = -1
        if written and self.on_spill is not None:
            self.on_spill(written)
        if self.spill_above is not None:
            self._trigger = max(self.spill_above, 2 * len(self._memory))
        return len(written)

    # ---- reading ---------------------------------------------------------------------

    def _at(self, position: int) -> Transaction:
        offset = self._offsets[position]
        if offset == _IN_MEMORY:
            return self._memory[position]
        # Read, not mapped: pages of a mapped file count in the process's resident size,
        # and reading a million transactions back must not bring the file into it.
        # Records spilled together lie in position order, so iteration mostly reads on
        # from where it stopped, inside the file object's buffer.
        file = self._file
        assert file is not None
        if offset != self._cursor:
            file.seek(offset)
        size = self._sizes[position]
        self._cursor = offset + size
        return unpack(file.read(size))

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._end = 0
        self._cursor = -1


def _rebuild(data: bytes, offsets: bytes, sizes: bytes, memory: dict[int, Transaction],
             spill_above: int | None) -> TransactionLog:
    """A :class:`TransactionLog` from what :meth:`TransactionLog.__reduce__` gave."""
    log = TransactionLog(spill_above=spill_above)
    log._offsets.frombytes(offsets)
    log._sizes.frombytes(sizes)
    log._memory = memory
    if data:
        # Lives as long as the log, as in spill().
        log._file = tempfile.TemporaryFile(prefix="cvipsniff-txn-")  # noqa: SIM115
        log._file.write(data)
        log._end = len(data)
    return log
