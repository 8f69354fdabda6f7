"""The CVIPv2 spec tables as data: complete against the document, internally consistent,
every entry citing its section."""

from __future__ import annotations

import re

import pytest

from dissectors.cvip import tables as T
from dissectors.cvip.tables.enums import (
    ACK_EVENT,
    ACK_RESPONSE,
    BIT_SETS,
    CONNECTION_TYPE,
    ENTITY_TYPE,
    ENUMS,
    EVENT_TYPE,
    MAP_ENTITY_TYPE,
    PLAYBACK_STATE,
    PTZ_COMMAND,
    USER_PRIVILEGE,
)
from dissectors.cvip.tables.services import PROPERTY_SETS
from tests.conftest import SPEC_DIR

SPEC_FILE = SPEC_DIR / "cvipv2-protocol.txt"


@pytest.mark.skipif(not SPEC_FILE.exists(), reason="spec not present")
def test_every_method_titled_in_the_command_details_is_catalogued():
    lines = SPEC_FILE.read_text(encoding="utf-8").splitlines()
    start = lines.index("CVIPv2 command details")
    titles = set()
    for line in lines[start:]:
        m = re.match(r"(cvi[A-Za-z]+|[Ss]ystem)\.([A-Za-z]+)", line)
        if m and len(m.group(2)) > 1:  # not the property table's "cviMotionDetection.n"
            titles.add((m.group(1), m.group(2)))
    assert len(titles) >= 60
    for service, method in titles:
        spec = T.find_service(service)
        assert spec is not None, service
        assert T.find_methods(spec, method), f"{service}.{method}"


def test_catalogue_entries_are_complete():
    seen = set()
    for m in T.CATALOGUE:
        assert m.section.startswith("CVIPv2 §Command details "), m
        assert m.title and m.answer in ("ack", "response", "event", "unspecified")
        # every command gives at least one table; only list methods leave out the request
        assert m.request is not None or (m.name == "list" and m.response is not None), m
        if m.service != "*":
            assert T.find_service(m.service, strict=True) is not None, m.service
        for table in (m.request or (), m.response or ()):
            names = [T.fold(f.name) for f in table]
            assert len(names) == len(set(names)), (m.full_name, names)
        for f in (*(m.request or ()), *(m.response or ())):
            assert f.enum is None or f.enum in ENUMS
            assert f.bits is None or f.bits in BIT_SETS
            assert f.fmt is None or f.fmt in ("guid", "time14", "datetime19", "ipv4", "range3",
                                              "md5", "numeric", "service_id")
        if m.extra is not None:
            assert m.extra.table in PROPERTY_SETS
            carrier = m.request if m.extra.where == "request" else m.response
            assert T.find_field(carrier or (), m.extra.selector) is not None, m.full_name
        key = (m.service, m.name, m.section)
        assert key not in seen
        seen.add(key)
    # the one name the document gives to two sections
    assert len(T.find_methods(T.find_service("cviPlayback"), "getstatus")) == 2


def test_copy_error_titles_are_catalogued_where_the_section_puts_them():
    analytics = T.find_service("cviAnalytics")
    for name in ("create", "delete", "list"):
        (spec,) = T.find_methods(analytics, name)
        assert "4.4) Manage Analytics Service" in spec.section
    display = T.find_service("cviDisplay")
    (delete,) = T.find_methods(display, "delete")
    assert "4.3) Manage Display Service" in delete.section
    assert T.find_field(delete.request, "srcIp") is not None


def test_enums_as_printed():
    assert CONNECTION_TYPE.values == {1: "UDP unicast", 2: "UDP multicast",
                                      0x10: "UDP broadcast", 0x0C: "TCP"}
    assert sorted(PTZ_COMMAND.values) == list(range(8))
    assert sorted(PLAYBACK_STATE.values) == [0, 1, 2, 3, 4, 8, 9]
    assert sorted(ENTITY_TYPE.values) == [1, 2, 3, 4, 5, 6, 0x33]
    assert sorted(MAP_ENTITY_TYPE.values) == list(range(1, 13))
    assert EVENT_TYPE.mask == 0x3F and USER_PRIVILEGE.mask == 0x7F
    assert EVENT_TYPE.names_of(0x0C) == ["Motion", "Video Input"]
    assert EVENT_TYPE.unknown_bits(0x4C) == 0x40


def test_the_two_ack_tables_disagree_as_the_document_does():
    assert ACK_RESPONSE.values[0x01000003] == "Busy"
    assert ACK_RESPONSE.values[0x01000004] == "Invalid"
    assert 0x01000002 not in ACK_RESPONSE.values
    assert ACK_EVENT.values[0x01000002] == "Busy"
    assert ACK_EVENT.values[0x01000003] == "Invalid"
    assert 0x01000004 not in ACK_EVENT.values


def test_every_table_entry_cites_a_section():
    for e in (*ENUMS.values(), *BIT_SETS.values()):
        assert e.section.startswith("CVIPv2 §")
    for s in T.SERVICES:
        assert s.section.startswith("CVIPv2 §")
    for p in T.PROPERTIES:
        assert p.section == "CVIPv2 §Service and Properties 2. Properties"


def test_property_table_access_rights():
    unit = T.properties_of(T.find_service("cviUnit"), ())
    read_only = sorted(p.id for p in unit.values() if p.access == "ro")
    assert read_only == sorted(["unitProductName", "unitCompanyName", "unitMarketingName",
                                "unitFirmwareVersion", "unitOsVersion", "unitCpldVersion",
                                "unitBoardVersion", "unitUpTime", "unitTemperature",
                                "unitFreeMemory"])
    assert T.find_property(unit, "unitCvipName").access == "rw"
    network2 = T.properties_of(T.find_service("cviNetwork"), ("2",))
    assert T.find_property(network2, "networkIpAddress") is not None  # "networklpAddress"
    encoder = T.properties_of(T.find_service("cviVideo"), ("03", "2"))
    assert "videoencodertargetbitrate" in encoder
    assert T.properties_of(T.find_service("cviVideo"), ()) is None
    assert T.properties_of(T.find_service("cviStream"), ()) is None


def test_service_table_rows():
    names = {s.name for s in T.SERVICES}
    assert {"cvip", "cviUnit", "cviNVR", "cviClipExporter", "cviRecord", "cviDisplay",
            "cviStream", "cviUpdateFirmware", "cviNetwork", "cviVideo", "cviUser"} <= names
    assert T.find_service("cviNvr") is T.find_service("cviNVR")
    assert T.find_service("cviNvr", strict=True) is not None
    assert T.find_service("CVINVR", strict=True) is None
    video = T.find_service("cviVideo")
    assert len(video.listed_instances) == 8 * 3 and "08.2" in video.listed_instances
    assert T.find_service("cviAudio") is None


def test_name_folding():
    assert T.fold("persistant") == T.fold("Persistent")
    assert T.fold("\u0422\u0443\u0440\u0435") == T.fold("Type")  # Cyrillic look-alikes
    assert T.fold("functionsSupport") == T.fold("functionSupport")
    name = T.split_method("cviVideo.01.1.getProperties")
    assert (name.service, name.base, name.instance, name.method) == (
        "cviVideo.01.1", "cviVideo", ("01", "1"), "getProperties")
    assert T.split_method("describe").service == ""


def test_type_property_lists():
    assert T.type_property_names("profile", 0x04) == ("channel", "samplingFreq",
                                                      "samplingBits", "format")
    assert T.type_property_names("entity", 0x99) is None
    assert "VideoRecoderServiceID" in T.type_property_names("application", 0x04)
