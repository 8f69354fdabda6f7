"""CVIP Ping Request (16 bytes) and Response (37 bytes), §Command details 3.2."""

from __future__ import annotations

import pytest

from dissectors.cvip import dissect, encode_header, encode_ping_request, encode_ping_response

GUID = bytes(range(1, 17))

# Built by hand from the layout tables, field by field.
REQUEST = (bytes.fromhex("0201" "01" "0003" "00000010")  # header: ping, txn 3, 16 bytes
           + bytes([192, 168, 1, 20])  # IP Address of the client
           + (7110).to_bytes(2, "big")  # CVIP Port
           + bytes([0x10]))  # Connection Type: UDP broadcast
RESPONSE = (bytes.fromhex("0201" "01" "8003" "00000025")  # response bit, 37 bytes
            + bytes([10, 0, 0, 5]) + (7110).to_bytes(2, "big") + bytes([0x0C])
            + GUID + (0x0042).to_bytes(2, "big") + (0x0107).to_bytes(2, "big") + b"\x01")


def rules(rec):
    return {p.rule for p in rec.problems}


def test_request_layout():
    assert len(REQUEST) == 16
    assert encode_ping_request(3, "192.168.1.20", 7110, 0x10) == REQUEST
    rec = dissect(REQUEST, "udp")
    assert rec.protocol == "cvip-ping" and rec.kind == "ping-request"
    assert rec.txn == 3 and rec.is_response is False and rec.method is None
    assert rec.problems == []
    assert rec.attrs["ip"] == "192.168.1.20"
    assert rec.attrs["port"] == 7110
    assert rec.attrs["connection_type"] == 0x10
    assert rec.attrs["connection_type_name"] == "UDP broadcast"
    assert rec.info == "ping request txn=3 from 192.168.1.20:7110"
    spans = {f.key: (f.offset, f.length) for f in rec.walk()}
    assert spans["cvip.ping.ip"] == (9, 4)
    assert spans["cvip.ping.port"] == (13, 2)
    assert spans["cvip.ping.connection_type"] == (15, 1)
    assert rec.find("cvip.ping.connection_type").display == "UDP broadcast (0x10)"


def test_response_layout():
    assert len(RESPONSE) == 37
    assert encode_ping_response(3, "10.0.0.5", 7110, 0x0C, GUID, 0x42, 0x107, True) == RESPONSE
    rec = dissect(RESPONSE, "udp")
    assert rec.kind == "ping-response" and rec.is_response and rec.txn == 3
    assert rec.problems == []
    a = rec.attrs
    assert (a["ip"], a["port"], a["connection_type_name"]) == ("10.0.0.5", 7110, "TCP")
    assert a["guid"] == "01020304-0506-0708-090a-0b0c0d0e0f10"
    assert (a["manufacturer_id"], a["product_type"], a["status"], a["rebooted"]) == (
        0x42, 0x107, 1, True)
    assert rec.info == "ping response txn=3 10.0.0.5:7110 TCP mfr=0x0042 product=0x0107 rebooted"
    spans = {f.key: (f.offset, f.length) for f in rec.walk()}
    assert spans["cvip.ping.guid"] == (16, 16)
    assert spans["cvip.ping.manufacturer"] == (32, 2)
    assert spans["cvip.ping.product"] == (34, 2)
    assert spans["cvip.ping.status"] == (36, 1)


def test_ping_over_tcp_is_the_same_message():
    assert dissect(RESPONSE, "tcp").attrs["ip"] == "10.0.0.5"


def test_little_endian_ping():
    data = encode_ping_response(9, "10.0.0.5", 7110, 0x0C, GUID, 0x42, 0x107, False,
                                byte_order="little")
    rec = dissect(data, "udp")
    assert rec.kind == "ping-response" and rec.txn == 9
    assert (rec.attrs["port"], rec.attrs["manufacturer_id"]) == (7110, 0x42)
    assert rules(rec) == {"cvip.header.byte_order"}


@pytest.mark.parametrize("length", [15, 17, 36, 40])
def test_wrong_lengths(length):
    base = REQUEST if length < 30 else RESPONSE
    data = (base + b"\0" * 10)[:length]
    rec = dissect(data, "udp")
    assert "cvip.ping.length" in rules(rec)
    assert rec.protocol == "cvip-ping"


def test_short_response_decodes_what_is_there():
    data = RESPONSE[:30]
    data = encode_header(37, 3, True, 1) + data[9:]
    rec = dissect(data, "udp")
    assert rec.kind == "ping-response"  # by the response bit
    assert rec.attrs["ip"] == "10.0.0.5" and "guid" not in rec.attrs
    assert "cvip.ping.length" in rules(rec)
    assert rec.info.endswith("[truncated]")


def test_unknown_connection_type():
    rec = dissect(encode_ping_request(1, "1.2.3.4", 7110, 0x07), "udp")
    (p,) = rec.problems
    assert p.rule == "cvip.ping.connection_type" and (p.offset, p.length) == (15, 1)


def test_ping_types():
    # a request with message type 0x00 but the ping shape: still a ping, type reported
    data = bytes([2, 1, 0]) + REQUEST[3:]
    rec = dissect(data, "udp")
    assert rec.kind == "ping-request" and rules(rec) == {"cvip.ping.type"}
    # a response typed 0x02 (the "corrected" reading of the copy error) is accepted by
    # default and reported with ping_response_type="spec"
    corrected = encode_ping_response(3, "10.0.0.5", 7110, 0x0C, GUID, 1, 2, False, msg_type=2)
    assert dissect(corrected, "udp").problems == []
    strict = dissect(corrected, "udp", options={"ping_response_type": "spec"})
    assert rules(strict) == {"cvip.ping.type"}
    # a request typed 0x02 is wrong either way
    request2 = bytes([2, 1, 2]) + REQUEST[3:]
    assert rules(dissect(request2, "udp")) == {"cvip.ping.type"}


def test_response_bit_disagreeing_with_the_layout():
    data = encode_header(16, 3, True, 1) + REQUEST[9:]
    rec = dissect(data, "udp")
    assert rec.kind == "ping-request"  # 16 bytes: the request layout
    assert rules(rec) == {"cvip.header.response_bit"}


def test_reboot_status_values():
    rec = dissect(RESPONSE[:36] + b"\x00", "udp")
    assert rec.attrs["rebooted"] is False and rec.problems == []
    rec = dissect(RESPONSE[:36] + b"\x07", "udp")
    assert rules(rec) == {"cvip.field.enum"}
