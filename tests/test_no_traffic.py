"""No traffic is not a pass: a capture with no CVIP or ImageServer message (wrong port,
wrong file, wrong interface) gets ``capture.no_protocol_traffic``, an error naming what
was seen, so the default gate fails; the rule is re-gradable like any other. The same in
``sniff --report``."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from cvipsniff.cli import main
from tests.cli_helpers import ROOT
from tests.test_live_loopback import Sniffer, _needs_capture_rights


def _http_only(path: Path) -> Path:
    """Two HTTP exchanges (ports 80 and 443) and one DNS datagram."""
    packets = []
    for sport, dport in ((40001, 80), (40002, 443)):
        c = Ether() / IP(src="10.0.0.1", dst="10.0.0.2")
        s = Ether() / IP(src="10.0.0.2", dst="10.0.0.1")
        packets += [c / TCP(sport=sport, dport=dport, flags="S", seq=100),
                    s / TCP(sport=dport, dport=sport, flags="SA", seq=500, ack=101),
                    c / TCP(sport=sport, dport=dport, flags="A", seq=101, ack=501),
                    c / TCP(sport=sport, dport=dport, flags="PA", seq=101, ack=501)
                    / b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                    s / TCP(sport=dport, dport=sport, flags="PA", seq=501, ack=128)
                    / b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]
    packets.append(Ether() / IP(src="10.0.0.1", dst="10.0.0.3") / UDP(sport=5353, dport=53)
                   / bytes(12))
    for i, p in enumerate(packets):
        p.time = 1_700_000_000 + i / 100
    wrpcap(str(path), packets)
    return path


def test_an_http_only_capture_fails_the_default_gate(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _http_only(tmp_path / "http.pcap")
    assert main(["report", "--format", "json", str(path)]) == 1
    findings = json.loads(capsys.readouterr().out)["files"][0]["findings"]
    assert [f["rule"] for f in findings] == ["capture.no_protocol_traffic"]
    message = findings[0]["message"]
    assert findings[0]["severity"] == "error"
    assert "2 TCP flows on ports 80, 443" in message and "1 UDP flow on port 53" in message
    assert "try -d tcp.port==N,cvip" in message
    assert main(["report", str(path)]) == 1
    assert "[FAIL]" in capsys.readouterr().out
    # a display filter selects nothing, and still the capture does not pass
    assert main(["report", "-Y", "cvip", str(path)]) == 1


def test_the_rule_is_regradable(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _http_only(tmp_path / "http.pcap")
    (tmp_path / "cvipsniff.toml").write_text(
        '[rules.severity]\n"capture.no_protocol_traffic" = "warning"\n')
    assert main(["report", str(path)]) == 0
    assert "[warning] capture.no_protocol_traffic" in capsys.readouterr().out


def test_a_capture_with_messages_has_no_such_finding(capsys) -> None:
    demo = ROOT / "captures" / "scenarios" / "imageserver-browse.pcapng"
    assert main(["report", "--format", "json", str(demo)]) == 0
    findings = json.loads(capsys.readouterr().out)["files"][0]["findings"]
    assert all(f["rule"] != "capture.no_protocol_traffic" for f in findings)


@pytest.mark.live
def test_sniff_report_fails_on_an_interface_without_our_traffic(tmp_path) -> None:
    _needs_capture_rights("scapy")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    # -c 4: the capture ends by itself once it has the handshake and the request
    sniffer = Sniffer(["-i", "lo", "-f", f"tcp port {port}", "-c", "4", "--report", "json",
                       "-o", str(tmp_path / "report.json")], tmp_path).start()
    try:
        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            client.recv(1024)
        thread.join(10)
        assert sniffer.proc is not None
        code = sniffer.proc.wait(60)
    finally:
        sniffer.kill()
        server.close()
    report = json.loads((tmp_path / "report.json").read_text())
    findings = report["files"][0]["findings"]
    assert code == 1, sniffer.stderr_lines
    assert [f["rule"] for f in findings] == ["capture.no_protocol_traffic"]
    assert f"port {port}" in findings[0]["message"] or f"ports {port}" in findings[0]["message"]
