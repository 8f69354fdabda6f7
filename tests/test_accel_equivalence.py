"""The compiled accelerator against the pure-Python reference.

* Every bundled capture through both paths: ``report --format json`` and ``read -T jsonl``
  byte for byte (one child process per path; ``CVIPSNIFF_PURE_PYTHON=1`` forces the
  reference).
* The pcapng record walk on damaged copies of the bundled captures: the same frames and
  notes as the reference loop alone.
* The packet decoder's fast path on generated and mutated frames: the same Packet (or
  None) as the Python fast path.
* The XML-RPC fast path on every CVIP body of the corpus and on generated bodies: when it
  answers, its answer equals what lxml and :func:`dissectors.cvip.xmlrpc.decode` build, with
  nothing to report; when in doubt it must decline.

Skipped where the accelerator is not built (no Rust toolchain): then there is one path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cvipsniff.capture import open_capture
from cvipsniff.capture import pcapng as pcapng_module
from cvipsniff.model import Frame, Message, Packet
from cvipsniff.packets import decoder as decoder_module
from cvipsniff.pipeline import PipelineConfig, iter_capture
from dissectors.accel import COMPILED
from dissectors.cvip.xmlparse import Limits, parse_body
from dissectors.cvip.xmlrpc import SCHEMA, decode, decode_plain

from .conftest import CAPTURES, ROOT
from .test_packets_robustness import mutated

pytestmark = pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built "
                                "(scripts/bootstrap.sh builds it where Rust is available)")

LIMITS = Limits(8 << 20, 64, 50_000)
CAPTURE_FILES = sorted(str(p.relative_to(ROOT)) for p in CAPTURES.rglob("*.pcap*"))


def _outputs(tmp: Path, pure: bool) -> Path:
    out = tmp / ("pure" if pure else "compiled")
    env = dict(os.environ)
    env.pop("CVIPSNIFF_PURE_PYTHON", None)
    if pure:
        env["CVIPSNIFF_PURE_PYTHON"] = "1"
    subprocess.run([sys.executable, str(ROOT / "tests" / "accel_outputs.py"), str(out),
                    *CAPTURE_FILES], cwd=ROOT, env=env, check=True, timeout=600,
                   stdout=subprocess.DEVNULL)
    return out


@pytest.mark.slow
def test_every_capture_same_report_and_read_output(tmp_path: Path) -> None:
    assert CAPTURE_FILES
    compiled, pure = _outputs(tmp_path, pure=False), _outputs(tmp_path, pure=True)
    assert (compiled / "compiled").read_text() == "True"
    assert (pure / "compiled").read_text() == "False"
    differ = []
    for index, capture in enumerate(CAPTURE_FILES):
        for kind in ("report.json", "read.jsonl"):
            a = (compiled / f"{index}.{kind}").read_bytes()
            b = (pure / f"{index}.{kind}").read_bytes()
            assert b, f"no {kind} output for {capture}"
            if a != b:
                differ.append(f"{capture} ({kind})")
    assert not differ, "compiled and pure-Python outputs differ: " + ", ".join(differ)


def _reference(body: bytes, offsets: bool):
    parsed = parse_body(body, SCHEMA, LIMITS, offsets=offsets)
    xml = decode(parsed.root, 9)
    return parsed, xml


def _check(body: bytes) -> bool:
    """The fast path's answer equals the reference's (lean and full mode, offsets
    included), or it declined. True if answered."""
    answered = []
    for offsets in (False, True):
        fast = decode_plain(body, LIMITS.size, LIMITS.depth, LIMITS.elements, 9, offsets)
        answered.append(fast is not None)
        if fast is None:
            continue
        parsed, xml = _reference(body, offsets)
        assert parsed.well_formed and not parsed.problems and not xml.problems, body
        # repr as well as ==: a double 'nan' is a NaN on both sides, and NaN != NaN.
        assert fast == xml or repr(fast) == repr(xml), (body, offsets)
    assert answered[0] == answered[1]
    return answered[0]


def _corpus_bodies() -> list[bytes]:
    bodies = []
    for capture in CAPTURE_FILES:
        for out in iter_capture(str(ROOT / capture), PipelineConfig(tree=False)):
            if (type(out) is Message and out.record.protocol == "cvip" and out.data
                    and len(out.data) > 9):
                bodies.append(out.data[9:])
    return bodies


def test_corpus_bodies_decode_as_the_reference() -> None:
    bodies = _corpus_bodies()
    answered = sum(_check(body) for body in bodies)
    # Most conformant bodies take the fast path; the rest declined, which is always safe.
    assert answered > len(bodies) // 2


@pytest.mark.parametrize("body", [
    b"<methodResponse><params><param><value><int> +7 </int></value></param>"
    b"<param><value><boolean>1</boolean></value></param>"
    b"<param><value><double>1e3</double></value></param>"
    b"<param><value><dateTime.iso8601>20240101T10:00:00</dateTime.iso8601></value></param>"
    b"<param><value><base64>aGk=</base64></value></param>"
    b"<param><value><uint>4294967295</uint></value></param>"
    b"<param><value><i8>-9223372036854775808</i8></value></param>"
    b"<param><value><nil/></value></param></params></methodResponse>",
    "<methodCall><methodName>\u00a0cvi.x\u2003</methodName><params><param><value><struct>"
    "<member><name> \u00e9t\u00e9 </name><value>\u00fcber</value></member></struct>"
    "</value></param></params></methodCall>".encode(),
    b"<AnalyticsData><DataSourceGUID> g </DataSourceGUID><DataTime>t</DataTime>"
    b"<DataTime>u</DataTime><params/></AnalyticsData>",
    b"<methodResponse><methodName/><params/></methodResponse>",
    # an empty typed value under "valueType" names a type (listParameters idiom)
    b"<methodResponse><params><param><value><struct><member><name> valueType </name>"
    b"<value><uint/></value></member></struct></value></param></params></methodResponse>",
])
def test_unusual_but_plain_bodies_decode_as_the_reference(body: bytes) -> None:
    assert _check(body)


@pytest.mark.parametrize("body", [
    b"<methodResponse><params><param><value><int>99999999999</int></value></param>"
    b"</params></methodResponse>",  # out of range: a problem to report
    b"<methodResponse><params><param><value><boolean>true</boolean></value></param>"
    b"</params></methodResponse>",
    b"<methodCall><methodName>a &amp; b</methodName></methodCall>",
    b"<methodCall><methodName> </methodName></methodCall>",
    b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><methodCall><methodName>a</methodName>"
    b"</methodCall>",
    b"<methodCall><methodName>\xff</methodName></methodCall>",
    b"<methodResponse><params><param><value><struct><member><name>valueKind</name>"
    b"<value><uint/></value></member></struct></value></param></params></methodResponse>",
])
def test_bodies_with_something_to_report_are_declined(body: bytes) -> None:
    assert not _check(body)


_SCALAR = st.sampled_from(["int", "i4", "i8", "uint", "double", "boolean", "string",
                           "dateTime.iso8601", "base64", "nil", "iint", "value", "name"])
_TEXT = st.sampled_from(["", " ", "valueType", "0", "1", "-5", "+12", " 3 ", "4294967296",
                         "x", "1.5", "nan", "20240101T00:00:00", "aGk=", "\n", "\u00a0", "a&amp;b",
                         "\r", "]]>", "<", "true"])


@st.composite
def _value(draw, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["scalar", "untyped", "struct", "array"] if depth < 3
                                else ["scalar", "untyped"]))
    if kind == "untyped":
        return f"<value>{draw(_TEXT)}</value>"
    if kind == "scalar":
        tag = draw(_SCALAR)
        inner = f"<{tag}>{draw(_TEXT)}</{tag}>"
        return inner if draw(st.booleans()) and depth else f"<value>{inner}</value>"
    if kind == "struct":
        members = "".join(f"<member><name>{draw(_TEXT)}</name>{draw(_value(depth + 1))}"
                          "</member>" for _ in range(draw(st.integers(0, 3))))
        return f"<value><struct>{members}</struct></value>"
    items = "".join(draw(_value(depth + 1)) for _ in range(draw(st.integers(0, 3))))
    return f"<value><array><data>{items}</data></array></value>"


@st.composite
def _body(draw) -> bytes:
    root = draw(st.sampled_from(["methodCall", "methodResponse", "AnalyticsData", "xml"]))
    parts = []
    if draw(st.booleans()):
        parts.append(f"<methodName>{draw(_TEXT)}cvi.m</methodName>")
    params = "".join(f"<param>{draw(_value())}</param>" for _ in range(draw(st.integers(0, 3))))
    parts.append(f"<params>{params}</params>")
    if draw(st.booleans()):
        parts.append(f"<fault>{draw(_value())}</fault>")
    text = f"<{root}>{''.join(parts)}</{root}>"
    if draw(st.booleans()):
        text = draw(st.sampled_from(['<?xml version="1.0"?>', " ", "\n", "<!-- c -->"])) + text
    data = bytearray(text.encode())
    for _ in range(draw(st.integers(0, 2))):  # a stray byte somewhere
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.sampled_from([b"<", b">", b"/", b" ", b"&", b"\x00", b"\xc3"]))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_body())
@example(b"<methodCall><methodName>cvi.m</methodName><params></params><fault><value>"
         b"<double>nan</double></value></fault></methodCall>")  # NaN != NaN
def test_generated_bodies_decode_as_the_reference_or_are_declined(body: bytes) -> None:
    _check(body)


# ---- pcapng record walk: the compiled walk against the reference loop alone ---------------

_CAPTURE_BYTES = {name: (ROOT / name).read_bytes() for name in CAPTURE_FILES
                  if not name.endswith(".gz")}
_SAMPLES = sorted((name for name in _CAPTURE_BYTES if name.endswith(".pcapng")),
                  key=lambda name: len(_CAPTURE_BYTES[name]))[:12]


def _read_all(path: Path) -> tuple[list, list]:
    notes: list = []
    with open_capture(str(path), on_note=notes.append) as reader:
        frames = list(reader)
    return frames, notes


def _both_walks(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _read_all(path)
    with monkeypatch.context() as m:
        m.setattr(pcapng_module, "_walk", pcapng_module._walk_none)
        reference = _read_all(path)
    assert compiled == reference


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(_SAMPLES), cuts=st.lists(
    st.tuples(st.integers(0, 1 << 20), st.sampled_from([b"\xff", b"\x00", b"\x06", b"\x7f\xff"])),
    max_size=4), keep=st.integers(0, 1 << 20))
def test_damaged_captures_walk_as_the_reference(tmp_path_factory: pytest.TempPathFactory,
                                                monkeypatch: pytest.MonkeyPatch, name: str,
                                                cuts: list[tuple[int, bytes]],
                                                keep: int) -> None:
    """Every bundled capture, with bytes overwritten here and there and cut anywhere:
    the same frames and notes with and without the compiled walk."""
    data = bytearray(_CAPTURE_BYTES[name])
    for at, patch in cuts:
        at = 24 + at % max(1, len(data) - 24)  # keep the file header readable
        data[at:at + len(patch)] = patch
    path = tmp_path_factory.mktemp("walk") / Path(name).name
    path.write_bytes(bytes(data[:max(32, keep % (len(data) + 1))]))
    _both_walks(path, monkeypatch)


# ---- packet decoder fast path: the compiled twin against the Python one ------------------


@settings(max_examples=600, deadline=None)
@given(mutated())
def test_packet_fast_path_equals_the_python_fast_path(case: tuple[bytes, int]) -> None:
    data, linktype = case
    frame = Frame(7, 1_700_000_000_123_456_789, len(data), len(data) + 3, linktype, data, 2)
    assert decoder_module._fast(Packet, frame) == decoder_module._fast_packet(Packet, frame)
    assert decoder_module._fast is not decoder_module._fast_packet
