"""Scenarios with deliberately broken CVIP messages, for conformance tests.

Each broken message lists in ``truth.violations`` exactly the rule ids (docs/RULES.md)
it breaks, and is built so it breaks nothing else: everything around it is a clean
exchange with a real in-process unit, and risky breakage (a version or byte order a
framer may not follow) gets a TCP connection of its own so it cannot spill over.

Readings these truths rely on (the dissector and the conformance engine should agree):

* request or response is told by the XML (methodCall / methodResponse), so a request
  with the response bit set is still a request, and an acknowledgement with the bit
  clear is still a response, each breaking only ``cvip.header.response_bit``;
* outstanding requests with one transaction number are answered in order (FIFO), so a
  duplicate number breaks ``cvip.txn.duplicate`` on the second request only;
* ``cvip.ping.length`` judges the bytes a ping has, ``cvip.header.size_mismatch`` the
  declared size against them: a 16-byte ping declaring 20 breaks only the latter;
* a malformed XML body is one whose last closing tag is missing, so a recovering parser
  still sees the whole methodCall/methodResponse and nothing else is wrong;
* acknowledgements of requests the unit could not match to a method (malformed XML,
  unknown service or method) carry no methodName, so they cannot mismatch;
* a wrong protocol version is shown on a UDP ping: in a TCP stream, bytes that do not
  start with a known version cannot be told from garbage, so a framer skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cvipsniff.sim.cvip.clientproto import classify
from cvipsniff.sim.cvip.constants import HEADER_SIZE, AckCode, ConnectionType, EventType
from cvipsniff.sim.cvip.decode import Response, parse_body, parse_header
from cvipsniff.sim.cvip.device import Peer
from cvipsniff.sim.cvip.encode import ack, event_notify, frame, method_call, ping_request
from cvipsniff.sim.cvip.inprocess import Recorder, TcpChannel
from cvipsniff.sim.cvip.script import CLIENT_GUID
from cvipsniff.sim.cvip.unit import md5_hex
from cvipsniff.sim.cvip.values import Struct, UInt
from cvipsniff.sim.transcript import Scenario

CLIENT_IP = "192.0.2.100"
DEVICE_IP = "192.0.2.10"
NVR_IP = "192.0.2.20"
MASTER_IP = "192.0.2.30"
ABSENT_IP = "192.0.2.99"  # no unit lives here
UNKNOWN_ACK_CODE = 0x010000FF


# --- byte surgery ---------------------------------------------------------------------


def reheader(data: bytes, *, response: bool | None = None, size: int | None = None) -> bytes:
    """The same message with header fields replaced (byte order and the rest kept)."""
    header = parse_header(data)
    if header is None:
        raise ValueError("no CVIP header to rewrite")
    return frame(
        data[HEADER_SIZE:], header.txn,
        response=header.response if response is None else response,
        msg_type=header.msg_type, version=header.version,
        little_endian=header.little_endian, size=size,
    )


def drop_last_close(data: bytes) -> bytes:
    """Malformed XML: the message without the closing tag of its root element."""
    cut = data.rindex(b"</")
    return reheader(data[:cut], size=cut)


def _with_ack(data: bytes, code: int, method: str | None) -> bytes:
    header = parse_header(data)
    assert header is not None
    return frame(ack(code, method=method), header.txn, response=True)


# --- building blocks ------------------------------------------------------------------


class _Builder:
    """One violation scenario: a recorder and the units it talks to."""

    def __init__(self, name: str, description: str, seed: int) -> None:
        self.rec = Recorder(name, description, seed)
        self.seed = seed
        self.units: dict[str, Peer] = {}

    def unit(self, role: str, ip: str) -> Peer:
        if role not in self.units:
            self.units[role] = Peer(role, seed=self.seed, ip=ip, clock=self.rec.clock)
        return self.units[role]

    def tcp(self, role: str, ip: str) -> TcpChannel:
        client = (CLIENT_IP, self.rec.ephemeral_port())
        return TcpChannel(self.rec, self.unit(role, ip), client, (ip, 7110))

    def roundtrip(
        self,
        ch: TcpChannel,
        data: bytes,
        *,
        violations: Iterable[str] = (),
        answer_violations: Iterable[str] = (),
        mutate: Callable[[bytes], bytes] | None = None,
        drop: bool = False,
        answer_kind: str | None = None,
        **truth: Any,
    ) -> list[bytes]:
        """Send ``data``, record the unit's answers (changed by ``mutate``, or dropped;
        ``answer_kind`` says what an answer is when its bytes no longer do)."""
        answers = ch.send(data, violations=violations, **truth)
        t = self.rec.now
        if not drop:
            for answer in answers:
                t = ch.answer(mutate(answer) if mutate else answer,
                              violations=answer_violations, kind=answer_kind)
                self.rec.now = t
        self.rec.now = round(t + self.rec.think(), 3)
        return answers

    def call(self, ch: TcpChannel, method: str, *params: Any, **kw: Any) -> list[bytes]:
        _, data = ch.conn.call(method, *params)
        return self.roundtrip(ch, data, **kw)

    def next_event(self, ch: TcpChannel) -> bytes:
        """Let the unit's simulated detector run until ``ch`` is notified."""
        for _ in range(64):
            self.rec.advance(120.0, 900.0)
            for session, data in ch.peer.tick():
                if session is ch.session:
                    return data
        raise RuntimeError("no event reached the subscribed session")

    def finish(self) -> Scenario:
        return self.rec.finish()


def _ping_exchange(b: _Builder, request: bytes, *, client: tuple[str, int], unit: Peer | None,
                   target: str, violations: Iterable[str] = (),
                   mutate: Callable[[bytes], bytes] | None = None,
                   answer_violations: Iterable[str] = ()) -> None:
    rec = b.rec
    conv = rec.conversation("udp", client, (target, 7110))
    rec.record(conv, 0, request, violations=violations)
    t = rec.now
    answers = unit.handle_datagram(request) if unit is not None else []
    for answer in answers:
        t = round(rec.now + rec.latency(), 3)
        rec.record(conv, 1, mutate(answer) if mutate else answer, t_ms=t,
                   violations=answer_violations)
    rec.now = round(t + rec.think(), 3)


# --- the scenarios --------------------------------------------------------------------


def _header(seed: int) -> Scenario:
    b = _Builder("cvip-violations-header",
                 "Header faults: wrong version (on a UDP ping), little-endian header, response "
                 "bit set on a request and clear on an acknowledgement", seed)
    # Over UDP: on TCP a framer cannot tell version bytes it does not know from garbage.
    client = (CLIENT_IP, b.rec.ephemeral_port())
    request = ping_request(b.rec.first_txn(), CLIENT_IP, client[1],
                           ConnectionType.UDP_UNICAST, version=0x0202)
    _ping_exchange(b, request, client=client, unit=b.unit("device", DEVICE_IP),
                   target=DEVICE_IP, violations=["cvip.header.version"])

    ch = b.tcp("device", DEVICE_IP)
    data = frame(method_call("system.describe"), ch.conn.next_txn(), little_endian=True)
    b.roundtrip(ch, data, violations=["cvip.header.byte_order"],
                answer_violations=["cvip.header.byte_order"])
    ch.close()

    ch = b.tcp("device", DEVICE_IP)
    b.call(ch, "system.describe")
    data = frame(method_call("cviStream.list", {"GUID": CLIENT_GUID}), ch.conn.next_txn(),
                 response=True)
    b.roundtrip(ch, data, violations=["cvip.header.response_bit"])
    display = {"GUID": CLIENT_GUID, "major": UInt(1), "minor": UInt(1), "mediatype": UInt(1),
               "persistent": False, "srcIp": DEVICE_IP, "srcPort": UInt(5004),
               "srcTransport": "UDP"}
    b.call(ch, "cviDisplay.create", display,
           mutate=lambda a: reheader(a, response=False),
           answer_violations=["cvip.header.response_bit"])
    b.call(ch, "cviDisplay.delete", {"GUID": CLIENT_GUID, "major": UInt(1), "minor": UInt(1)})
    ch.close()
    return b.finish()


def _ping(seed: int) -> Scenario:
    b = _Builder("cvip-violations-ping",
                 "Ping faults: size mismatch, wrong ping lengths, unknown connection type, "
                 "a ping no unit answers", seed)
    device = b.unit("device", DEVICE_IP)
    txn = b.rec.first_txn()

    def ping(extra: bytes = b"", size: int | None = None) -> tuple[bytes, tuple[str, int]]:
        nonlocal txn
        txn += 1
        client = (CLIENT_IP, b.rec.ephemeral_port())
        unicast = ConnectionType.UDP_UNICAST
        return ping_request(txn, CLIENT_IP, client[1], unicast, extra=extra, size=size), client

    request, client = ping()
    _ping_exchange(b, request, client=client, unit=device, target=DEVICE_IP)
    request, client = ping(size=20)
    _ping_exchange(b, request, client=client, unit=device, target=DEVICE_IP,
                   violations=["cvip.header.size_mismatch"])
    request, client = ping(extra=b"\x00")
    _ping_exchange(b, request, client=client, unit=device, target=DEVICE_IP,
                   violations=["cvip.ping.length"])
    request, client = ping()
    _ping_exchange(b, request, client=client, unit=device, target=DEVICE_IP,
                   mutate=lambda a: reheader(a + b"\x00", size=len(a) + 1),
                   answer_violations=["cvip.ping.length"])
    request, client = ping()
    _ping_exchange(b, request, client=client, unit=device, target=DEVICE_IP,
                   mutate=lambda a: a[:15] + b"\x07" + a[16:],
                   answer_violations=["cvip.ping.connection_type"])
    request, client = ping()
    _ping_exchange(b, request, client=client, unit=None, target=ABSENT_IP,
                   violations=["cvip.ping.unanswered"])
    return b.finish()


def _pairing(seed: int) -> Scenario:
    b = _Builder("cvip-violations-pairing",
                 "Pairing faults: an orphan response, a duplicate transaction number, an "
                 "unanswered request, a response naming another method, an unknown ack code",
                 seed)
    ch = b.tcp("device", DEVICE_IP)
    b.call(ch, "system.describe")
    orphan = frame(ack(AckCode.SUCCESS), 0x7F00, response=True)
    b.rec.now = ch.answer(orphan, after=0.0, violations=["cvip.txn.orphan_response"])
    b.rec.advance(2.0, 9.0)
    # Two requests with one number, both outstanding, answered in order.
    txn = ch.conn.next_txn()
    data = frame(method_call("cviStream.list", {"GUID": CLIENT_GUID}), txn)
    first = ch.send(data)
    b.rec.advance(0.2, 0.6)
    second = ch.send(data, violations=["cvip.txn.duplicate"])
    for answer in (*first, *second):
        b.rec.now = ch.answer(answer)
    b.rec.advance(2.0, 9.0)
    b.call(ch, "cviDisplay.list", drop=True, violations=["cvip.txn.unanswered"])
    b.call(ch, "system.describe")
    display = {"GUID": CLIENT_GUID, "major": UInt(2), "minor": UInt(1), "mediatype": UInt(1),
               "persistent": False, "srcIp": DEVICE_IP, "srcPort": UInt(5006),
               "srcTransport": "UDP"}
    b.call(ch, "cviDisplay.create", display)
    b.call(ch, "cviDisplay.delete", {"GUID": CLIENT_GUID, "major": UInt(2), "minor": UInt(1)},
           mutate=lambda a: _with_ack(a, AckCode.SUCCESS, "cviDisplay.create"),
           answer_violations=["cvip.txn.method_mismatch"])
    b.call(ch, "cviPtz.setProperties",
           {"PtzID": UInt(1), "ProtocolType": UInt(1), "UserPriority": UInt(0)},
           mutate=lambda a: _with_ack(a, UNKNOWN_ACK_CODE, "cviPtz.setProperties"),
           answer_violations=["cvip.ack.unknown_code"])
    ch.close()
    return b.finish()


def _xml(seed: int) -> Scenario:
    b = _Builder("cvip-violations-xml",
                 "Body faults: malformed XML in a request and a response, an unknown service, "
                 "an unknown method", seed)
    ch = b.tcp("device", DEVICE_IP)
    data = drop_last_close(frame(method_call("cviStream.list", {"GUID": CLIENT_GUID}),
                                 ch.conn.next_txn()))
    b.roundtrip(ch, data, violations=["cvip.xml.malformed"], kind="request",
                method="cviStream.list", is_response=False)
    b.call(ch, "system.listServices", mutate=drop_last_close, answer_kind="response",
           answer_violations=["cvip.xml.malformed"])
    b.call(ch, "cviTeleport.describe", violations=["cvip.method.unknown_service"])
    # On a service without custom functions: on one with them (cviStream), an unknown
    # name may be a custom function and is not a clear violation.
    b.call(ch, "cviNetwork.restart", violations=["cvip.method.unknown_method"])
    b.call(ch, "system.describe")
    ch.close()
    return b.finish()


def _notify_with_time(data: bytes, stamp: str) -> bytes:
    """The same notification with its Time replaced."""
    header = parse_header(data)
    call = classify(data)
    assert header is not None and hasattr(call, "call")
    fields: Struct = call.call.params[0]  # type: ignore[union-attr]
    body = event_notify(int(fields.get("Type")), int(fields.get("Id")), stamp,
                        str(fields.get("EventGUID")), int(fields.get("info")))
    return frame(body, header.txn)


def _fields(seed: int) -> Scenario:
    b = _Builder("cvip-violations-fields",
                 "Field faults: a missing field, values outside an enumeration or range "
                 "(event type, playback state, PTZ speed 0 and 17), times in the wrong "
                 "format, setProperties on a read-only property", seed)
    ch = b.tcp("device", DEVICE_IP)
    b.call(ch, "cviStream.delete", {"GUID": CLIENT_GUID}, violations=["cvip.field.missing"])
    b.call(ch, "cviEvent.subscribe", {"Type": UInt(0x40), "Id": UInt(0)},
           violations=["cvip.field.enum"])
    for speed in (0, 17):
        b.call(ch, "cviPtz.cmd", {
            "GUID": CLIENT_GUID, "PtzID": UInt(1), "PhyAddr": UInt(15), "UserPriority": UInt(0),
            "CmdType": UInt(1), "CmdData": speed}, violations=["cvip.field.range"])
    b.call(ch, "cviUnit.setProperties", {"unitFirmwareVersion": "9.9.9"},
           violations=["cvip.property.read_only"])
    ch.close()

    ch = b.tcp("nvr", NVR_IP)
    answers = b.call(ch, "cviPlayback.create", {
        "GUID": CLIENT_GUID, "Major": UInt(1), "Minor": UInt(1), "StartTime": "20150909010000",
        "EndTime": "20150909011000", "destIp": CLIENT_IP, "destPort": UInt(6000),
        "destTransport": "UDP"})
    created = parse_body(answers[0][HEADER_SIZE:])
    assert isinstance(created, Response) and isinstance(created.value, Struct)
    ids = {"GUID": CLIENT_GUID, "PlaybackID": created.value.get("PlaybackID")}
    b.call(ch, "cviPlayback.setstate", {**ids, "State": UInt(5), "Speed": UInt(1)},
           violations=["cvip.field.enum"])
    b.call(ch, "cviPlayback.delete", ids)
    b.call(ch, "cviEvent.subscribe", {"Type": UInt(EventType.VIDEO_INPUT), "Id": UInt(0)})
    event = b.next_event(ch)
    ch.answer(_notify_with_time(event, "09/09/2015 10:00:03"), after=0.0,
              violations=["cvip.field.format"])
    b.rec.advance(5.0, 20.0)
    b.call(ch, "cviEvent.unsubscribe", {"Type": UInt(EventType.VIDEO_INPUT), "Id": UInt(0)})
    ch.close()

    ch = b.tcp("master", MASTER_IP)
    answers = b.call(ch, "cviUser.login", {
        "GUID": CLIENT_GUID, "UserName": md5_hex("admin"), "PassWord": md5_hex("admin"),
        "LoginType": UInt(1)})
    login = parse_body(answers[0][HEADER_SIZE:])
    assert isinstance(login, Response) and isinstance(login.value, Struct)
    app_guid = login.value.get("AppGUID")
    b.call(ch, "cviEvent.subscribe", {"Type": UInt(EventType.KEEP_ALIVE), "Id": UInt(0)})
    event = b.next_event(ch)
    ch.answer(event, after=0.0)
    notified = classify(event)
    event_guid = notified.call.params[0].get("EventGUID")  # type: ignore[union-attr]
    b.rec.advance(40.0, 400.0)
    b.call(ch, "cviEvent.ack", {"AppGUID": app_guid, "EventGUID": event_guid,
                                "AckTime": "2015/09/09 10:00:05", "AckString": "seen"},
           violations=["cvip.field.format"])
    b.call(ch, "cviEvent.unsubscribe", {"Type": UInt(EventType.KEEP_ALIVE), "Id": UInt(0)})
    b.call(ch, "cviUser.logout", {"GUID": CLIENT_GUID, "AppGUID": app_guid})
    ch.close()
    return b.finish()


def build_violation_scenarios(seed: int = 1) -> list[Scenario]:
    """Scenarios whose broken messages list the rules they break in
    ``truth.violations`` (every other message is clean)."""
    return [_header(seed), _ping(seed), _pairing(seed), _xml(seed), _fields(seed)]
