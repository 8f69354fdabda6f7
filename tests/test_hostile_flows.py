"""Flows without payload (a lone SYN, a port scan) are counted by ``report`` (issue 14:
a million SYN-only flows reported ``flows: 0``)."""

from __future__ import annotations

import contextlib
import io
import json

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap


def test_report_counts_flows_without_messages(tmp_path):
    from cvipsniff.cli import main

    path = tmp_path / "syn.pcap"
    wrpcap(str(path), [Ether() / IP(src="10.0.0.1", dst="10.0.0.2")
                       / TCP(sport=1000 + n, dport=7110, flags="S") for n in range(3)])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["report", str(path), "--format", "json"])
    assert code in (0, 1)
    summary = json.loads(out.getvalue())["files"][0]["summary"]
    assert summary["flows"] == 3
    assert sum(summary["messages"].values()) == 0
