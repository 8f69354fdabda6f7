"""The default capture filter: the protocols' ports and the mapped ones, valid BPF for
libpcap on the link types live capture meets."""

from __future__ import annotations

import pytest

from cvipsniff.live.capture_filter import default_capture_filter


def _terms(text: str) -> list[str]:
    return text.split(" or ")


def test_the_protocols_default_ports() -> None:
    terms = _terms(default_capture_filter())
    # CVIP listens on TCP and UDP 7110 and 9990; ImageServer on TCP 7563 only.
    assert terms[:3] == ["port 7110", "tcp port 7563", "port 9990"]
    assert "(ip[6:2] & 0x1fff != 0)" in terms  # later IPv4 fragments carry no ports
    assert "(ip6[6] == 44)" in terms


def test_decode_as_ports_join_by_transport() -> None:
    text = default_capture_filter({("tcp", 17110): "cvip", ("udp", 17110): "cvip",
                                   ("tcp", 17563): "imageserver", ("udp", 9999): "cvip"})
    terms = _terms(text)
    assert "port 17110" in terms and "tcp port 17110" not in terms
    assert "tcp port 17563" in terms and "udp port 9999" in terms
    assert terms.index("port 9990") < terms.index("udp port 9999") < terms.index("port 17110")


def test_extra_ports_and_duplicates_of_defaults() -> None:
    text = default_capture_filter({("tcp", 7110): "cvip"}, extra=[("udp", 7563)])
    terms = _terms(text)
    assert terms.count("port 7110") == 1
    assert "port 7563" in terms and "tcp port 7563" not in terms


@pytest.mark.parametrize("linktype", [1, 101, 113, 276])  # Ethernet, raw IP, cooked v1/v2
def test_libpcap_compiles_it(linktype: int) -> None:
    arch = pytest.importorskip("scapy.arch.common")
    try:
        program = arch.compile_filter(
            default_capture_filter({("tcp", 8000): "cvip"}), linktype=linktype)
    except ImportError:
        pytest.skip("libpcap not installed")
    assert program.bf_len > 10


def test_drops_before_the_filter_is_set_are_not_the_captures(monkeypatch) -> None:
    """The scapy backend's socket exists before its filter is attached: what the kernel
    dropped then (any traffic of a busy interface) is not counted as the capture's loss,
    what it drops afterwards is."""
    import struct

    from cvipsniff.live import packet_socket

    counters = [(5000, 4000), (3, 1), (2, 2)]  # before open's end, then two reads

    class Socket:
        def getsockname(self) -> tuple:
            return ("lo", 0x0003, 0, packet_socket.ARPHRD_LOOPBACK, b"")

        def setsockopt(self, *args: object) -> None:
            pass

        def getsockopt(self, level: int, option: int, size: int) -> bytes:
            assert (level, option) == (packet_socket.SOL_PACKET,
                                       packet_socket.PACKET_STATISTICS)
            return struct.pack("@II", *counters.pop(0))

    class Listener:
        ins = Socket()

        def close(self) -> None:
            pass

    monkeypatch.setattr(packet_socket.PacketSocketSource, "_listen", lambda self: Listener())
    source = packet_socket.PacketSocketSource("lo", "tcp port 1")
    source.open()
    assert source.stats().dropped == 1
    source.close()
    assert source.stats().dropped == 3
