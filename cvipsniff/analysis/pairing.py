"""Request/response pairing: messages in, transactions and pairing findings out.

A small state machine per protocol family, fed messages in capture order:

* **CVIP** (TCP): key ``(flow, transaction number)``; a message with the response bit set
  answers the outstanding request with that number in the same flow. ``cviEvent.notify``
  from the server is an *event* transaction, which the client's ack may answer.
* **CVIP ping** (UDP or TCP): key ``(requester endpoint, transaction number)``; a
  broadcast request may be answered by several devices, so it collects many responses.
* **ImageServer**: key ``(flow, requestid)``; what answers a method comes from the
  dissector's spec table (one XML methodresponse, one ImageResponse, a stream for
  ``live``, nothing for an adaptive-streaming-only ``live``). Live packages without a
  requestid join the flow's open ``live`` transaction.

A request whose id is reused while outstanding is closed as *duplicate*; a response no
request explains is an *orphan*; requests still open at the end of the flow (or after a
timeout in live use) are *unanswered*.

Capture limits are not the peers' doing, so they have states of their own, reported as
info findings: a request left unanswered while bytes of the answering direction were lost
after it (a gap whose end comes after the request: the answer may have been in it) is
*answer_lost*; an answer that no request explains, on a flow the capture picked up
mid-session before any request of that flow was captured, is *request_before_capture*.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass

from cvipsniff.analysis.model import (
    ANSWER_LOST,
    ANSWERED,
    DUPLICATE,
    EVENT,
    ONEWAY,
    ORPHAN,
    REQUEST_BEFORE_CAPTURE,
    UNANSWERED,
    Finding,
    MessageRef,
    Transaction,
)
from cvipsniff.analysis.rules import CATALOGUE
from cvipsniff.analysis.txnlog import TransactionLog
from cvipsniff.model import Message

# What answers an ImageServer request: "xml", "image", "stream" or "none".
AnswerKind = Callable[[Message], str]


@dataclass(slots=True)
class _Open:
    txn: Transaction
    answer: str  # expected answer kind ("xml", "image", "stream", "any", "many", "unknown")
    duplicate: bool = False  # reused an id that was still outstanding
    answer_dir: int = -1  # the flow direction the answer travels (-1: any, e.g. pings)


class TransactionIndex:
    """Message number → transaction number, 8 bytes a message: messages are numbered
    densely in capture order, so an array indexed by number replaces a dict (about 100
    bytes an entry), and a report's memory grows far less with the capture. A number far
    past the others (never from the pipeline) goes to a dict rather than growing the
    array to it."""

    __slots__ = ("_sparse", "numbers")

    _MAX_STRIDE = 1 << 20

    def __init__(self) -> None:
        # Per message number, its transaction's (0: none; transactions count from 1).
        # Public for the pairer's inline append of the next message's.
        self.numbers = array("Q")
        self._sparse: dict[int, int] = {}

    def __setitem__(self, message_number: int, transaction: int) -> None:
        numbers = self.numbers
        if message_number == len(numbers):  # the usual case: the next message
            numbers.append(transaction)
            return
        missing = message_number + 1 - len(numbers)
        if missing > self._MAX_STRIDE or message_number < 0:
            self._sparse[message_number] = transaction
            return
        if missing > 0:
            numbers.frombytes(bytes(missing * numbers.itemsize))
        numbers[message_number] = transaction

    def get(self, message_number: int) -> int | None:
        if 0 <= message_number < len(self.numbers):
            found = self.numbers[message_number]
            if found:
                return found
        return self._sparse.get(message_number) if self._sparse else None


class Pairer:
    """Feed messages in order; read ``transactions`` and collect pairing findings."""

    def __init__(self, imageserver_answer: AnswerKind | None = None,
                 keep_transactions: bool = True,
                 spill_above: int | None = -1) -> None:
        """``spill_above``: settled transactions beyond this many in memory go to a
        temporary file (:mod:`.txnlog`; negative: its default); None keeps them all as
        objects."""
        self._imageserver_answer = imageserver_answer or (lambda msg: "xml")
        self.keep_transactions = keep_transactions
        self.transactions = TransactionLog(spill_above=spill_above)
        self.count = 0
        self.states: dict[str, int] = {}
        # Outstanding requests by key, oldest first: a duplicate id queues behind the
        # earlier request, and answers are taken first-in, first-out.
        self._open: dict[tuple, list[_Open]] = {}
        # Told each key as it is added to ``_open``, where given: a split's worker notes
        # where in the capture each was opened (cvipsniff.split_analysis), as the end of
        # the analysis settles them in that order. A call at an opening only, where a
        # dict subclass watching ``_open`` put every operation on it through Python.
        self.on_open: Callable[[tuple], None] | None = None
        # Per flow, its keys in ``_open`` in the order they were added (a dict as an
        # ordered set): a closing flow settles them in that order, the same in every run
        # and whoever numbers the flow (a set's order follows the keys' hashes, which
        # change with the interpreter's string hashing and with the flow's id).
        self._flow_keys: dict[int, dict[tuple, None]] = {}
        self._live: dict[int, Transaction] = {}  # flow → open ImageServer live stream
        self._by_message = TransactionIndex()  # message number → transaction number
        # Capture limits: per (flow, direction) the frame after its latest gap, and the
        # flows some request of which was captured.
        self._gaps: dict[tuple[int, int], int] = {}
        self._requested: set[int] = set()

    # ---- public API ----------------------------------------------------------------

    def feed(self, msg: Message) -> list[Finding]:
        """Pair one message; return the findings this message settles."""
        if self.transactions.wants_spill():  # between messages: no handler is mid-way
            self.transactions.spill(self._held())
        proto = msg.record.protocol
        if proto == "cvip":
            return self._cvip(msg)
        if proto == "cvip-ping":
            return self._ping(msg)
        if proto == "imageserver":
            return self._imageserver(msg)
        return []

    def gap(self, flow: int, direction: int, frame: int) -> None:
        """Bytes of a flow direction were lost from the capture, up to ``frame`` (the
        frame after the hole): an answer expected there may have been among them."""
        key = (flow, direction)
        if frame > self._gaps.get(key, 0):
            self._gaps[key] = frame

    def close_flow(self, flow: int) -> list[Finding]:
        """The flow ended: its outstanding requests are unanswered (or their answer lost)."""
        findings: list[Finding] = []
        for key in self._flow_keys.pop(flow, ()):
            for entry in self._open.pop(key, ()):
                findings.extend(self._settle_unanswered(entry))
        self._live.pop(flow, None)
        self._gaps.pop((flow, 0), None)
        self._gaps.pop((flow, 1), None)
        self._requested.discard(flow)
        return findings

    def expire(self, now_ns: int, timeout_ns: int) -> list[Finding]:
        """Live use: requests older than ``timeout_ns`` become unanswered findings now."""
        findings: list[Finding] = []
        for key, queue in list(self._open.items()):
            keep = []
            for entry in queue:
                req = entry.txn.request
                if req is not None and now_ns - req.ts_ns >= timeout_ns \
                        and not entry.txn.responses:
                    findings.extend(self._settle_unanswered(entry))
                else:
                    keep.append(entry)
            if keep:
                self._open[key] = keep
            else:
                self._drop(key)
        return findings

    def finish(self) -> list[Finding]:
        """End of analysis: everything still open is settled."""
        findings: list[Finding] = []
        for queue in self._open.values():
            for entry in queue:
                findings.extend(self._settle_unanswered(entry))
        self._open.clear()
        self._flow_keys.clear()
        self._live.clear()
        return findings

    # ---- the outstanding-request queues -----------------------------------------------

    def _push(self, key: tuple, entry: _Open) -> None:
        queue = self._open.get(key)
        if queue is None:
            self._open[key] = [entry]
            if self.on_open is not None:
                self.on_open(key)
        else:
            queue.append(entry)
        if key[0] == "flow":
            self._flow_keys.setdefault(key[1], {})[key] = None

    def _head(self, key: tuple) -> _Open | None:
        queue = self._open.get(key)
        return queue[0] if queue else None

    def _pop_head(self, key: tuple) -> _Open | None:
        queue = self._open.get(key)
        if not queue:
            return None
        entry = queue.pop(0)
        if not queue:
            self._drop(key)
        return entry

    def _drop(self, key: tuple) -> None:
        self._open.pop(key, None)
        if key[0] == "flow":
            keys = self._flow_keys.get(key[1])
            if keys is not None:
                keys.pop(key, None)

    def _held(self) -> set[int]:
        """Numbers of the transactions that may still change: outstanding requests and
        open live streams (everything else is settled for good)."""
        held = {entry.txn.number for queue in self._open.values() for entry in queue}
        held.update(txn.number for txn in self._live.values())
        return held

    def transaction_of(self, message_number: int) -> int | None:
        return self._by_message.get(message_number)


    # ---- bookkeeping -----------------------------------------------------------------

    def _new(self, msg: Message, protocol: str, state: str, *, request: bool,
             expects: str = "one") -> Transaction:
        self.count += 1
        ref = MessageRef.of(msg)
        # Positional, in Transaction's field order (number, protocol, id, flow, method,
        # state, request, responses, expects): every transaction is made here. The method
        # is the reference's shared copy of the name.
        txn = Transaction(self.count, protocol, msg.record.txn, msg.flow, ref.method, state,
                          ref if request else None, [] if request else [ref], expects)
        if self.keep_transactions:
            self.transactions.append(txn)
        if request and state != EVENT:
            self._requested.add(msg.flow)
        numbers = self._by_message.numbers
        if msg.number == len(numbers):  # TransactionIndex's usual case, inline
            numbers.append(txn.number)
        else:
            self._by_message[msg.number] = txn.number
        if state != UNANSWERED:  # pending ones are counted when settled
            self.states[state] = self.states.get(state, 0) + 1
        return txn

    def _settle(self, txn: Transaction, state: str) -> None:
        txn.state = state
        self.states[state] = self.states.get(state, 0) + 1

    def _answer(self, entry: _Open, msg: Message) -> None:
        txn = entry.txn
        txn.responses.append(MessageRef.of(msg))
        numbers = self._by_message.numbers
        if msg.number == len(numbers):  # TransactionIndex's usual case, inline
            numbers.append(txn.number)
        else:
            self._by_message[msg.number] = txn.number

    def _settle_unanswered(self, entry: _Open) -> list[Finding]:
        txn = entry.txn
        if txn.state == EVENT:
            return []  # an event nobody acknowledged: the event itself is the record
        if txn.responses:
            self._settle(txn, DUPLICATE if entry.duplicate else ANSWERED)
            return []
        if entry.duplicate:
            self._settle(txn, DUPLICATE)
            return []  # already reported as a duplicate
        req = txn.request
        if req is not None and entry.answer_dir >= 0 \
                and self._gaps.get((txn.flow, entry.answer_dir), 0) > max(req.frames, default=0):
            self._settle(txn, ANSWER_LOST)
            return [Finding(
                rule=_UNANSWERED_RULES[txn.protocol][0].replace("unanswered", "answer_lost"),
                severity="info",
                message=f"{txn.method or txn.protocol} request id={txn.id}: no answer "
                "captured, and bytes of the answering side were lost after it (a capture "
                "gap, not the peer's doing)",
                spec=_UNANSWERED_RULES[txn.protocol][1], frames=list(req.frames),
                transaction=txn.number, message_number=req.number, flow=txn.flow,
                protocol=txn.protocol)]
        self._settle(txn, UNANSWERED)
        if entry.answer == "unknown":
            return []  # the spec does not say a method it lacks gets an answer
        rule, spec = _UNANSWERED_RULES[txn.protocol]
        return [Finding(
            rule=rule, severity=CATALOGUE[rule].severity,
            message=f"{txn.method or txn.protocol} request id={txn.id} was never answered",
            spec=spec, frames=list(req.frames) if req else [], transaction=txn.number,
            message_number=req.number if req else None, flow=txn.flow, protocol=txn.protocol,
        )]

    def _orphan(self, msg: Message, protocol: str, rule: str, spec: str) -> list[Finding]:
        if msg.mid_session and msg.flow not in self._requested and protocol != "cvip-ping":
            txn = self._new(msg, protocol, REQUEST_BEFORE_CAPTURE, request=False)
            return [Finding(
                rule=f"{protocol}.txn.request_before_capture", severity="info",
                message=f"{msg.record.kind} id={msg.record.txn} answers a request sent "
                "before the capture began (the flow was picked up mid-session)",
                spec=spec, frames=list(msg.frames), transaction=txn.number,
                message_number=msg.number, flow=msg.flow, protocol=protocol,
            )]
        txn = self._new(msg, protocol, ORPHAN, request=False)
        return [Finding(
            rule=rule, severity=CATALOGUE[rule].severity,
            message=f"{msg.record.kind} id={msg.record.txn} answers no outstanding request",
            spec=spec, frames=list(msg.frames), transaction=txn.number,
            message_number=msg.number, flow=msg.flow, protocol=protocol,
        )]

    def _duplicate(self, old: _Open, msg: Message, rule: str, spec: str) -> Finding:
        frames = list(old.txn.request.frames) if old.txn.request else []
        return Finding(
            rule=rule, severity=CATALOGUE[rule].severity,
            message=f"id={msg.record.txn} reused by a new {msg.record.method or 'request'} "
            "while the earlier request was still outstanding",
            spec=spec, frames=frames + list(msg.frames), transaction=old.txn.number,
            message_number=msg.number, flow=msg.flow, protocol=old.txn.protocol,
        )

    # ---- CVIP --------------------------------------------------------------------------

    def _cvip(self, msg: Message) -> list[Finding]:
        rec = msg.record
        if rec.txn is None:
            return []
        if rec.kind == "event":
            # cviEvent.notify: the one message a server originates; the spec names no
            # answer to it (cviEvent.ack is a request of its own).
            self._new(msg, "cvip", EVENT, request=True, expects="none")
            return []
        flow = msg.flow
        key = ("flow", flow, "cvip", rec.txn)
        # (The queue operations of _head, _push and _pop_head inline: every CVIP message
        # passes here, and the calls were a third of its pairing.)
        queue = self._open.get(key)
        if not rec.is_response:
            findings: list[Finding] = []
            old = queue[0] if queue else None
            txn = self._new(msg, "cvip", UNANSWERED, request=True)
            if old is not None:
                findings.append(self._duplicate(old, msg, "cvip.txn.duplicate", CVIP_TXN_SPEC))
                findings[-1].transaction = txn.number
            entry = _Open(txn, "any", old is not None, 1 - msg.direction)
            if queue is None:
                self._open[key] = [entry]
                if self.on_open is not None:
                    self.on_open(key)
                keys = self._flow_keys.get(flow)
                if keys is None:
                    self._flow_keys[flow] = {key: None}
                else:
                    keys[key] = None
            else:
                queue.append(entry)
            return findings
        if not queue:
            return self._orphan(msg, "cvip", "cvip.txn.orphan_response", CVIP_TXN_SPEC)
        entry = queue.pop(0)
        if not queue:
            self._drop(key)
        txn = entry.txn
        self._answer(entry, msg)
        state = DUPLICATE if entry.duplicate else ANSWERED
        txn.state = state
        states = self.states
        states[state] = states.get(state, 0) + 1
        findings = []
        req_method = txn.method
        if rec.method and req_method and not _same_cvip_method(rec.method, req_method):
            findings.append(Finding(
                rule="cvip.txn.method_mismatch", severity="error",
                message=f"response names {rec.method!r} but answers a {req_method!r} request",
                spec=CVIP_ACK_SPEC, frames=list(msg.frames), transaction=txn.number,
                message_number=msg.number, flow=msg.flow, protocol="cvip",
            ))
        return findings

    # ---- CVIP ping -----------------------------------------------------------------------

    def _ping(self, msg: Message) -> list[Finding]:
        rec = msg.record
        if rec.txn is None:
            return []
        if not rec.is_response:
            key = ("ping", msg.src, rec.txn)
            findings: list[Finding] = []
            # A ping collects answers until the same requester reuses the number: a
            # re-sent ping (a retry) starts a new collection.
            old = self._pop_head(key)
            if old is not None:
                findings.extend(self._settle_unanswered(old))
            txn = self._new(msg, "cvip-ping", UNANSWERED, request=True, expects="many")
            # Over TCP the answers come back on the request's flow (a gap there may
            # hold them); over UDP from anywhere.
            self._push(key, _Open(txn, "many", answer_dir=1 - msg.direction
                                  if msg.transport == "tcp" else -1))
            return findings
        key = ("ping", msg.dst, rec.txn)
        entry = self._head(key)
        if entry is None:
            return self._orphan(msg, "cvip-ping", "cvip.txn.orphan_response", CVIP_PING_SPEC)
        self._answer(entry, msg)
        return []

    # ---- ImageServer ---------------------------------------------------------------------

    def _imageserver(self, msg: Message) -> list[Finding]:
        rec = msg.record
        if rec.kind == "request":
            return self._is_request(msg)
        if rec.kind == "livepackage" and rec.txn is None:
            live = self._live.get(msg.flow)
            if live is None:
                txn = self._new(msg, "imageserver", EVENT, request=False)
                txn.method = "livepackage"
                return []
            live.responses.append(MessageRef.of(msg))
            self._by_message[msg.number] = live.number
            return []
        if not rec.is_response:
            return []
        key = ("flow", msg.flow, "imageserver", rec.txn)
        findings: list[Finding] = []
        if rec.txn is None and rec.kind in ("response", "imageresponse"):
            by_order = self._is_by_order(msg)
            if by_order is not None:
                key = by_order
                findings.append(self._paired_by_order(msg, key))
        entry = self._head(key)
        if entry is None:
            live = self._live.get(msg.flow)
            if live is not None and rec.kind in ("imageresponse", "livepackage"):
                live.responses.append(MessageRef.of(msg))
                self._by_message[msg.number] = live.number
                return []
            return self._orphan(msg, "imageserver", "imageserver.txn.orphan_response",
                                IS_SPEC)
        got = "xml" if rec.kind == "response" else "image"
        expected = entry.answer
        if expected in ("xml", "image") and got != expected:
            findings.append(Finding(
                rule="imageserver.txn.wrong_answer_kind", severity="error",
                message=f"{entry.txn.method} is answered by "
                f"{'an ImageResponse' if expected == 'image' else 'an XML methodresponse'}, "
                f"not {'an XML methodresponse' if got == 'xml' else 'an ImageResponse'}",
                spec=IS_SPEC, frames=list(msg.frames), transaction=entry.txn.number,
                message_number=msg.number, flow=msg.flow, protocol="imageserver",
            ))
        if rec.kind == "response" and rec.method and entry.txn.method \
                and rec.method != entry.txn.method:
            findings.append(Finding(
                rule="imageserver.txn.methodname_mismatch", severity="error",
                message=f"response methodname {rec.method!r} differs from the request's "
                f"{entry.txn.method!r}",
                spec=IS_SPEC, frames=list(msg.frames), transaction=entry.txn.number,
                message_number=msg.number, flow=msg.flow, protocol="imageserver",
            ))
        self._answer(entry, msg)
        if expected != "stream":
            self._pop_head(key)
            self._settle(entry.txn, DUPLICATE if entry.duplicate else ANSWERED)
        return findings

    def _is_by_order(self, msg: Message) -> tuple | None:
        """An answer without requestid (DECISIONS.md of the ImageServer dissector, item
        28): the key of the oldest outstanding request on its flow that this kind of
        answer can answer (an XML methodresponse: one naming the same method; an
        ImageResponse: one answered by an image). Live streams take image pushes as
        before."""
        rec = msg.record
        want = "xml" if rec.kind == "response" else "image"
        best: tuple[int, tuple] | None = None
        for key in self._flow_keys.get(msg.flow, ()):
            if key[2] != "imageserver":
                continue
            head = self._head(key)
            if head is None or head.answer not in (want, "unknown"):
                continue
            if want == "xml" and rec.method and head.txn.method != rec.method:
                continue
            if best is None or head.txn.number < best[0]:
                best = (head.txn.number, key)
        return best[1] if best is not None else None

    def _paired_by_order(self, msg: Message, key: tuple) -> Finding:
        entry = self._head(key)
        number = entry.txn.number if entry is not None else None
        what = "methodresponse" if msg.record.kind == "response" else "ImageResponse"
        return Finding(
            rule="imageserver.txn.paired_by_order", severity="info",
            message=f"{what} without requestid paired by method and order with the "
            f"oldest outstanding request (id={key[3]})",
            spec=IS_SPEC, frames=list(msg.frames), transaction=number,
            message_number=msg.number, flow=msg.flow, protocol="imageserver")

    def _is_request(self, msg: Message) -> list[Finding]:
        rec = msg.record
        answer = self._imageserver_answer(msg)
        key = ("flow", msg.flow, "imageserver", rec.txn)
        findings: list[Finding] = []
        old = self._head(key)
        duplicate = False
        if old is not None:
            if old.answer == "stream" and old.txn.responses:
                self._pop_head(key)  # a running live stream restarted with its id
                self._settle(old.txn, ANSWERED)
            else:
                duplicate = True
        if answer == "none":
            self._new(msg, "imageserver", ONEWAY, request=True, expects="none")
            return findings
        txn = self._new(msg, "imageserver", UNANSWERED, request=True,
                        expects="many" if answer == "stream" else "one")
        if duplicate and old is not None:
            findings.append(self._duplicate(old, msg, "imageserver.txn.duplicate", IS_SPEC))
            findings[-1].transaction = txn.number
        self._push(key, _Open(txn, answer, duplicate=duplicate, answer_dir=1 - msg.direction))
        if answer == "stream":
            previous = self._live.get(msg.flow)
            if previous is not None and previous is not txn:
                prev_key = ("flow", msg.flow, "imageserver", previous.id)
                queue = self._open.get(prev_key, [])
                for prev in [e for e in queue if e.txn is previous]:
                    queue.remove(prev)
                    self._settle(prev.txn, ANSWERED if prev.txn.responses else UNANSWERED)
                if not queue:
                    self._drop(prev_key)
            self._live[msg.flow] = txn
        return findings


def _same_cvip_method(response: str, request: str) -> bool:
    """The spec's acks may name the method (NOTES 7) with varying case of service names
    (``cviPTZ`` vs ``cviPtz``); compare without case."""
    return response == request or response.lower() == request.lower()


CVIP_TXN_SPEC = "CVIPv2 §2 CVIPv2 Message Header (transaction number)"
CVIP_ACK_SPEC = "CVIPv2 Acknowledge Response"
CVIP_PING_SPEC = "CVIPv2 CVIP Ping Request / Ping Response"
IS_SPEC = "ImageServer: List of Requests and their Responses"

_UNANSWERED_RULES = {
    "cvip": ("cvip.txn.unanswered", CVIP_TXN_SPEC),
    "cvip-ping": ("cvip.ping.unanswered", CVIP_PING_SPEC),
    "imageserver": ("imageserver.txn.unanswered", IS_SPEC),
}
