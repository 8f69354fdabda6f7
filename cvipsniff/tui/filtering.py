"""Applying a display filter (the shared language, :mod:`cvipsniff.filter`) to the
messages of a session, a slice at a time.

Most filters read only the engine's fields (protocol, method, addresses, ports,
transaction state, findings), which the store answers from its columns; re-dissecting a
message is needed only when a filter names a field of the dissection tree. So the source
a filter sees here (:class:`StoreFieldSource`) builds the cheap part first and the full
message only when asked.

:class:`FilterJob` evaluates a filter over the store in time-boxed slices (the UI runs
one slice, lets the screen breathe, runs the next), and follows a store that is still
growing: messages that arrive once it has caught up are tested straight from the loader's
batch, with their records in hand.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Sequence

from cvipsniff.commands.filtering import needs_analysis
from cvipsniff.filter import ENGINE_FIELDS, Filter, MessageFieldSource
from cvipsniff.filter.message_source import ENGINE_KEYS
from cvipsniff.filter.source import key_and_parents
from cvipsniff.filter.values import plain
from cvipsniff.model import Message
from cvipsniff.store import MessageStore
from cvipsniff.tui.session import CaptureSession, Ingested
from dissectors.base import Record

# Every name an engine field answers to (``finding`` for ``finding.rule`` ...).
ENGINE_NAMES = frozenset(name for f in ENGINE_FIELDS for name in key_and_parents(f.key))

_NONE: tuple[()] = ()

# Engine fields read straight from one or two store columns, without building the
# message shell (a Row, a Record, a Message and its context: most of the cost of a
# filter such as ``direction == 1`` over a million messages). The values are those
# MessageFieldSource gives for the same message (cvipsniff.filter.message_source).
_COLUMN_VALUES: dict[str, Callable[[MessageStore, int], Sequence[object]]] = {
    "direction": lambda st, i: [st.direction(i)],
    "protocol": lambda st, i: [st.protocol(i)],
    "kind": lambda st, i: [st.kind(i)],
    "method": lambda st, i: _optional(st.method(i)),
    "response": lambda st, i: [st.is_response(i)],
    "info": lambda st, i: [st.info(i)],
    "length": lambda st, i: [st.length(i)],
    "transport": lambda st, i: [st.transport(i)],
    "message": lambda st, i: [st.number(i)],
    "flow": lambda st, i: [st.flow(i)],
    "ip.src": lambda st, i: [st.src(i)[0]],
    "ip.dst": lambda st, i: [st.dst(i)[0]],
    "ip.addr": lambda st, i: [st.src(i)[0], st.dst(i)[0]],
    "src.port": lambda st, i: [st.src(i)[1]],
    "dst.port": lambda st, i: [st.dst(i)[1]],
}


def _optional(value: object) -> Sequence[object]:
    value = plain(value)
    return _NONE if value is None else [value]


class StoreFieldSource:
    """The fields of the message at store ``index``, for the filter language."""

    __slots__ = ("_context_args", "_full", "_index", "_session", "_shell")

    def __init__(self, session: CaptureSession, index: int) -> None:
        self._session = session
        self._index = index
        self._shell: MessageFieldSource | None = None
        self._full: MessageFieldSource | None = None
        self._context_args: dict | None = None

    def values(self, key: str) -> Sequence[object]:
        column = _COLUMN_VALUES.get(key)
        if column is not None:
            return column(self._session.store, self._index)
        if key in ENGINE_KEYS:
            return self._shell_source().values(key)
        return self._full_source().values(key)

    def has_prefix(self, prefix: str) -> bool:
        if self._shell_source().has_prefix(prefix):
            return True
        if prefix in ENGINE_NAMES:
            return False
        return self._full_source().has_prefix(prefix)

    def _context(self, flow: int) -> dict:
        """The message's flow, transaction and findings, looked up once for both the
        shell and the full source."""
        if self._context_args is None:
            session, index = self._session, self._index
            self._context_args = {
                "flow": session.flow_of(flow),
                "transaction": session.transaction_at(index),
                "findings": session.store.findings_of(index),
                "first_ts_ns": session.first_ts_ns,
            }
        return self._context_args

    def _shell_source(self) -> MessageFieldSource:
        """The message without its bytes or tree: all the engine fields need."""
        if self._shell is None:
            store = self._session.store
            row = store.row(self._index)
            record = Record(protocol=row.protocol, kind=row.kind, info=row.info, txn=row.txn,
                            is_response=row.is_response, method=row.method)
            message = Message(number=row.number, flow=row.flow, direction=row.direction,
                              transport=row.transport, src=row.src, dst=row.dst,
                              frames=store.frames(self._index), ts_ns=row.ts_ns,
                              first_ts_ns=row.ts_ns, offset=0, length=row.length,
                              record=record)
            self._shell = MessageFieldSource(message, **self._context(row.flow))
        return self._shell

    def _full_source(self) -> MessageFieldSource:
        """The message re-dissected from its bytes (the store caches recent ones)."""
        if self._full is None:
            message = self._session.store.message(self._index)
            self._full = MessageFieldSource(message, **self._context(message.flow))
        return self._full


def message_source(session: CaptureSession, message: Message, index: int) -> MessageFieldSource:
    """The source for a message just ingested, from the object the loader delivered."""
    return MessageFieldSource(
        message, flow=session.flow_of(message.flow),
        transaction=session.transaction_at(index),
        findings=session.store.findings_of(index), first_ts_ns=session.first_ts_ns)


class FilterJob:
    """One display filter being evaluated over a session's messages."""

    CHECK_EVERY = 128  # messages between two looks at the clock

    def __init__(self, session: CaptureSession, flt: Filter) -> None:
        self.session = session
        self.filter = flt
        self.matched = array("q")
        self.next = 0  # the first store index not evaluated yet
        self.errors = 0
        # Fields known only once pairing and checks are complete (latency_ms, txn.*,
        # finding.*): a second evaluation is due when loading ends, like tshark -2.
        self.late = needs_analysis(flt)

    @property
    def caught_up(self) -> bool:
        return self.next >= len(self.session.store)

    def _test(self, source) -> bool:
        try:
            return bool(self.filter.matches(source))
        except Exception:  # a filter bug must not stop the UI; count it, match nothing
            self.errors += 1
            return False

    def run(self, budget_s: float) -> bool:
        """Evaluate stored messages for about ``budget_s`` seconds; True once caught up."""
        deadline = time.perf_counter() + budget_s
        end = len(self.session.store)
        session, matched, test = self.session, self.matched, self._test
        index = self.next
        while index < end:
            stop = min(end, index + self.CHECK_EVERY)
            for i in range(index, stop):
                if test(StoreFieldSource(session, i)):
                    matched.append(i)
            index = stop
            if time.perf_counter() >= deadline:
                break
        self.next = index
        return self.caught_up

    def feed(self, ingested: Ingested) -> list[int]:
        """New messages arrived; if the job had caught up, test them from the batch (the
        records are in hand; lean ones, without a tree, only through the store, which
        re-dissects when a tree field is asked for) and return the store indices that
        match."""
        if self.next != ingested.start:
            return []
        found: list[int] = []
        session = self.session
        for offset, message in enumerate(ingested.messages):
            index = ingested.start + offset
            source = (message_source(session, message, index) if ingested.complete
                      else StoreFieldSource(session, index))
            if self._test(source):
                self.matched.append(index)
                found.append(index)
        self.next = ingested.end
        return found

    @property
    def progress(self) -> float:
        total = len(self.session.store)
        return self.next / total if total else 1.0
