"""The CVIPv2 record contract: the ProtocolSpec, the filter-key list, field offsets that
trace back to the bytes, JSON-able attrs, and the options mapping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dissectors import base
from dissectors.accel import COMPILED
from dissectors.cvip import (
    FIELDS,
    PROTOCOL,
    CvipFramer,
    Options,
    check_options,
    detect,
    dissect,
    encode_message,
    encode_ping_request,
    encode_ping_response,
    parse_options,
)
from dissectors.options import OptionError

DATA = Path(__file__).resolve().parent / "data" / "cvip"

CONSTRUCTED = [
    b"<methodCall><methodName>cviPtz.cmd</methodName><params><param><value><struct>"
    b"<member><name>GUID</name><value>00000001-0000-0000-0001EC901E30B</value></member>"
    b"<member><name>CmdType</name><value><int>3</int></value></member>"
    b"<member><name>CmdData</name><value><int>-4</int></value></member></struct></value>"
    b"</param></params></methodCall>",
    b"<methodResponse><params><param><value><struct><member><name>ErrorCode</name><value>"
    b"<uint>16777216</uint></value></member></struct></value></param></params></methodResponse>",
    b"<methodCall><methodName>cviUnit.getProperties</methodName><params><param><value><array>"
    b"<data><value>unitUpTime</value></data></array></value></param></params></methodCall>",
    b"<methodResponse><methodName>cviStream.list</methodName><params><param><value><array>"
    b"<data><value><struct><member><name>StreamID</name><value><i4>1</i4></value></member>"
    b"</struct></value></data></array></value></param></params></methodResponse>",
]


def corpus() -> list[bytes]:
    out = [encode_message(p.read_bytes(), 1, response="response" in p.name)
           for p in sorted(DATA.glob("*.xml"))]
    out += [encode_message(body, 2, response=b"Response" in body[:20]) for body in CONSTRUCTED]
    out += [encode_ping_request(3, "10.1.2.3", 7110, 0x01),
            encode_ping_response(3, "10.1.2.4", 7110, 0x0C, bytes(range(16)), 5, 6, True)]
    return out


def test_protocol_spec():
    assert isinstance(PROTOCOL, base.ProtocolSpec)
    assert PROTOCOL.name == "cvip"
    assert PROTOCOL.tcp_ports == (7110, 9990) and PROTOCOL.udp_ports == (7110, 9990)
    assert PROTOCOL.detect is detect and PROTOCOL.dissect is dissect
    # The compiled twin of the reference framer where the accelerator is built.
    assert isinstance(PROTOCOL.new_framer(), CvipFramer) is not COMPILED
    assert PROTOCOL.fields is FIELDS


def test_field_list_is_unique_and_typed():
    keys = [f.key for f in FIELDS]
    assert len(keys) == len(set(keys))
    assert all(k.startswith("cvip.") and f.label and f.type for k, f in zip(keys, FIELDS,
                                                                            strict=True))
    assert {"cvip.version", "cvip.txn", "cvip.response", "cvip.size", "cvip.kind",
            "cvip.service", "cvip.method", "cvip.ack.code", "cvip.ack.name", "cvip.ping.ip",
            "cvip.param", "cvip.param.CmdType", "cvip.param.videoInputHue"} <= set(keys)


def test_every_emitted_key_is_listed_and_every_offset_is_in_the_message():
    listed = {f.key for f in FIELDS}
    for data in corpus():
        for transport in ("tcp", "udp"):
            rec = dissect(data, transport)
            for f in rec.walk():
                assert f.key in listed, f.key
                assert f.offset == -1 or 0 <= f.offset <= f.offset + f.length <= len(data), f
            for p in rec.problems:
                assert p.offset == -1 or 0 <= p.offset <= p.offset + p.length <= len(data), p


def test_attrs_are_json_and_carry_the_contract_keys():
    for data in corpus():
        rec = dissect(data, "tcp")
        json.dumps(rec.attrs)
        assert {"byte_order", "version", "service", "method_name", "ack_code", "ack_name",
                "params", "truncated"} <= set(rec.attrs)
        assert isinstance(rec.attrs["params"], dict | list)
        if rec.protocol == "cvip-ping":
            assert rec.attrs["params"]["ip"].startswith("10.1.2.")
        assert rec.kind in ("request", "response", "ack", "event", "fault", "ping-request",
                            "ping-response", "unknown")
        assert rec.info


def test_constructed_messages():
    ptz, ack, props, listing = (dissect(encode_message(b, 2, response=b"Response" in b[:20]),
                                        "tcp") for b in CONSTRUCTED)
    assert ptz.find("cvip.param.CmdType").display == "Zoom (3)"
    assert ptz.find("cvip.param.GUID").value == "00000001-0000-0000-0001EC901E30B"
    assert {p.rule for p in ptz.problems} == {"cvip.field.missing"}
    assert (ack.kind, ack.attrs["ack_name"], ack.info) == ("ack", "Success", "ack Success txn=2")
    assert props.find("cvip.property").value == "unitUpTime" and props.problems == []
    assert listing.method == "cviStream.list"
    assert [f.value for f in listing.walk() if f.key == "cvip.param.StreamID"] == [1]


def test_options_mapping_is_strict():
    assert parse_options(None) == Options()
    opts = parse_options({"ack_table": "either", "strict_spelling": True})
    assert opts.ack_table == "either" and opts.strict_spelling is True
    assert parse_options(opts) is opts
    bad = {"bogus": 1, "guid_format": "nonsense", "xml_depth_cap": -3,
           "size_includes_header": "yes", "ack_table": 3}
    expected = {"bogus": "unknown option 'bogus'",
                "guid_format": "must be one of spec, rfc4122, either, not 'nonsense'",
                "xml_depth_cap": "must be at least 1, not -3",
                "size_includes_header": "must be true or false, not 'yes'",
                "ack_table": "must be a string, not 3"}
    for key, value in bad.items():
        with pytest.raises(OptionError, match=re.escape(expected[key])):
            check_options({key: value})
    with pytest.raises(OptionError, match=r"did you mean 'guid_format'\?"):
        parse_options({"guid_fromat": "spec"})
    # dissect never raises: a bad mapping passed directly is a problem naming the setting
    rec = dissect(corpus()[0], "tcp", options={"ack_table": 3})
    assert rec.protocol == "cvip"
    assert [p.rule for p in rec.problems] == ["dissector_error"]
    assert "ack_table" in rec.problems[0].message
