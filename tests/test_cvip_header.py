"""The 9-byte CVIPv2 header (§Command details 2. CVIPv2 Message Header)."""

from __future__ import annotations

import pytest

from dissectors.cvip import dissect, encode_header, encode_message, parse_header
from dissectors.cvip.header import HEADER_SIZE, header_field, header_problems

# The document's example: version 0x0201, type 0x00, transaction 0x0001, a request whose
# size is 0x28 = 40 bytes, written in network order.
SPEC_EXAMPLE = bytes.fromhex("0201" "00" "0001" "00000028")


def test_spec_example_header():
    h = parse_header(SPEC_EXAMPLE)
    assert h is not None
    assert (h.version, h.msg_type, h.txn, h.response, h.size) == (0x0201, 0, 1, False, 40)
    assert h.byte_order == "big" and h.known_version
    assert header_problems(h) == []
    assert encode_header(40, 1) == SPEC_EXAMPLE


def test_spec_example_as_a_40_byte_message():
    body = b"<methodCall/>".ljust(31)  # 9 + 31 = the example's 40 bytes
    data = SPEC_EXAMPLE + body
    assert len(data) == 40
    for transport in ("tcp", "udp"):
        rec = dissect(data, transport)
        assert rec.txn == 1 and not rec.is_response and rec.attrs["size"] == 40
        assert rec.attrs["truncated"] is False
        assert "cvip.header.size_mismatch" not in {p.rule for p in rec.problems}
    assert encode_message(body, 1) == data


def test_response_flag_is_the_msb_of_the_transaction_number():
    h = parse_header(encode_header(9, 0x1234, response=True))
    assert h.txn == 0x1234 and h.response and h.raw_txn == 0x9234
    h = parse_header(bytes.fromhex("0201 00 ffff 00000009"))
    assert h.txn == 0x7FFF and h.response


def test_transaction_numbers_are_15_bits():
    assert parse_header(encode_header(9, 0x8001)).txn == 1
    assert parse_header(encode_header(9, 0)).txn == 0


def test_little_endian_peer_is_decoded_and_reported():
    data = bytes.fromhex("0102" "00" "0500" "28000000")
    h = parse_header(data)
    assert (h.version, h.txn, h.size, h.byte_order) == (0x0201, 5, 40, "little")
    (problem,) = header_problems(h)
    assert problem.rule == "cvip.header.byte_order" and problem.severity == "warning"
    assert (problem.offset, problem.length) == (0, 2)
    assert parse_header(encode_header(40, 5, byte_order="little")) == h


def test_unknown_version_is_decoded_big_endian_and_reported():
    h = parse_header(bytes.fromhex("0300 00 0007 00000010"))
    assert not h.known_version and h.byte_order == "big" and h.txn == 7 and h.size == 16
    (problem,) = header_problems(h)
    assert problem.rule == "cvip.header.version"
    assert "0x0300" in problem.message


def test_short_input_has_no_header():
    assert parse_header(SPEC_EXAMPLE[:8]) is None
    assert parse_header(SPEC_EXAMPLE, offset=1) is None
    assert parse_header(b"xx" + SPEC_EXAMPLE, offset=2).size == 40


@pytest.mark.parametrize("order", ["big", "little"])
def test_header_fields_point_at_their_bytes(order):
    data = encode_header(40, 0x1234, response=True, byte_order=order)
    node = header_field(parse_header(data))
    assert (node.key, node.offset, node.length) == ("cvip.header", 0, 9)
    by_key = {f.key: f for f in node.children}
    assert set(by_key) == {"cvip.version", "cvip.byte_order", "cvip.type", "cvip.txn",
                           "cvip.response", "cvip.size"}
    assert (by_key["cvip.version"].offset, by_key["cvip.version"].length) == (0, 2)
    assert (by_key["cvip.type"].offset, by_key["cvip.type"].length) == (2, 1)
    assert (by_key["cvip.txn"].offset, by_key["cvip.txn"].length) == (3, 2)
    assert (by_key["cvip.size"].offset, by_key["cvip.size"].length) == (5, 4)
    assert by_key["cvip.txn"].value == 0x1234
    assert by_key["cvip.response"].value is True
    flag_byte = by_key["cvip.response"].offset
    assert data[flag_byte] & 0x80  # the byte that carries the MSB of the txn field
    assert by_key["cvip.size"].value == 40
    assert by_key["cvip.byte_order"].value == order


def test_message_type_on_a_non_ping_message_is_reported():
    body = b"<methodCall><methodName>cviStream.list</methodName><params/></methodCall>"
    data = encode_header(HEADER_SIZE + len(body), 3, msg_type=0x05) + body
    rec = dissect(data, "tcp")
    assert rec.kind == "request"
    assert "cvip.header.message_type" in {p.rule for p in rec.problems}


def test_size_mismatch_on_udp_and_oversized_tcp():
    body = b"<methodCall><methodName>system.describe</methodName><params/></methodCall>"
    good = encode_message(body, 1)
    assert "cvip.header.size_mismatch" not in {p.rule for p in dissect(good, "udp").problems}
    lying = encode_header(len(good) + 5, 1) + body
    rec = dissect(lying, "udp")
    (p,) = [p for p in rec.problems if p.rule == "cvip.header.size_mismatch"]
    assert (p.offset, p.length) == (5, 4)
    # On TCP a message shorter than declared was ended by the framer, which says why:
    # cut inside its XML it is truncated, ...
    rec = dissect(lying[:-5], "tcp")
    assert rec.attrs["truncated"] is True and rec.info.endswith("[truncated]")
    assert not {"cvip.header.size_mismatch", "cvip.xml.malformed"} & {
        p.rule for p in rec.problems}
    # ... whole (ended where its XML ended and the next header began) it is not.
    rec = dissect(lying, "tcp")
    assert rec.attrs["truncated"] is False and rec.kind == "request"
    assert "cvip.header.size_mismatch" not in {p.rule for p in rec.problems}
    # ... but a TCP message longer than declared is.
    longer = encode_header(len(good) - 3, 1) + body
    assert "cvip.header.size_mismatch" in {p.rule for p in dissect(longer, "tcp").problems}


def test_size_counting_only_the_body_is_hinted_or_accepted_by_option():
    body = b"<methodCall><methodName>system.describe</methodName><params/></methodCall>"
    data = encode_header(len(body), 1) + body
    (p,) = [p for p in dissect(data, "udp").problems if p.rule == "cvip.header.size_mismatch"]
    assert "body length" in p.message
    rec = dissect(data, "udp", options={"size_includes_header": False})
    assert "cvip.header.size_mismatch" not in {p.rule for p in rec.problems}
