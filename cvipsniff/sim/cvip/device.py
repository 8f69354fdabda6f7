"""The reference CVIP server, sans-I/O: a unit playing device, NVR or master server.

:class:`Peer` is the unit (its state is shared by every connection); :class:`Session` is
one client connection (its event subscriptions and paging cursors). Bytes in, bytes out:

* ``Session.feed(data) -> list[bytes]``: bytes of a TCP stream; framed messages answered;
* ``Session.handle(message) -> list[bytes]``: one complete message;
* ``Peer.handle_datagram(data) -> list[bytes]``: a UDP datagram (ping only);
* ``Peer.tick() -> [(session, bytes)]``: the unit "detects" its next simulated event and
  notifies every subscribed session (use case "Receive event notification").

How it answers (spec "Acknowledge Response" and "Discover Device"):

* a ping request (message type 0x01) gets a 37-byte ping response echoing the
  transaction number and connection type, on the CVIP port and the common port, TCP or
  UDP; on the common port and over UDP nothing else is answered ("accepts but one
  command ... and ignore everything else");
* a request the unit cannot read (unsupported version, malformed XML, DTDs, unknown
  service or method, missing fields, values outside an enumeration, range or format)
  gets an Invalid acknowledgement; an operation that is well-formed but cannot be done
  (unknown stream, read-only property, not logged in) gets Fail; a firmware update
  while one runs gets Busy;
* acknowledgements of dispatched requests carry the request's ``<methodName>``; those
  of requests that could not be matched to a method carry none;
* answers use the byte order the request came in (a little-endian client is answered
  little-endian), always with version 0x0201;
* nothing raises: bytes that start no header are counted and dropped, a declared size
  beyond the cap is answered Invalid and the connection is closed, and a bug in a
  handler is answered Fail and counted in ``Peer.stats.internal_errors``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cvipsniff.sim.cvip import common, edge, master, nvr
from cvipsniff.sim.cvip.calls import (
    Ack,
    Ctx,
    Data,
    Rejected,
    Reply,
    SessionState,
    bind,
    invalid,
    select_variant,
    struct_of,
)
from cvipsniff.sim.cvip.catalogue import (
    EVENT_GROUPS,
    GENERIC_METHODS,
    ROLES,
    Method,
    Service,
    find_methods,
)
from cvipsniff.sim.cvip.constants import (
    DEFAULT_PORT,
    HEADER_SIZE,
    MSG_TYPE_PING_REQUEST,
    TXN_MASK,
    AckCode,
    EventAckCode,
)
from cvipsniff.sim.cvip.decode import (
    Call,
    DecodeError,
    Garbage,
    Header,
    Message,
    MessageReader,
    Oversized,
    PingRequest,
    is_supported_version,
    parse_body,
    parse_header,
    parse_ping_request,
)
from cvipsniff.sim.cvip.encode import ack, event_notify, frame, method_response, ping_response
from cvipsniff.sim.cvip.unit import Clock, SimulatedEvent, Unit
from cvipsniff.sim.cvip.values import UInt

log = logging.getLogger(__name__)

HANDLERS: dict[common.HandlerKey, common.Handler] = {
    **common.HANDLERS, **edge.HANDLERS, **nvr.HANDLERS, **master.HANDLERS,
}
_GENERIC = {name.casefold(): name for name in GENERIC_METHODS}
_EVENT_ACK_CODES = {
    AckCode.SUCCESS: EventAckCode.SUCCESS,
    AckCode.FAIL: EventAckCode.FAIL,
    AckCode.BUSY: EventAckCode.BUSY,
    AckCode.INVALID: EventAckCode.INVALID,
}


@dataclass(slots=True)
class PeerStats:
    """What the unit has seen; tests assert on it (e.g. no internal errors on fuzz)."""

    requests: int = 0
    pings: int = 0
    ignored: int = 0
    garbage_bytes: int = 0
    events_sent: int = 0
    internal_errors: int = 0
    acks: Counter[int] = field(default_factory=Counter)


class Peer:
    """A simulated unit. ``role`` is ``device``, ``nvr`` or ``master``; ``ip`` and
    ``port`` are what its ping responses advertise; ``clock`` drives event times, uptime
    and modification stamps (inject one for reproducible runs)."""

    def __init__(
        self,
        role: str = "device",
        *,
        seed: int = 1,
        ip: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        clock: Clock | None = None,
        inputs: int = 2,
        encoders: int = 2,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        self.unit = Unit.create(
            role, seed=seed, ip=ip, port=port, clock=clock, inputs=inputs, encoders=encoders
        )
        self.sessions: list[Session] = []
        self.stats = PeerStats()
        self.last_reason = ""

    @property
    def role(self) -> str:
        return self.unit.role

    # --- connections ------------------------------------------------------------------

    def open_session(self, *, common_port: bool = False) -> Session:
        """A new client connection; ``common_port`` makes it the ping-only port 9990."""
        session = Session(self, common_port=common_port)
        self.sessions.append(session)
        return session

    def close_session(self, session: Session) -> None:
        session.closed = True
        if session in self.sessions:
            self.sessions.remove(session)

    def handle_datagram(self, data: bytes, *, common_port: bool = False) -> list[bytes]:
        """A UDP datagram on the CVIP or the common port (``common_port``): either way
        only pings are answered, since everything else travels over TCP."""
        ping = parse_ping_request(data)
        if ping is None:
            self.stats.ignored += 1
            return []
        return [self.answer_ping(ping)]

    def answer_ping(self, ping: PingRequest) -> bytes:
        """The ping response. Status 1 says the unit rebooted since the last request."""
        unit = self.unit
        status = 1 if unit.rebooted else 0
        unit.rebooted = False
        self.stats.pings += 1
        return ping_response(
            ping.header.txn, unit.ip, unit.port, ping.connection_type, unit.guid_raw,
            unit.manufacturer_id, unit.product_type, status,
            little_endian=ping.header.little_endian,
        )

    # --- events -----------------------------------------------------------------------

    def tick(self) -> list[tuple[Session, bytes]]:
        """Detect the next simulated event and notify the sessions subscribed to it."""
        event = self.unit.next_simulated_event()
        return self.raise_event(event.type, event.channel, event.info)

    def raise_event(self, event_type: int, channel: int, info: int) -> list[tuple[Session, bytes]]:
        event_guid, moment = self.unit.record_event(SimulatedEvent(event_type, channel, info))
        out = []
        for session in list(self.sessions):
            if not session.closed and session.wants(event_type, channel):
                out.append((session, session.notification(event_type, channel, moment,
                                                          event_guid, info)))
        self.stats.events_sent += len(out)
        return out


class Session:
    """One client connection to a :class:`Peer`."""

    def __init__(self, peer: Peer, *, common_port: bool = False) -> None:
        self.peer = peer
        self.common_port = common_port
        self.state = SessionState()
        self.reader = MessageReader()
        self.closed = False
        self._txn = 0

    # --- bytes in ---------------------------------------------------------------------

    def feed(self, data: bytes) -> list[bytes]:
        """Bytes from the TCP stream; returns the answers to whatever became complete."""
        if self.closed:
            return []
        out: list[bytes] = []
        for chunk in self.reader.feed(data):
            if isinstance(chunk, Message):
                out += self.handle(chunk.data)
            elif isinstance(chunk, Garbage):
                self.peer.stats.garbage_bytes += len(chunk.data)
            elif isinstance(chunk, Oversized):
                if not self.common_port:
                    self.peer.last_reason = f"declared size {chunk.header.size} beyond the cap"
                    out.append(self._ack_bytes(Ack(AckCode.INVALID), None, chunk.header))
                self.closed = True
        return out

    def handle(self, message: bytes) -> list[bytes]:
        """One complete message (header included); never raises."""
        try:
            return self._handle(message)
        except Exception:  # a bug must not take the unit down; it is counted instead
            log.exception("CVIP peer failed on a %d-byte message", len(message))
            self.peer.stats.internal_errors += 1
            return []

    def _handle(self, message: bytes) -> list[bytes]:
        stats = self.peer.stats
        header = parse_header(message)
        if header is None:
            stats.garbage_bytes += len(message)
            return []
        if header.msg_type == MSG_TYPE_PING_REQUEST:
            ping = parse_ping_request(message)
            if ping is None:
                stats.ignored += 1
                return []
            return [self.peer.answer_ping(ping)]
        if self.common_port:
            stats.ignored += 1
            return []
        stats.requests += 1
        if len(message) != header.size:
            return [self._refuse(header, f"declared size {header.size} but {len(message)} bytes")]
        if not is_supported_version(header):
            return [self._refuse(header, f"unsupported version 0x{header.version:04X}")]
        try:
            document = parse_body(message[HEADER_SIZE:])
        except DecodeError as exc:
            return [self._refuse(header, str(exc))]
        if not isinstance(document, Call):
            stats.ignored += 1  # a client has nothing to answer; a stray response is dropped
            return []
        reply, echo = self._dispatch(document)
        if isinstance(reply, Ack):
            stats.acks[reply.code] += 1
            self.peer.last_reason = reply.reason
        return [self._reply_bytes(reply, echo, header)]

    # --- dispatch ---------------------------------------------------------------------

    def _dispatch(self, call: Call) -> tuple[Reply, str | None]:
        """The reply and the method name an acknowledgement should carry (None when the
        request matched no method)."""
        unit = self.peer.unit
        service_name, _, name = call.method.rpartition(".")
        if not service_name or not name:
            return Ack(AckCode.INVALID, reason=f"no service in {call.method!r}"), None
        if service_name.casefold() == "system":
            system = common.SYSTEM_HANDLERS.get(name.casefold())
            if system is None:
                return Ack(AckCode.INVALID, reason=f"unknown method {call.method}"), None
            return system(unit), call.method
        service = unit.service(service_name)
        if service is None:
            group = _event_group(service_name)
            if group is not None and name.casefold() == "listevents":
                return common.group_list_events(unit, group), call.method
            return Ack(AckCode.INVALID, reason=f"unknown service {service_name}"), None
        variants = find_methods(service.method_family, name, unit.role)
        if variants:
            method = select_variant(variants, call.params)
            return self._call_method(service, method, call), call.method
        generic = _GENERIC.get(name.casefold())
        if generic is None or not _supports(service, generic):
            return Ack(AckCode.INVALID, reason=f"unknown method {call.method}"), None
        try:
            return self._generic(service, generic, call.params), call.method
        except Rejected as rejected:
            return Ack(rejected.code, reason=rejected.reason), call.method

    def _call_method(self, service: Service, method: Method, call: Call) -> Reply:
        ctx = Ctx(self.peer.unit, self.state, service, method, call.params)
        try:
            args = bind(method, call.params)
            handler = HANDLERS[(method.service.casefold(), method.name.casefold(), method.selector)]
            return handler(ctx, args)
        except Rejected as rejected:
            if method.full_name == "cviEvent.ack":  # answered with its own code table
                code = _EVENT_ACK_CODES.get(AckCode(rejected.code), EventAckCode.FAIL)
                self.peer.last_reason = rejected.reason
                return Data(struct_of((("AckReturnCode", UInt(code)),)))
            return Ack(rejected.code, reason=rejected.reason)
        except Exception:
            log.exception("CVIP peer handler %s failed", method.full_name)
            self.peer.stats.internal_errors += 1
            return Ack(AckCode.FAIL, reason="internal error")

    def _generic(self, service: Service, name: str, params: list[Any]) -> Reply:
        unit = self.peer.unit
        if name == "describe":
            return common.service_describe(unit, service)
        if name == "listEvents":
            group = _event_group(service.id)
            return common.group_list_events(unit, group) if group else Data([])
        if name == "listFunctions":
            return common.list_functions(unit, service)
        if name == "listParameters":
            return common.list_parameters(unit, service, params)
        store = unit.properties[service.id.casefold()]
        if name == "listProperties":
            return common.list_properties(unit, store)
        if name == "getProperties":
            return common.get_properties(unit, store, params)
        if name == "setProperties":
            return common.set_properties(unit, store, params)
        raise invalid(f"unknown method {name}")

    # --- bytes out --------------------------------------------------------------------

    def _refuse(self, header: Header, reason: str) -> bytes:
        self.peer.last_reason = reason
        self.peer.stats.acks[AckCode.INVALID] += 1
        return self._ack_bytes(Ack(AckCode.INVALID, reason=reason), None, header)

    def _ack_bytes(self, reply: Ack, echo: str | None, header: Header) -> bytes:
        body = ack(reply.code, method=echo, extra=reply.extra)
        return frame(body, header.txn, response=True, little_endian=header.little_endian)

    def _reply_bytes(self, reply: Reply, echo: str | None, header: Header) -> bytes:
        try:
            if isinstance(reply, Ack):
                return self._ack_bytes(reply, echo, header)
            body = method_response(reply.value)
            return frame(body, header.txn, response=True, little_endian=header.little_endian)
        except (TypeError, ValueError):
            log.exception("CVIP peer could not encode its answer to %s", echo)
            self.peer.stats.internal_errors += 1
            return self._ack_bytes(Ack(AckCode.FAIL), echo, header)

    # --- events -----------------------------------------------------------------------

    def wants(self, event_type: int, channel: int) -> bool:
        return any(
            mask & event_type and (sub_channel in (0, channel) or channel == 0)
            for mask, sub_channel in self.state.subscriptions
        )

    def next_txn(self) -> int:
        """Transaction numbers of the unit's own messages (notifications): 1..0x7FFF,
        wrapping to 1 (NOTES 6: 0 is never used)."""
        self._txn = self._txn % TXN_MASK + 1
        return self._txn

    def notification(
        self, event_type: int, channel: int, moment: datetime, event_guid: str, info: int
    ) -> bytes:
        body = event_notify(event_type, channel, moment, event_guid, info)
        return frame(body, self.next_txn())


def _supports(service: Service, generic: str) -> bool:
    if generic in ("describe", "listEvents"):
        return True
    if generic in ("listFunctions", "listParameters"):
        return service.functions
    return service.properties


def _event_group(name: str) -> str | None:
    folded = name.casefold()
    for group in EVENT_GROUPS:
        if group.casefold() == folded:
            return group
    return None
