"""Captures of the framing cases real traffic brings (issue 12 items 1 and 2): headers and
lengths a framer must decide on all their evidence, made by the project's own encoders
(the CVIP reference peers' session, :mod:`cvipsniff.sim.imageserver.encode`).

A scenario producer like the protocols' own (see :mod:`cvipsniff.sim.synth.corpus`): no
clean or violation scenarios, two *field* scenarios written to ``captures/field/``:

* ``cvip-field-framing``: a ``01 02`` header whose Packet Size only makes sense
  big-endian, a header with version 0x0200, a Packet Size pointing 40 bytes past the
  next header, and a Packet Size below the header's 9 bytes, each between ordinary
  exchanges, all answered;
* ``imageserver-field-framing``: a JPEG ImageResponse whose body holds the double CR-LF,
  ``ImageResponse`` and ``--boundary`` with an honest Content-length, and a multipart
  answer without its closing boundary followed by the next answer.

Each message's truth lists the rules an analyser reports on it.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from cvipsniff.sim.imageserver import encode as imgs
from cvipsniff.sim.imageserver.jpeg import test_pattern_jpeg
from cvipsniff.sim.transcript import Conversation, MessageTruth, Scenario, WireMessage

__all__ = ["build_field_scenarios", "build_scenarios", "build_violation_scenarios"]

CLIENT = ("192.0.2.100", 52110)
IMAGE_SERVER = ("192.0.2.40", 7563)
#: Bytes a binary body may hold that look like the end of a message and the next one.
TRAP = (b"\r\n\r\nImageResponse\r\nRequestId: 99\r\n\r\n<methodresponse>\r\n"
        b"--frontier\r\n\r\n")


def build_scenarios(seed: int = 1) -> list[Scenario]:
    """No clean scenarios: the framing cases are field shapes."""
    return []


def build_violation_scenarios(seed: int = 1) -> list[Scenario]:
    """No violation scenarios of their own."""
    return []


def build_field_scenarios(seed: int = 1) -> list[Scenario]:
    return [_cvip_framing(seed), _imageserver_framing()]


class _Timeline:
    """Messages of one conversation, 2 ms apart."""

    def __init__(self) -> None:
        self.messages: list[WireMessage] = []

    def add(self, direction: int, data: bytes, truth: MessageTruth) -> None:
        self.messages.append(WireMessage(direction, data, 2.0 * (len(self.messages) + 1), truth))


def _cvip_framing(seed: int) -> Scenario:
    """The reference peers' own configuration session, with the headers of four requests
    rewritten (bodies untouched) between ordinary exchanges."""
    from cvipsniff.sim.cvip.scenarios import build_scenarios

    (session,) = [s for s in build_scenarios(seed) if s.name == "cvip-configure"]
    conv = next(c for c in session.conversations if c.transport == "tcp")
    pairs = [(a, b) for a, b in itertools.pairwise(conv.messages)
             if a.direction == 0 and b.direction == 1 and a.truth.txn == b.truth.txn
             and a.truth.kind == "request"][:9]

    def version_0102_big_endian_size(data: bytes) -> bytes:
        return b"\x01\x02" + data[2:]  # big-endian throughout, the version written backwards

    def version_0200(data: bytes) -> bytes:
        return b"\x02\x00" + data[2:]

    def size_past_next_header(data: bytes) -> bytes:
        return data[:5] + (len(data) + 40).to_bytes(4, "big") + data[9:]

    def size_below_header(data: bytes) -> bytes:
        return data[:5] + (4).to_bytes(4, "big") + data[9:]

    faults = {1: (version_0102_big_endian_size, "cvip.header.byte_order"),
              3: (version_0200, "cvip.header.version"),
              5: (size_past_next_header, "cvip.header.size_mismatch"),
              7: (size_below_header, "cvip.header.size_mismatch")}
    line = _Timeline()
    held: list[WireMessage] = []  # answers of a pipelined pair, sent after the next request
    for i, (request, answer) in enumerate(pairs):
        data, truth = request.data, request.truth
        if i in faults:
            rewrite, rule = faults[i]
            data = rewrite(data)
            truth = replace(truth, violations=[*truth.violations, rule])
        line.add(0, data, truth)
        held.append(answer)
        # A request whose end only the next header shows (a size past it, or below 9) is
        # sent pipelined: the client's next request follows before the answers, as a
        # client that does not wait for answers sends them.
        if i not in (5, 7):
            for waiting in held:
                line.add(1, waiting.data, waiting.truth)
            held.clear()
    return Scenario(
        "cvip-field-framing",
        "CVIP headers decided on all their evidence (the reference peers' configuration "
        "session): version bytes 01 02 with a big-endian size, version 0x0200, a size "
        "pointing past the next header, a size below 9 (those two pipelined)",
        [Conversation("tcp", conv.client, conv.server, line.messages)])


def _imageserver_framing() -> Scenario:
    line = _Timeline()
    picture = test_pattern_jpeg(64, 48)
    trapped = picture[:300] + TRAP + picture[300:]  # inside the entropy-coded data
    headers = imgs.ImageHeaders(requestid=1, prev=1_700_000_000_000,
                                current=1_700_000_000_040, next=1_700_000_000_080)
    line.add(0, imgs.goto_request(1, 1_700_000_000_040),
             MessageTruth("imageserver", "request", 1, "goto"))
    line.add(1, imgs.image_response(headers, trapped),
             MessageTruth("imageserver", "imageresponse", 1, is_response=True, answers=1))
    line.add(0, imgs.goto_request(2, 1_700_000_000_080),
             MessageTruth("imageserver", "request", 2, "goto"))
    parts = imgs.Multipart((imgs.Part(b"\x00\x01" + TRAP + b"\r\n--frontier--\r\n\x02"),
                            imgs.Part(picture, content_type=imgs.CONTENT_TYPE_JPEG)),
                           boundary="frontier", close=False)
    line.add(1, imgs.multipart_image_response(
        imgs.ImageHeaders(requestid=2, prev=1_700_000_000_040, current=1_700_000_000_080,
                          next=1_700_000_000_120), parts),
        MessageTruth("imageserver", "imageresponse", 2, is_response=True, answers=2,
                     violations=["imageserver.multipart.structure"]))
    line.add(0, imgs.goto_request(3, 1_700_000_000_120),
             MessageTruth("imageserver", "request", 3, "goto"))
    line.add(1, imgs.image_response(
        imgs.ImageHeaders(requestid=3, prev=1_700_000_000_080, current=1_700_000_000_120,
                          next=1_700_000_000_160), picture),
        MessageTruth("imageserver", "imageresponse", 3, is_response=True, answers=3))
    return Scenario(
        "imageserver-field-framing",
        "ImageServer lengths decided on their evidence: a JPEG body holding the double "
        "CR-LF, ImageResponse and --boundary under an honest Content-length; a multipart "
        "answer without its closing boundary (its parts' lengths end it) before the next",
        [Conversation("tcp", CLIENT, IMAGE_SERVER, line.messages)])
