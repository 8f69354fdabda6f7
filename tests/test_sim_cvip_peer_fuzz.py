"""The reference unit never crashes and never hits an internal error on hostile input:
random bytes, truncated headers, flipped bytes, and well-formed calls of every catalogued
method with fields of random types and values."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvipsniff.sim.cvip.catalogue import METHODS, ROLES
from cvipsniff.sim.cvip.decode import parse_header
from cvipsniff.sim.cvip.device import Peer
from cvipsniff.sim.cvip.encode import frame, method_call, ping_request
from cvipsniff.sim.cvip.values import Struct, UInt

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

_values = st.recursive(
    st.one_of(
        st.integers(-(2**40), 2**40), st.integers(0, 2**33).map(UInt), st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=20),
        st.sampled_from(["00000001-0000-0000-0001EC901E30B", "20150909010000",
                         "2015-09-09 10:00:00", "192.0.2.1", "H264", "Motion", "UDP"]),
        st.binary(max_size=8), st.none(), st.just(datetime(2015, 9, 9, 10, 0, 0)),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text("abcdefgh", min_size=1, max_size=5), inner,
                                            max_size=3)),
    max_leaves=6,
)


def _answers_are_well_framed(answers: list[bytes]) -> None:
    for answer in answers:
        header = parse_header(answer)
        assert header is not None and header.size == len(answer) and header.response


@FUZZ
@given(st.binary(max_size=600), st.lists(st.integers(1, 64), min_size=1, max_size=12))
def test_random_stream_bytes(data, cuts):
    peer = Peer("device")
    session = peer.open_session()
    pos = 0
    for cut in cuts:
        _answers_are_well_framed(session.feed(data[pos : pos + cut]))
        pos += cut
    _answers_are_well_framed(session.feed(data[pos:]))
    assert peer.stats.internal_errors == 0


@FUZZ
@given(st.binary(max_size=120))
def test_random_datagrams(data):
    peer = Peer("nvr")
    for common in (False, True):
        for answer in peer.handle_datagram(data, common_port=common):
            assert len(answer) == 37
    assert peer.stats.internal_errors == 0


@FUZZ
@given(st.integers(0, 0x7FFF), st.integers(0, 3), st.binary(max_size=300),
       st.booleans(), st.booleans())
def test_valid_header_random_body(txn, msg_type, body, response, little_endian):
    peer = Peer("master")
    answers = peer.open_session().handle(
        frame(body, txn, msg_type=msg_type, response=response, little_endian=little_endian))
    _answers_are_well_framed(answers)
    assert peer.stats.internal_errors == 0


def test_every_prefix_of_a_message_waits_quietly():
    message = frame(method_call("system.describe"), 5)
    for cut in range(len(message)):
        peer = Peer("device")
        assert peer.open_session().feed(message[:cut]) == []
        assert peer.stats.internal_errors == 0


@FUZZ
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_flipped_byte_in_a_valid_stream(position, value):
    stream = (frame(method_call("cviStream.create", {
        "GUID": "00000001-0000-0000-0001EC901E30B", "major": UInt(1), "minor": UInt(1),
        "persistent": False, "destIp": "192.0.2.1", "destPort": UInt(5000),
        "destTransport": "UDP"}), 1) + ping_request(2, "127.0.0.1", 1, 1)
        + frame(method_call("system.listServices"), 3))
    data = bytearray(stream)
    data[position % len(data)] = value
    peer = Peer("device")
    _answers_are_well_framed(peer.open_session().feed(bytes(data)))
    assert peer.stats.internal_errors == 0


@FUZZ
@given(st.sampled_from(METHODS), st.data())
def test_catalogued_methods_with_random_fields(method, data):
    """Fields named as in the table (plus some others) with values of any type."""
    names = [p.name for p in method.params] + ["extra"]
    fields = data.draw(st.dictionaries(st.sampled_from(names), _values, max_size=len(names)))
    positional = data.draw(st.booleans())
    params = list(fields.values()) if positional else [Struct.of(fields)]
    for role in ROLES:
        if role not in method.roles:
            continue
        peer = Peer(role)
        session = peer.open_session()
        answers = session.handle(frame(method_call(method.full_name, *params), 9))
        _answers_are_well_framed(answers)
        assert len(answers) == 1
        assert peer.stats.internal_errors == 0, peer.last_reason


@FUZZ
@given(st.sampled_from(["describe", "listEvents", "listProperties", "getProperties",
                        "setProperties", "listFunctions", "listParameters"]),
       st.sampled_from(["cvip", "cviUnit", "cviNetwork.1", "cviVideo.01.2", "cviStream",
                        "cviVideo", "system"]),
       st.lists(_values, max_size=3))
def test_generic_methods_with_random_params(name, service, params):
    peer = Peer("device")
    answers = peer.open_session().handle(frame(method_call(f"{service}.{name}", *params), 4))
    _answers_are_well_framed(answers)
    assert peer.stats.internal_errors == 0, peer.last_reason


def _plausible(param) -> st.SearchStrategy:
    """Values that pass a field's checks most of the time, so handlers run deep."""
    if param.choices is not None:
        return st.sampled_from(param.choices).map(
            lambda c: UInt(c) if isinstance(c, int) and param.type == "uint" else c)
    if param.type in ("uint", "int"):
        low, high = param.bounds or param.magnitude or (0, 12)
        numbers = st.integers(low, high)
        if param.magnitude is not None:
            numbers = st.tuples(numbers, st.booleans()).map(lambda t: -t[0] if t[1] else t[0])
        if param.bits is not None:
            numbers = st.integers(0, param.bits)
        return numbers.map(UInt) if param.type == "uint" else numbers
    if param.type == "boolean":
        return st.booleans()
    if param.type == "string":
        samples = {
            "guid": ["00000001-0000-0000-0001EC901E30B"],
            "playback-time": ["20150909000000", "20150909013000", "20150909060000"],
            "event-time": ["2015-09-09 10:00:00"],
            "ipv4": ["192.0.2.1"],
            "md5": ["21232f297a57a5a743894a0e4a801fc3", "0" * 32],
        }.get(param.fmt or "", ["a", "Parking", "3.1"])
        return st.sampled_from(samples)
    return _values


@FUZZ
@given(st.data())
def test_sequences_of_plausible_calls_keep_state_consistent(data):
    """Random sequences of well-formed calls of one role: state changes in any order
    (delete before create, paging mid-way, logout) must never hit an internal error."""
    role = data.draw(st.sampled_from(ROLES))
    methods = [m for m in METHODS if role in m.roles]
    peer = Peer(role)
    session = peer.open_session()
    for txn in range(1, data.draw(st.integers(1, 12)) + 1):
        method = data.draw(st.sampled_from(methods))
        fields = {p.name: data.draw(_plausible(p)) for p in method.params
                  if p.required or data.draw(st.booleans())}
        if role == "master" and "AppGUID" in fields and data.draw(st.booleans()):
            fields["AppGUID"] = next(iter(peer.unit.app_guids), fields["AppGUID"])
        answers = session.handle(frame(method_call(method.full_name, fields), txn))
        _answers_are_well_framed(answers)
        assert peer.stats.internal_errors == 0, (method.full_name, peer.last_reason)
