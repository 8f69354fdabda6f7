"""The compiled lean CVIP dissection (``accel/src/cviplean.rs``) against the Python path.

The fast path answers a message only when the Python lean dissection with the default
options (``tree=False``, ``attrs=False``) would report nothing; its answer must then be
that dissection's record exactly. Here, for every CVIP message of the bundled captures,
of the two bench mixes' generators, of systematic mutations of them (values out of range
or of the wrong type, malformed GUIDs and dates, parameters removed, added, renamed or
laid out differently, other method names, instance numbers, ack codes, the header's
response bit, type, version and size) and of messages hypothesis composes from the
catalogue: the fast path's answer is None or equal to the Python record, attribute by
attribute. The answered share of each source is printed (``pytest -s``) and must stay
high, or the comparison would prove little.

Skipped where the accelerator is not built: there the stand-in always declines.
"""

from __future__ import annotations

import importlib
import importlib.util
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import fields as dataclass_fields
from functools import cache
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture
from dissectors.accel import COMPILED, cvip_lean
from dissectors.base import Record
from dissectors.cvip import encode_message, encode_ping_request, encode_ping_response
from dissectors.cvip.header import HEADER_SIZE, encode_header
from dissectors.cvip.lean import catalogue
from dissectors.cvip.tables.enums import BIT_SETS, ENUMS
from dissectors.cvip.tables.methods import CATALOGUE
from dissectors.cvip.tables.model import FieldSpec, MethodSpec
from dissectors.secrets import may_hold_secrets

from .conftest import CAPTURES, ROOT

pytestmark = pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built "
                                "(the pure-Python stand-in always declines)")

DISSECT = importlib.import_module("dissectors.cvip.dissect")
LEAN = {"tree": False, "attrs": False}
# (data, transport)
Messages = list[tuple[bytes, str]]


# ---- the messages -------------------------------------------------------------------------


@cache
def corpus() -> Messages:
    """Every CVIP message of every bundled capture, pings included."""
    out = []
    for path in sorted(p for p in CAPTURES.rglob("*") if p.is_file()
                       and p.name.endswith((".pcap", ".pcapng", ".pcap.gz"))):
        for item in iter_capture(str(path), PipelineConfig(keep_data=True, tree=False)):
            if type(item) is Message and item.record.protocol.startswith("cvip") and item.data:
                out.append((item.data, item.transport))
    return out


def _bench_module(name: str) -> ModuleType:
    """A module of bench/ (not a package: its scripts import each other by file name)."""
    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def sessions_mix() -> Messages:
    """The CVIP messages the sessions bench mix replays (bench/sessions.py's templates)."""
    templates = _bench_module("sessions")._templates(5)
    return [(m.data, conv.transport) for convs in templates for conv in convs
            for m in conv.messages if m.truth.protocol == "cvip"]


@cache
def images_mix() -> Messages:
    """The CVIP messages the images bench mix replays (bench/exchanges.py, as bench.py)."""
    exchanges = _bench_module("exchanges").cvip_exchanges(7)
    return [(data, "tcp") for exchange in exchanges for _direction, data, _truth in exchange]


# ---- the comparison -----------------------------------------------------------------------


def _decline(_data: bytes, _udp: bool) -> None:
    return None


def reference(data: bytes, transport: str) -> Record:
    """The Python lean dissection (the fast path switched off)."""
    fast, DISSECT._lean_record = DISSECT._lean_record, _decline
    try:
        return DISSECT.dissect(data, transport, LEAN)
    finally:
        DISSECT._lean_record = fast


def check(data: bytes, transport: str) -> tuple[bool, bool]:
    """Compare both paths on one message; whether the Python path found nothing to report,
    and whether the fast path answered."""
    ref = reference(data, transport)
    conformant = not ref.problems
    fast = DISSECT._lean_record(data, transport == "udp")
    assert DISSECT.dissect(data, transport, LEAN) == ref
    if fast is None:
        return conformant, False
    assert type(fast) is Record
    for f in dataclass_fields(Record):
        assert getattr(fast, f.name) == getattr(ref, f.name), (f.name, data)
        assert type(getattr(fast, f.name)) is type(getattr(ref, f.name)), (f.name, data)
    assert fast == ref
    assert repr(fast.attrs) == repr(ref.attrs), data  # a ping's: the same keys in order
    assert conformant
    return True, True


def check_all(label: str, messages: Messages, minimum: float | None = None) -> None:
    """Compare every message; print the answered share (of all, and of those the Python
    path finds nothing wrong with), which must be at least ``minimum`` of the latter."""
    results = [check(data, transport) for data, transport in messages]
    answered = sum(a for _c, a in results)
    conformant = sum(c for c, _a in results)
    share = answered / max(1, conformant)
    print(f"\n{label}: the fast path answered {answered} of {len(messages)} CVIP messages "
          f"({answered / max(1, len(messages)):.1%}); {conformant} have nothing to report "
          f"({share:.1%} of them answered)")
    if minimum is not None:
        assert share >= minimum, f"{label}: the fast path answers only {share:.1%}"


def test_the_corpus() -> None:
    assert len(corpus()) > 2000
    check_all("bundled captures", corpus(), 0.85)


def test_the_sessions_mix() -> None:
    check_all("sessions bench mix (templates)", sessions_mix(), 0.9)


def test_the_images_mix() -> None:
    check_all("images bench mix (exchanges)", images_mix(), 0.9)


# ---- systematic mutations -----------------------------------------------------------------

_LITERALS = (
    "0", "1", "-1", "2", "3", "5", "7", "8", "16", "17", "-16", "-17", "63", "64", "127",
    "255", "256", "65535", "65536", "-2147483648", "2147483647", "2147483648",
    "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
    "16777216", "16777217", "16777218", "16777219", "16777220", "0x01000000", " 7 ",
    "012", "00", "+5", "1_0", "abc", "", "  ", "true", "1.5", "1e3",
    "00000001-0000-0000-0001EC901E30B", "00000001-0000-0000-0001EC901E30",
    "{01234567-89ab-cdef-0123-456789abcdef}",
    "01234567-89ab-cdef-0123-456789abcdef}", "0123456-89ab-cdef-0123-456789abcdef",
    "20240229235959", "20230229235959", "20241231240000", "00000101000000",
    "2024-02-29 23:59:59", "2024-13-01 00:00:00", "2024-01-01T00:00:00", "10.0.0.1",
    "10.0.0.256", "010.0.0.1", "1.2.3", "1,10,1", " -1 , 2.5 ,3 ", "1,10",
    "d41d8cd98f00b204e9800998ecf8427e", "0x03.1", "3", "0x", "3.x", "\u00e9", "\u00a05",
    "\u0665", "videoInputName", "unitUpTime", "networkIpAddress", "bogus",
    # Secrets the reference masks in the summary where it holds them (a login's password
    # is any string): words of summaries, and secret words and pairs.
    "login", " login ", "request", "cviUser", "ack", "Success", "response", "txn=", "cvi",
    "token", "password=1", "Token=x", "secret",
)
_TYPES = ("int", "i4", "i8", "uint", "string", "boolean", "double", "dateTime.iso8601",
          "base64", "nil", "iint")
_LEAF = re.compile(rb"<value>(?:<(\w[\w.]*)>([^<]*)</\1>|<(\w[\w.]*)/>|([^<]*))</value>")
_MEMBER = re.compile(rb"<member><name>([^<]*)</name>")
_METHOD = re.compile(rb"<methodName>([^<]*)</methodName>")
_NAMES = sorted({f.name for m in CATALOGUE for f in (*(m.request or ()), *(m.response or ()))}
                | {"ErrorCode", "AckReturnCode", "ProfileProperty", "EntityProperty",
                   "Capability", "ImageTypeID", "MapEntityTypeID", "PhyAddr", "valueType"})
_METHODS = sorted({f"{m.service if m.service != '*' else 'cviVideo.01.1'}.{m.name}"
                   for m in CATALOGUE})


def _leaf_variants(tag: str | None, text: str, rng: random.Random) -> Iterator[bytes]:
    """Replacements of one ``<value>...</value>``."""
    for literal in rng.sample(_LITERALS, 14):
        yield (f"<value><{tag}>{literal}</{tag}></value>" if tag else
               f"<value>{literal}</value>").encode()
    for other in rng.sample(_TYPES, 4):
        yield f"<value><{other}>{text}</{other}></value>".encode()
    yield f"<value>{text}</value>".encode()
    yield b"<value><struct></struct></value>"
    yield b"<value><array><data><value><int>1</int></value></data></array></value>"


def _unpacked(struct: re.Match[bytes]) -> bytes:
    """A struct's member values as positional parameters."""
    return b"".join(b"<param>" + v.group(0) + b"</param>" for v in _LEAF.finditer(struct.group(0)))


def _body_mutations(body: bytes, rng: random.Random) -> Iterator[bytes]:
    for m in _LEAF.finditer(body):
        tag = (m.group(1) or m.group(3) or b"").decode() or None
        text = (m.group(2) or m.group(4) or b"").decode("utf-8", "replace")
        for replacement in _leaf_variants(tag, text, rng):
            yield body[:m.start()] + replacement + body[m.end():]
    members = list(_MEMBER.finditer(body))
    for m in members:
        name = m.group(1).decode()
        for new in (name.upper(), name.lower(), name + "X", " " + name + " ",
                    rng.choice(_NAMES), rng.choice(_NAMES)):
            yield body[:m.start(1)] + new.encode() + body[m.end(1):]
        end = body.find(b"</member>", m.end())
        if end > 0:
            whole = body[m.start():end + len(b"</member>")]
            yield body[:m.start()] + body[end + len(b"</member>"):]  # removed
            yield body[:m.start()] + whole + whole + body[end + len(b"</member>"):]  # twice
    if members:
        extra = (f"<member><name>{rng.choice(_NAMES)}</name><value><int>1</int></value>"
                 "</member>").encode()
        yield body.replace(b"</struct>", extra + b"</struct>", 1)
    for m in _METHOD.finditer(body):
        name = m.group(1).decode()
        service, _, method = name.rpartition(".")
        for new in (name.upper(), name.lower(), f" {name} ", f"{service}.1.{method}",
                    f"{service}.01.1.{method}", f"{service}.x.{method}",
                    f"{service}.1.2.3.{method}", f"{service}..{method}", method,
                    f"cviNvr.{method}", f"{service}.nosuch", "cviEvent.notify",
                    rng.choice(_METHODS), rng.choice(_METHODS), rng.choice(_METHODS)):
            yield body[:m.start(1)] + new.encode() + body[m.end(1):]
        yield body[:m.start()] + body[m.end():]
    # The same parameters laid out otherwise: a struct as a one-struct array, unpacked.
    yield body.replace(b"<param><value><struct>",
                       b"<param><value><array><data><value><struct>", 1) \
        .replace(b"</struct></value></param>",
                 b"</struct></value></data></array></value></param>", 1)
    yield re.sub(rb"<param><value><struct>.*</struct></value></param>", _unpacked, body,
                 count=1, flags=re.S)
    yield body.replace(b"<params>", b"<params><param><value><int>1</int></value></param>", 1)
    yield body.replace(b"methodResponse>", b"methodCall>").replace(b"methodCall><params",
                                                                   b"methodCall><methodName>cviUnit.describe</methodName><params")


def _header_mutations(data: bytes) -> Iterator[bytes]:
    body = data[HEADER_SIZE:]
    txn = int.from_bytes(data[3:5], "big")
    response, number = bool(txn & 0x8000), txn & 0x7FFF
    yield encode_message(body, number, not response)
    yield encode_message(body, number, response, "little")
    for msg_type in (1, 2):
        yield encode_header(len(data), number, response, msg_type) + body
    for size in (len(data) - 1, len(data) + 1, len(body), 3, 0x7FFF_FFFF,
                 int.from_bytes(len(data).to_bytes(4, "little"), "big")):
        yield encode_header(size, number, response) + body
    yield b"\x02\x02" + data[2:]


def mutations(data: bytes, rng: random.Random) -> Iterator[bytes]:
    yield from _header_mutations(data)
    txn = int.from_bytes(data[3:5], "big")
    for body in _body_mutations(data[HEADER_SIZE:], rng):
        yield encode_message(body, txn & 0x7FFF, bool(txn & 0x8000))


def _samples() -> Messages:
    """Up to three messages of each kind of record (method, kind) the corpus and the
    bench mixes hold, the first answered ones first."""
    by_shape: dict[tuple[object, ...], list[tuple[bytes, str]]] = {}
    for data, transport in (*corpus(), *sessions_mix(), *images_mix()):
        record = reference(data, transport)
        key = (record.method, record.kind, record.is_response, transport)
        by_shape.setdefault(key, [])
        if len(by_shape[key]) < 3 and (data, transport) not in by_shape[key]:
            by_shape[key].append((data, transport))
    return [m for found in by_shape.values() for m in found]


def test_secret_holding_messages() -> None:
    """Logins and user updates carry a password: the reference builds their attributes to
    learn it, masks it wherever the summary holds it, and drops the attributes. The fast
    path answers where that leaves the summary as it is, each answer the reference's
    record, and declines where the summary holds the password (a user update's has no
    format: ``txn=N`` is one) or the reference reports it (a login's must be an MD5 hex
    digest)."""
    requests = [(d, t) for d, t in sessions_mix()
                if re.search(rb"<methodCall><methodName>cviUser\.(login|updateuser)<", d)]
    assert len(requests) >= 2
    answered = declined_held = 0
    for data, transport in requests:
        body = data[HEADER_SIZE:]
        found = re.search(rb"<name>(?:PassWord|UserPassword)</name><value><string>([^<]*)<",
                          body)
        assert found is not None
        txn = int.from_bytes(data[3:5], "big") & 0x7FFF
        for password in ("d41d8cd98f00b204e9800998ecf8427e", "D41D8CD98F00B204E9800998ECF8427E",
                         "0" * 32, "login", "token=x", f"txn={txn}", f" txn={txn} ", ""):
            mutated = encode_message(body[:found.start(1)] + password.encode()
                                     + body[found.end(1):], txn, False)
            conformant, fast = check(mutated, transport)
            record = reference(mutated, transport)
            summary = f"{record.method} {record.kind} txn={txn}"
            held = len(password) >= 3 and password in summary
            assert fast == (conformant and not held), password
            answered += fast
            declined_held += conformant and held
    assert answered >= 3 * len(requests)
    assert declined_held  # a user update's password (no format) that its summary holds


def test_mutations() -> None:
    rng = random.Random(17)
    samples = _samples()
    cases = [(mutated, transport) for data, transport in samples
             for mutated in mutations(data, rng)]
    cases += [(data, "udp") for data, transport in samples if transport == "tcp"][:100]
    assert len(cases) > 10_000
    check_all(f"mutations of {len(samples)} messages", cases)


def _pings() -> Messages:
    """Discovery pings: requests and responses of every connection type, status and byte
    order, and each byte of one of each set to a handful of values (cut and lengthened
    ones too), over TCP and UDP."""
    out: Messages = []
    guid = bytes(range(0x30, 0x40))  # ASCII digits and :;<=>?: no credential words
    for order in ("big", "little"):
        for conn in (0, 1, 2, 3, 0x0C, 0x10, 255):
            out.append((encode_ping_request(7, "10.1.2.3", 5150, conn, order), "udp"))
            for status in (False, True):
                out.append((encode_ping_response(7, "192.168.0.9", 5150, conn, guid, 0x2A,
                                                 0x0102, status, order), "udp"))
    # The corrected response type: a ping unless its body starts like XML ("<" = 60).
    for ip in ("10.1.2.3", "60.1.2.3", "32.60.1.2", "32.9.10.60"):
        out.append((encode_ping_response(9, ip, 5150, 0x0C, guid, 1, 2, False,
                                         msg_type=0x02), "udp"))
    seeds = [encode_ping_request(300, "10.0.0.1", 8000, 1),
             encode_ping_response(300, "10.0.0.2", 8000, 0x0C, guid, 1, 2, False)]
    for seed in seeds:
        for at in range(len(seed)):
            for value in (0x00, 0x01, 0x02, 0x0C, 0x10, 0x25, 0x80, 0xFF):
                out.append((seed[:at] + bytes([value]) + seed[at + 1:], "tcp"))
        out += [(seed[:-1], "tcp"), (seed + b"\0", "tcp"),
                (seed.replace(guid, b"x PwD" * 3 + b"z"), "tcp")]
    out += [(data, "tcp") for data, _ in out[:40]]
    return out


def test_pings() -> None:
    pings = _pings()
    check_all(f"{len(pings)} pings", pings)
    results = [(data, *check(data, transport)) for data, transport in pings]
    assert sum(answered for _, _, answered in results) >= 50
    # Every conformant ping answered but those with credential-like bytes (masked).
    assert all(may_hold_secrets(data) for data, conformant, answered in results
               if conformant and not answered)


# ---- messages composed from the catalogue -------------------------------------------------

_VALUES = st.one_of(
    st.sampled_from(_LITERALS).map(lambda t: f"<value>{t}</value>"),
    st.tuples(st.sampled_from(_TYPES[:6]), st.sampled_from(_LITERALS)).map(
        lambda p: f"<value><{p[0]}>{p[1]}</{p[0]}></value>"),
    st.integers(-2**40, 2**40).map(lambda n: f"<value><int>{n}</int></value>"),
)


@st.composite
def composed(draw: st.DrawFn) -> bytes:
    """A message of a catalogue method: a call, or a response naming its method or not,
    with some of its table's fields (and perhaps a stranger), valued from the pools."""
    method = draw(st.sampled_from(CATALOGUE))
    service = method.service if method.service != "*" else draw(st.sampled_from(
        ["cviVideo.01.1", "cviVideo.1", "cviNetwork.1", "cviUnit", "cvip", "cviStream",
         "system"]))
    call = draw(st.booleans())
    table = (method.request if call else method.response) or ()
    names = draw(st.lists(st.sampled_from([f.name for f in table] or ["x"]), max_size=8))
    if draw(st.booleans()):
        names = [f.name for f in table if f.required] + names[:1]
    if not call and draw(st.booleans()):
        names = ["ErrorCode", *names]
    members = "".join(f"<member><name>{n}</name>{draw(_VALUES)}</member>" for n in names)
    layout = draw(st.sampled_from(["struct", "array", "positional", "none"]))
    if layout == "struct":
        params = f"<param><value><struct>{members}</struct></value></param>"
    elif layout == "array":
        params = f"<param><value><array><data><value><struct>{members}</struct></value>" \
                 "</data></array></value></param>"
    elif layout == "positional":
        params = "".join(f"<param>{draw(_VALUES)}</param>" for _ in names)
    else:
        params = ""
    name = f"<methodName>{service}.{method.name}</methodName>"
    if call:
        body = f"<methodCall>{name}<params>{params}</params></methodCall>"
    else:
        named = name if draw(st.booleans()) else ""
        body = f"<methodResponse>{named}<params>{params}</params></methodResponse>"
    return encode_message(body.encode(), draw(st.integers(0, 0x7FFF)), not call)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(composed())
def test_composed_messages(data: bytes) -> None:
    check(data, "tcp")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    check(encode_message(data, 1) if data[:1] == b"<" else data, "tcp")


# ---- the seam -----------------------------------------------------------------------------


def test_only_the_lean_defaults_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    data = next(d for d, t in images_mix() if DISSECT._lean_record(d, t == "udp") is not None)
    calls: list[bytes] = []
    real = DISSECT._lean_record

    def spy(message: bytes, udp: bool) -> Record | None:
        calls.append(message)
        return real(message, udp)

    monkeypatch.setattr(DISSECT, "_lean_record", spy)
    for options in (None, {"tree": False}, {"attrs": False}, {**LEAN, "guid_format": "spec"},
                    {**LEAN, "reveal_secrets": True}, {**LEAN, "xml_depth_cap": 10}):
        DISSECT.dissect(data, "tcp", options)
    assert calls == []
    for message in (data, bytearray(data), memoryview(data)):
        record = DISSECT.dissect(message, "tcp", dict(LEAN))
        assert record == reference(data, "tcp") and not record.problems
    assert len(calls) == 3


def test_a_broken_catalogue_is_refused() -> None:
    broken = catalogue()
    broken["ack_field"] = len(broken["fields"])
    with pytest.raises(ValueError):
        cvip_lean(Record, lambda: broken)


# ---- every catalogue method, and its formatted fields with generated text ------------------

_FORMAT_SAMPLES = {
    "guid": "00000001-0000-0000-0001EC901E30B", "time14": "20240229120000",
    "datetime19": "2024-02-29 12:00:00", "ipv4": "10.0.0.1", "range3": "1,10,1",
    "md5": "d41d8cd98f00b204e9800998ecf8427e", "numeric": "5", "service_id": "0x03.1",
}


def _valid(spec: FieldSpec) -> str:
    """A ``<value>`` its table accepts (enum, bit set, range, magnitude, format)."""
    if "int" in spec.types:
        table = ENUMS.get(spec.enum or "")
        bits = BIT_SETS.get(spec.bits or "")
        low = (spec.range or spec.magnitude or (1, 1))[0]
        number = min(table.values) if table else min(bits.bits) if bits else low
        return f"<value><int>{number}</int></value>"
    if "string" in spec.types or not spec.types:
        return f"<value><string>{_FORMAT_SAMPLES.get(spec.fmt or '', 'x')}</string></value>"
    if "boolean" in spec.types:
        return "<value><boolean>1</boolean></value>"
    return f"<value><{spec.types[0]}></{spec.types[0]}></value>" if spec.types[0] != "array" \
        else "<value><array><data></data></array></value>"


def _service_of(method: MethodSpec) -> str:
    return method.service if method.service != "*" else "cviVideo.01.1"


def _struct(specs: tuple[FieldSpec, ...], values: dict[str, str] | None = None) -> str:
    values = values or {}
    return "<struct>" + "".join(
        f"<member><name>{f.name}</name>{values.get(f.name, _valid(f))}</member>"
        for f in specs) + "</struct>"


def catalogue_messages(values: dict[str, str] | None = None) -> Messages:
    """For every catalogue method: a request with every field of its table, and a response
    naming the method with every field of its response table (its records, for a list)."""
    out: Messages = []
    for n, method in enumerate(CATALOGUE):
        name = f"<methodName>{_service_of(method)}.{method.name}</methodName>"
        if method.shape == "property_ids":
            params = "<param><value>videoEncoderState</value></param>"
        elif method.shape == "property_values":
            params = "<param><value><struct><member><name>videoEncoderState</name>" \
                     "<value><int>1</int></value></member></struct></value></param>"
        elif method.shape == "method_name":
            params = "<param><value>create</value></param>"
        else:
            params = f"<param><value>{_struct(method.request or (), values)}</value></param>"
        body = f"<methodCall>{name}<params>{params}</params></methodCall>"
        out.append((encode_message(body.encode(), n + 1), "tcp"))
        if method.response is None:
            continue
        params = _struct(method.response, values)
        if method.response_list:
            params = f"<array><data><value>{params}</value><value>{params}</value></data></array>"
        body = f"<methodResponse>{name}<params><param><value>{params}</value></param></params>" \
               "</methodResponse>"
        out.append((encode_message(body.encode(), n + 1, True), "tcp"))
    return out


def test_every_catalogue_method() -> None:
    check_all("every catalogue method's request and response", catalogue_messages(), 0.8)


_FORMATTED = sorted({(f.name, f.fmt) for m in CATALOGUE
                     for f in (*(m.request or ()), *(m.response or ())) if f.fmt})


@st.composite
def format_text(draw: st.DrawFn) -> str:
    """Text near the formats: their samples edited, or runs of their characters."""
    sample = draw(st.sampled_from(sorted(_FORMAT_SAMPLES.values())))
    chars = st.sampled_from(list("0123456789abcdefABCDEFxX-:., {}\t\n+"))
    edit = draw(st.sampled_from(["keep", "replace", "insert", "delete", "runs"]))
    at = draw(st.integers(0, len(sample)))
    if edit == "replace" and at < len(sample):
        return sample[:at] + draw(chars) + sample[at + 1:]
    if edit == "insert":
        return sample[:at] + draw(chars) + sample[at:]
    if edit == "delete":
        return sample[:at] + sample[at + 1:]
    if edit == "runs":
        return draw(st.text(chars, max_size=40))
    return sample


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_FORMATTED), format_text(), st.sampled_from(["string", ""]))
def test_formatted_fields(field: tuple[str, str], text: str, tag: str) -> None:
    value = f"<value><string>{text}</string></value>" if tag else f"<value>{text}</value>"
    for data, transport in catalogue_messages({field[0]: value}):
        if field[0].encode() in data:
            check(data, transport)
