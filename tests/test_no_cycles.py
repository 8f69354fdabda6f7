"""Dissecting leaves no reference cycles behind: garbage that only a full collection
frees piles up between collections (100,000 cut messages at the end of a capture held
every frame of their dissection alive through a kept exception's traceback)."""

from __future__ import annotations

import gc

from dissectors.cvip import PROTOCOL as CVIP
from dissectors.cvip import encode_header

MALFORMED = (b"<?xml version=\"1.0\"?><methodCall><methodName>cviUser.login"
             b"</methodName><params><param><value><string>x</value></param>")


def test_a_malformed_cvip_body_leaves_no_reference_cycle() -> None:
    message = encode_header(len(MALFORMED), 7) + MALFORMED
    CVIP.dissect(message, "tcp")  # warm caches (first-use objects are not garbage)
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            record = CVIP.dissect(message, "tcp")
            assert any("xml" in p.rule for p in record.problems)
        assert gc.collect() == 0
    finally:
        gc.enable()
