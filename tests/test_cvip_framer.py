"""CvipFramer: incremental framing of one direction of a CVIPv2 TCP stream."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.base import Framed, Skipped
from dissectors.cvip import (
    CvipFramer,
    dissect,
    encode_header,
    encode_message,
    encode_ping_request,
    encode_ping_response,
)


def call(method: str, txn: int) -> bytes:
    body = (f"<?xml version=\"1.0\"?>\n<methodCall><methodName>{method}</methodName>"
            f"<params><param><value><int>{txn}</int></value></param></params></methodCall>")
    return encode_message(body.encode(), txn)


MESSAGES = [
    call("cviStream.create", 1),
    encode_ping_request(2, "10.0.0.9", 7110, 0x0C),
    call("cviEvent.subscribe", 3),
    encode_ping_response(4, "10.0.0.5", 7110, 0x0C, bytes(16), 1, 2, False),
    encode_message(b"\r\n  <methodResponse><params/></methodResponse>", 5, response=True),
]
STREAM = b"".join(MESSAGES)


def run(chunks, framer: CvipFramer | None = None) -> list:
    framer = framer or CvipFramer()
    events = []
    for chunk in chunks:
        events += framer.feed(chunk)
    return events + framer.close()


def framed(events) -> list[Framed]:
    return [e for e in events if isinstance(e, Framed)]


def skipped(events) -> list[Skipped]:
    return [e for e in events if isinstance(e, Skipped)]


def accounted(events) -> int:
    """Bytes the events account for: framed or skipped (nothing dropped silently)."""
    return sum(len(e.data) if isinstance(e, Framed) else e.length for e in events)


def test_many_messages_in_one_segment():
    events = run([STREAM])
    assert [e.data for e in framed(events)] == MESSAGES
    assert skipped(events) == []
    starts = [e.start for e in framed(events)]
    assert starts == [sum(map(len, MESSAGES[:i])) for i in range(len(MESSAGES))]
    assert all(not e.truncated and not e.problems for e in framed(events))


def test_split_at_every_byte_position_gives_the_same_messages():
    whole = run([STREAM])
    for cut in range(1, len(STREAM)):
        assert run([STREAM[:cut], STREAM[cut:]]) == whole, cut


def test_one_byte_at_a_time_gives_the_same_messages():
    assert run([STREAM[i:i + 1] for i in range(len(STREAM))]) == run([STREAM])


def test_a_message_split_over_many_segments():
    big = call("cviProfile.add", 7) + b""
    events = []
    framer = CvipFramer()
    for i in range(0, len(big), 7):
        got = framer.feed(big[i:i + 7])
        if i + 7 < len(big):
            assert got == []  # nothing until the last byte arrives
        events += got
    assert [e.data for e in framed(events)] == [big]


def test_framed_messages_dissect_back():
    for event, original in zip(framed(run([STREAM])), MESSAGES, strict=True):
        rec = dissect(event.data, "tcp")
        assert rec.txn == dissect(original, "tcp").txn
        assert rec.kind in ("request", "response", "ping-request", "ping-response")


def test_resync_after_leading_garbage():
    garbage = b"HTTP/1.1 200 OK\r\n\r\n\x02\x01\x00"
    events = run([garbage + STREAM])
    (skip,) = skipped(events)
    assert (skip.start, skip.length, skip.rule) == (0, len(garbage), "cvip.framing.skipped")
    assert [e.data for e in framed(events)] == MESSAGES
    assert framed(events)[0].start == len(garbage)


def test_false_version_bytes_in_garbage_are_rejected():
    # Each fake candidate fails one plausibility test: size below 9, size beyond the cap,
    # a non-ping type, a ping type with a non-ping size, a body that is not XML.
    fakes = [
        bytes.fromhex("0201 00 0001 00000004"),
        bytes.fromhex("0201 00 0001 7fffffff") + b"<",
        bytes.fromhex("0201 07 0001 00000020") + b"<" * 32,
        bytes.fromhex("0201 01 0001 00000020") + b"x" * 32,
        bytes.fromhex("0201 00 0001 00000020") + b"   binary" + b"\0" * 23,
    ]
    garbage = b"".join(b"junk" + f for f in fakes)
    stream = MESSAGES[0] + garbage + b"".join(MESSAGES[1:])
    events = run([stream])
    assert [e.data for e in framed(events)] == MESSAGES
    (skip,) = skipped(events)
    assert (skip.start, skip.length) == (len(MESSAGES[0]), len(garbage))
    assert run([stream[i:i + 1] for i in range(len(stream))]) == events


def test_garbage_between_messages_and_in_sync_mode():
    stream = MESSAGES[0] + b"\x00\x00\x00" + MESSAGES[1] + b"\xff" + MESSAGES[2]
    events = run([stream])
    assert [e.data for e in framed(events)] == MESSAGES[:3]
    assert [(s.start, s.length) for s in skipped(events)] == [
        (len(MESSAGES[0]), 3), (len(MESSAGES[0]) + 3 + len(MESSAGES[1]), 1)]


def test_gap_inside_a_message_counts_down_the_rest():
    m0, m1 = MESSAGES[0], MESSAGES[2]
    framer = CvipFramer()
    events = framer.feed(m0[:20])
    events += framer.gap(10)  # bytes 20..29 of m0 lost
    events += framer.feed(m0[30:] + m1)
    events += framer.close()
    first, second = framed(events)
    assert first.truncated and first.data == m0[:20] and first.start == 0
    assert [p.rule for p in first.problems] == ["cvip.framing.truncated"]
    (rest,) = skipped(events)
    assert (rest.start, rest.length, rest.rule) == (30, len(m0) - 30, "cvip.framing.truncated")
    assert second.data == m1 and second.start == len(m0) and not second.truncated


def test_gap_ending_exactly_at_a_message_boundary():
    m0, m1 = MESSAGES[0], MESSAGES[2]
    framer = CvipFramer()
    events = framer.feed(m0[:20]) + framer.gap(len(m0) - 20) + framer.feed(m1) + framer.close()
    first, second = framed(events)
    assert first.truncated and second.data == m1 and skipped(events) == []


def test_gap_beyond_the_message_resyncs():
    m0, m1, m2 = MESSAGES[0], MESSAGES[2], MESSAGES[4]
    framer = CvipFramer()
    events = framer.feed(m0[:20]) + framer.gap(len(m0))  # lost: rest of m0 + 20 bytes of m1
    events += framer.feed(m1[20:] + m2) + framer.close()
    first, last = framed(events)
    assert first.truncated and last.data == m2
    (skip,) = skipped(events)
    assert (skip.start, skip.length, skip.rule) == (len(m0) + 20, len(m1) - 20,
                                                    "cvip.framing.skipped")
    assert last.start == len(m0) + len(m1)


def test_gap_between_messages_and_inside_a_header():
    m0, m1 = MESSAGES[0], MESSAGES[2]
    framer = CvipFramer()
    events = framer.feed(m0) + framer.gap(5) + framer.feed(m1) + framer.close()
    assert [e.data for e in framed(events)] == [m0, m1]
    framer = CvipFramer()
    events = framer.feed(m0[:4]) + framer.gap(3) + framer.feed(m0[7:] + m1) + framer.close()
    cut, whole = framed(events)
    assert cut.truncated and cut.data == m0[:4] and whole.data == m1
    assert sum(s.length for s in skipped(events)) == len(m0) - 7


def test_size_cap_counts_the_body_down_without_buffering():
    header = encode_header(10_000_000, 9)
    framer = CvipFramer(size_cap=1_000_000)
    assert framer.feed(header) == []  # absurd either way: does XML follow?
    events = framer.feed(b"\xab")  # no: the header alone, the body counted down
    (head,) = events
    assert head.truncated and head.data == header
    (problem,) = head.problems
    assert problem.rule == "cvip.header.size_cap" and (problem.offset, problem.length) == (5, 4)
    chunk = b"\xab" * 65536
    fed = 1
    while fed + len(chunk) <= 10_000_000 - 9:
        assert framer.feed(chunk) == []
        fed += len(chunk)
        assert len(framer._buf) == 0  # never buffered
    rest = 10_000_000 - 9 - fed
    events = framer.feed(b"\xab" * rest + MESSAGES[0]) + framer.close()
    skip, message = events
    assert (skip.start, skip.length, skip.rule) == (9, 10_000_000 - 9, "cvip.header.size_cap")
    assert message.data == MESSAGES[0] and message.start == 10_000_000


def test_a_4gb_declared_size_is_skipped_to_the_end_of_the_stream():
    framer = CvipFramer()
    events = framer.feed(encode_header(0xFFFFFFFF, 1) + b"\0" * 1000)
    events += framer.gap(50_000) + framer.feed(b"x" * 100) + framer.close()
    head, before_gap, after_gap = events
    assert head.truncated and head.problems[0].rule == "cvip.header.size_cap"
    assert (before_gap.start, before_gap.length) == (9, 1000)
    assert (after_gap.start, after_gap.length) == (9 + 1000 + 50_000, 100)
    assert "short" in after_gap.reason


def test_close_flushes_partial_message_header_and_garbage():
    events = run([MESSAGES[0][:-1]])
    (cut,) = events
    assert cut.truncated and cut.data == MESSAGES[0][:-1]
    assert cut.problems[0].rule == "cvip.framing.truncated"
    (cut,) = run([MESSAGES[0][:5]])
    assert cut.truncated and cut.data == MESSAGES[0][:5]
    (junk,) = run([b"garbage"])
    assert isinstance(junk, Skipped) and junk.length == 7
    assert run([]) == []


def test_garbage_does_not_grow_the_buffer():
    framer = CvipFramer()
    noise = bytes(range(3, 250)) * 40  # no version bytes at all
    for i in range(0, len(noise), 3):
        assert framer.feed(noise[i:i + 3]) == []
        assert len(framer._buf) <= 4
    (skip,) = framer.close()
    assert skip.length == len(noise)


def test_little_endian_peer_is_framed():
    body = b"<methodCall><methodName>cviPtz.cmd</methodName></methodCall>"
    msg = encode_header(9 + len(body), 3, byte_order="little") + body
    events = run([b"zz" + msg + msg])
    assert [e.data for e in framed(events)] == [msg, msg]
    assert [(e.start, e.length) for e in skipped(events)] == [(0, 2)]


def test_size_excluding_header_option():
    body = b"<methodCall><methodName>x.y</methodName></methodCall>"
    msg = encode_header(len(body), 1) + body
    events = run([msg + msg], CvipFramer(size_includes_header=False))
    assert [e.data for e in events] == [msg, msg]


# ---- properties ----------------------------------------------------------------------

pieces = st.lists(
    st.one_of(
        st.sampled_from(MESSAGES).map(lambda m: ("msg", m)),
        st.binary(min_size=1, max_size=40).map(lambda b: ("junk", b)),
        st.integers(min_value=1, max_value=300).map(lambda n: ("gap", n)),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(pieces, st.data())
def test_chunking_never_changes_the_events_and_every_byte_is_accounted(parts, data):
    def feed_all(cuts: list[int]):
        framer = CvipFramer()
        out = []
        for kind, item in parts:
            if kind == "gap":
                out += framer.gap(item)
                continue
            pos = 0
            for cut in cuts:
                if pos >= len(item):
                    break
                out += framer.feed(item[pos:pos + cut])
                pos += cut
            out += framer.feed(item[pos:])
        return out + framer.close()

    whole = feed_all([])
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=9), max_size=30))
    assert feed_all(cuts) == whole
    fed = sum(len(item) for kind, item in parts if kind != "gap")
    assert accounted(whole) == fed
    # events come in stream order and never overlap
    position = -1
    for e in whole:
        start = e.start
        assert start >= position
        position = start + (len(e.data) if isinstance(e, Framed) else e.length)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise_and_are_accounted(blob):
    events = run([blob])
    assert accounted(events) == len(blob)
    assert run([blob[i:i + 5] for i in range(0, len(blob), 5)]) == events


def test_resync_finds_a_body_that_starts_with_a_byte_order_mark():
    bom = encode_message(b"\xef\xbb\xbf<?xml version=\"1.0\"?><methodCall><methodName>a.b"
                         b"</methodName></methodCall>", 9)
    events = run([b"\x00junk" + bom])
    assert [e.data for e in framed(events)] == [bom]
    assert dissect(bom, "tcp").method == "a.b"


# ---- framing on evidence (issue 12 item 1): a header is decided on all it shows ----------

BODY = (b"<?xml version=\"1.0\"?>\n<methodCall><methodName>cviStream.create</methodName>"
        b"<params/></methodCall>")


def every_split(stream: bytes) -> list[list]:
    """The events of ``stream`` fed whole, then split in two at every position: all the
    same (the decision points are all covered: header bytes, size, body start, XML end,
    the next header)."""
    whole = run([stream])
    for i in range(1, len(stream)):
        assert run([stream[:i], stream[i:]]) == whole, f"split at {i}"
    assert run([bytes([b]) for b in stream]) == whole
    return whole


def problem_rules(message: Framed) -> set[str]:
    return {p.rule for p in message.problems} | {
        p.rule for p in dissect(message.data, "tcp").problems}


def test_01_02_header_whose_size_only_makes_sense_big_endian() -> None:
    odd = b"\x01\x02" + encode_header(9 + len(BODY), 7)[2:] + BODY  # version bytes swapped
    stream = MESSAGES[0] + odd + MESSAGES[2]
    events = every_split(stream)
    assert [e.data for e in framed(events)] == [MESSAGES[0], odd, MESSAGES[2]]
    assert skipped(events) == []
    rec = dissect(odd, "tcp")
    assert rec.kind == "request" and rec.txn == 7 and rec.attrs["byte_order"] == "big"
    (order,) = [p for p in rec.problems if p.rule == "cvip.header.byte_order"]
    assert "big-endian" in order.message
    assert "cvip.header.size_mismatch" not in {p.rule for p in rec.problems}


def test_version_0x0200_is_a_message_with_a_version_finding() -> None:
    odd = encode_header(9 + len(BODY), 8, version=0x0200) + BODY
    stream = MESSAGES[0] + odd + MESSAGES[1]
    events = every_split(stream)
    assert [e.data for e in framed(events)] == [MESSAGES[0], odd, MESSAGES[1]]
    assert skipped(events) == []
    rec = dissect(odd, "tcp")
    assert rec.kind == "request" and rec.method == "cviStream.create"
    assert [p.rule for p in rec.problems if p.rule.startswith("cvip.header")] == [
        "cvip.header.version"]
    # Random bytes where a message is due are still garbage, as before.
    junk = b"\x02\x00\x07" + b"z" * 20
    assert [type(e) for e in run([MESSAGES[0] + junk + MESSAGES[1]])] == [
        Framed, Skipped, Framed]


def test_a_size_pointing_past_the_next_header_ends_the_message_at_its_xml() -> None:
    lying = encode_header(9 + len(BODY) + 40, 9) + BODY  # 40 bytes too many
    stream = lying + MESSAGES[1] + MESSAGES[2]
    events = every_split(stream)
    assert [e.data for e in framed(events)] == [lying, MESSAGES[1], MESSAGES[2]]
    assert skipped(events) == []
    first = framed(events)[0]
    assert not first.truncated
    (problem,) = first.problems
    assert problem.rule == "cvip.header.size_mismatch" and "next header" in problem.message
    rec = dissect(first.data, "tcp")
    assert rec.kind == "request" and not rec.attrs["truncated"]
    assert "cvip.header.size_mismatch" not in {p.rule for p in rec.problems}  # once only


def test_a_size_a_few_bytes_too_large_still_finds_the_next_header() -> None:
    lying = encode_header(9 + len(BODY) + 2, 9) + BODY  # covers the next header's first 2
    events = every_split(lying + MESSAGES[2] + MESSAGES[4])
    assert [e.data for e in framed(events)] == [lying, MESSAGES[2], MESSAGES[4]]


def test_a_size_below_the_header_is_reported_and_framing_resumes_at_the_next_header() -> None:
    small = encode_header(4, 10) + BODY + b"\r\n"
    stream = MESSAGES[0] + small + MESSAGES[2]
    events = every_split(stream)
    assert [e.data for e in framed(events)] == [MESSAGES[0], small, MESSAGES[2]]
    assert skipped(events) == []
    rec = dissect(small, "tcp")
    assert rec.kind == "request" and rec.txn == 10
    (problem,) = [p for p in rec.problems if p.rule == "cvip.header.size_mismatch"]
    assert "says 4 bytes" in problem.message


def test_a_size_beyond_the_cap_in_both_orders_with_xml_ends_at_the_xml() -> None:
    huge = encode_header(0x7FFFFFF0, 11) + BODY
    events = every_split(huge + MESSAGES[1])
    first, second = framed(events)
    assert (first.data, second.data) == (huge, MESSAGES[1]) and not first.truncated
    assert [p.rule for p in first.problems] == ["cvip.header.size_cap"]
    assert dissect(first.data, "tcp").kind == "request"


def test_a_correct_size_with_blanks_after_the_xml_is_not_cut() -> None:
    padded = encode_message(BODY + b"\r\n\r\n", 12)
    events = every_split(padded + MESSAGES[0])
    assert [e.data for e in framed(events)] == [padded, MESSAGES[0]]
    assert all(not e.problems for e in framed(events))


def test_an_xml_end_then_no_header_inside_the_declared_size_keeps_the_size() -> None:
    trailing = encode_message(BODY + b"<!-- more -->", 13)
    events = every_split(trailing + MESSAGES[1])
    assert [e.data for e in framed(events)] == [trailing, MESSAGES[1]]


def test_an_open_ended_message_cut_by_a_gap_or_the_end_is_truncated() -> None:
    small = encode_header(0, 14) + BODY[:40]
    framer = CvipFramer()
    events = framer.feed(small) + framer.gap(10) + framer.feed(MESSAGES[0]) + framer.close()
    cut = framed(events)[0]
    assert cut.truncated and cut.data == small
    assert framed(events)[-1].data == MESSAGES[0]
    (end,) = run([small])
    assert end.truncated and "before the message's XML did" in end.problems[0].message
