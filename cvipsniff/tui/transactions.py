"""A compact table of the capture's transactions, for the UI.

The pairer hands out one :class:`~cvipsniff.analysis.model.Transaction` object per
request (with a :class:`~cvipsniff.analysis.model.MessageRef` per message, its frames
tuple and its method string): about half a kilobyte per transaction, which for a capture
of a million messages is more than everything else the UI holds. So the loader takes the
transactions the pairer created (``Pairer.transactions`` is its output list: the pairer
only appends to it) and this table keeps them as columns once they are *final*; until
then the live object is kept and read.

A transaction is final once its state is no longer ``unanswered``: the pairer settles
(answered, duplicate, orphan, event, oneway) a transaction only after its last answer was
attached, and never touches it again; the ones still open are settled at the flow's end
or by :meth:`~cvipsniff.analysis.engine.Analysis.finish`.

Single writer: only the UI thread calls :meth:`add` and :meth:`settle`. The loader
thread may still be mutating a pending Transaction while it is read here, which is
benign: a state is written after the answers it depends on.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from cvipsniff.analysis.model import ANSWERED, UNANSWERED, Transaction, latency_ms_of
from cvipsniff.analysis.stats import ServiceResponseTimes


@dataclass(slots=True, frozen=True)
class TransactionInfo:
    """One transaction as the UI and the filter see it (the duck type the filter's
    ``latency_ms``, ``txn.state`` and ``txn.id`` fields read)."""

    number: int
    protocol: str
    id: int | str | None
    flow: int
    method: str | None
    state: str
    expects: str
    request: int | None  # message number of the request
    responses: tuple[int, ...]  # message numbers of the answers, in order
    latency_ms: float | None

    @property
    def response(self) -> int | None:
        return self.responses[0] if self.responses else None


class TransactionTable:
    """Transactions by number (1-based, the pairer's numbering), stored as columns."""

    def __init__(self) -> None:
        self._strings: list[object] = []
        self._string_ids: dict[object, int] = {}
        # String ids and counts: 4 bytes ("i") where "l" takes 8 on 64-bit Linux.
        self._protocol = array("i")
        self._id = array("i")
        self._flow = array("q")
        self._method = array("i")
        self._state = array("i")
        self._expects = array("i")
        self._request = array("q")  # 0: none
        self._latency = array("d")  # NaN: none
        self._responses_start = array("q")
        self._responses_count = array("i")
        self._responses_flat = array("q")
        self._pending: dict[int, Transaction] = {}
        self.latest_settled = 0  # bumped whenever a row changes, so views can refresh
        # The last message number the UI has taken (None: no bound). A pending
        # transaction is the loader's live object, and the loader's analysis goes on
        # pairing between two batches: an answer it found in messages the UI has not
        # taken yet is not shown (a details pane built then named the answer without
        # its frame, and stayed so; a snapshot test caught it on a busy machine).
        self.messages_seen: int | None = None

    def __len__(self) -> int:
        return len(self._protocol)

    def _sid(self, value: object) -> int:
        found = self._string_ids.get(value)
        if found is None:
            found = self._string_ids[value] = len(self._strings)
            self._strings.append(value)
        return found

    # ---- writing (UI thread) -----------------------------------------------------------

    def add(self, txn: Transaction) -> None:
        """Append the next transaction the pairer created (numbers must follow on)."""
        if txn.number != len(self) + 1:
            raise ValueError(f"transaction {txn.number} out of order (have {len(self)})")
        sid = self._sid
        self._protocol.append(sid(txn.protocol))
        self._id.append(sid(txn.id))
        self._flow.append(txn.flow)
        self._method.append(sid(txn.method))
        self._state.append(sid(txn.state))
        self._expects.append(sid(txn.expects))
        self._request.append(txn.request.number if txn.request is not None else 0)
        self._latency.append(math.nan)
        self._responses_start.append(len(self._responses_flat))
        self._responses_count.append(0)
        if txn.state == UNANSWERED:
            self._pending[txn.number] = txn
        else:
            self._write(txn)

    def extend(self, txns: list[Transaction]) -> None:
        """:meth:`add` for a batch of transactions, column by column."""
        if not txns:
            return
        first = len(self) + 1
        for offset, txn in enumerate(txns):
            if txn.number != first + offset:
                raise ValueError(f"transaction {txn.number} out of order "
                                 f"(have {first + offset - 1})")
        sid = self._sid
        self._protocol.extend([sid(t.protocol) for t in txns])
        self._id.extend([sid(t.id) for t in txns])
        self._flow.extend([t.flow for t in txns])
        self._method.extend([sid(t.method) for t in txns])
        self._state.extend([sid(t.state) for t in txns])
        self._expects.extend([sid(t.expects) for t in txns])
        self._request.extend([t.request.number if t.request is not None else 0
                              for t in txns])
        self._latency.extend([math.nan] * len(txns))
        self._responses_start.extend([len(self._responses_flat)] * len(txns))
        self._responses_count.extend([0] * len(txns))
        pending = self._pending
        write = self._write
        for txn in txns:
            if txn.state == UNANSWERED:
                pending[txn.number] = txn
            else:
                write(txn)

    def settle(self, everything: bool = False) -> int:
        """Move pending transactions that became final into the columns (all of them at
        the end of the analysis, ``everything``). Returns how many were settled."""
        done = [t for t in self._pending.values() if everything or t.state != UNANSWERED]
        for txn in done:
            self._write(txn)
            del self._pending[txn.number]
        if done:
            self.latest_settled += 1
        return len(done)

    def _write(self, txn: Transaction) -> None:
        row = txn.number - 1
        self._method[row] = self._sid(txn.method)
        self._state[row] = self._sid(txn.state)
        latency = txn.latency_ms
        self._latency[row] = math.nan if latency is None else latency
        if txn.responses:
            self._responses_start[row] = len(self._responses_flat)
            self._responses_flat.extend(ref.number for ref in txn.responses)
            self._responses_count[row] = len(txn.responses)

    # ---- reading -------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._pending)

    def get(self, number: int) -> TransactionInfo | None:
        """Transaction ``number`` (1-based), or None if there is no such transaction."""
        if not 0 < number <= len(self):
            return None
        live = self._pending.get(number)
        if live is not None:
            return self._as_seen(live)
        row = number - 1
        s = self._strings
        start, count = self._responses_start[row], self._responses_count[row]
        latency = self._latency[row]
        return TransactionInfo(
            number, s[self._protocol[row]], s[self._id[row]], self._flow[row],
            s[self._method[row]], s[self._state[row]], s[self._expects[row]],
            self._request[row] or None, tuple(self._responses_flat[start:start + count]),
            None if math.isnan(latency) else latency)

    def _as_seen(self, live: Transaction) -> TransactionInfo:
        """A pending transaction as the messages the UI has taken show it."""
        request = live.request
        responses = list(live.responses)  # one read of a list the loader appends to
        seen = self.messages_seen
        if seen is not None:
            responses = [ref for ref in responses if ref.number <= seen]
        state = live.state
        if state in (UNANSWERED, ANSWERED):
            # Still open for more answers (a broadcast ping, a live stream) but answered
            # already: shown as answered now, not when the capture or the flow ends.
            state = ANSWERED if responses else UNANSWERED
        return TransactionInfo(
            live.number, live.protocol, live.id, live.flow, live.method, state,
            live.expects, request.number if request is not None else None,
            tuple(ref.number for ref in responses), latency_ms_of(request, responses))

    def state_counts(self) -> dict[str, int]:
        """How many transactions are in each state (open ones as ``open``)."""
        counts: dict[int, int] = {}
        for sid in self._state:
            counts[sid] = counts.get(sid, 0) + 1
        out = {str(self._strings[sid]): n for sid, n in counts.items()}
        pending = len(self._pending)
        if pending:
            # Pending rows were counted under the state they had when added.
            out[UNANSWERED] = out.get(UNANSWERED, 0) - pending
            if not out[UNANSWERED]:
                del out[UNANSWERED]
            out["open"] = pending
        return dict(sorted(out.items()))

    def service_response_times(self, cancelled: Callable[[], bool] = lambda: False,
                               ) -> ServiceResponseTimes:
        """Latencies per (protocol, method) of the answered requests, like Wireshark's
        SRT tables; reads the columns only, so it may run in a worker thread."""
        srt = ServiceResponseTimes()
        s = self._strings
        latency, protocol, method, request = (self._latency, self._protocol, self._method,
                                              self._request)
        for row in range(len(latency)):
            if not row & 0xFFFF and cancelled():
                break
            value = latency[row]
            if value == value and request[row]:  # not NaN: answered
                srt.add(str(s[protocol[row]]), s[method[row]], value)  # type: ignore[arg-type]
        for live in list(self._pending.values()):
            value = live.latency_ms
            if value is not None and live.request is not None:
                srt.add(live.protocol, live.method, value)
        return srt
