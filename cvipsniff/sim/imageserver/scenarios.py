"""ImageServer scenario transcripts for the capture synthesizer.

:func:`build_scenarios` runs the reference client's scripts against the reference server in
process (no sockets, a seeded simulated clock) and returns what went over the wire, when,
and what each message is. :func:`build_violation_scenarios` does the same with one
deliberately broken message per scenario, whose truth lists exactly the rule ids
(docs/RULES.md) it breaks.

Truth conventions (``MessageTruth``):

* ``protocol`` is ``imageserver``; ``kind`` is ``request``, ``response`` (an XML
  methodresponse), ``imageresponse`` or ``livepackage``;
* ``txn`` is the requestid (an int); a live package carries none, so its ``txn`` is None;
* ``method`` is the method named in the message; an ImageResponse names none, so there it
  is the method of the request it answers (``live`` for live frames); a live package has
  none;
* ``is_response`` is False for requests and True for everything the server sends: the
  document counts live packages among the "series of responses" to ``live``, although
  they carry no requestid.

``Scenario.notes`` holds what the pairing stage cannot infer from single messages: the live
streams (one ``live`` request answered by many ImageResponses), the requests that get no
answer by design (``live`` with only adaptive streaming options), the client's verdict per
step and the server's notices.

Everything is a pure function of ``seed``: ports, latencies, the recording's layout and
the server clock.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from cvipsniff.sim.imageserver import encode, faults
from cvipsniff.sim.imageserver.client_logic import ClientContext, Step
from cvipsniff.sim.imageserver.inprocess import ConversationRun, Fault, run_conversation
from cvipsniff.sim.imageserver.scripts import (
    SCRIPTS,
    ClientOptions,
    alarms_range_step,
    begin_step,
    connect_step,
    context_for,
    goto_step,
    image_step,
    live_step,
    next_step,
    no_answer_step,
    ptz_step,
    refused_connect_step,
    stop_step,
    xml_step,
)
from cvipsniff.sim.imageserver.server_logic import RecordingServer, ServerConfig, Site
from cvipsniff.sim.transcript import Scenario

__all__ = ["build_field_scenarios", "build_scenarios", "build_violation_scenarios",
           "transcript_digest"]

GAP_BETWEEN_CONNECTIONS_MS = 40.0


class _Builder:
    """Shared state of one build: the seeded random source and the camera sites."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.epoch_ms = 1_700_000_000_000 + (seed % 1000) * 86_400_000
        self._sites: dict[ServerConfig, Site] = {}

    def config(self, **changes: Any) -> ServerConfig:
        return replace(ServerConfig(seed=self.seed, epoch_ms=self.epoch_ms), **changes)

    def run(self, steps: Sequence[Step], context: ClientContext, *,
            config: ServerConfig | None = None, start_ms: float = 0.0,
            faults: Sequence[Fault] = ()) -> ConversationRun:
        config = config or self.config()
        site = self._sites.get(config)
        if site is None:
            site = self._sites[config] = Site(config)
        start = start_ms + round(self.rng.uniform(1.0, 5.0), 3)
        return run_conversation(steps, context, RecordingServer(site=site), rng=self.rng,
                                start_ms=start, faults=faults)

    def scenario(self, name: str, description: str, runs: list[ConversationRun]) -> Scenario:
        return Scenario(name, description, [r.conversation for r in runs], _notes(runs))


def _notes(runs: list[ConversationRun]) -> dict[str, object]:
    live_streams: list[dict[str, object]] = []
    no_response: list[dict[str, object]] = []
    for n, run in enumerate(runs):
        msgs = run.conversation.messages
        answers = [m.truth.txn for m in msgs if m.direction == 1 and m.truth.txn is not None]
        livepackages = sum(1 for m in msgs if m.truth.kind == "livepackage")
        for req in (m for m in msgs if m.direction == 0):
            txn = req.truth.txn
            if req.truth.method == "live" and txn in answers:
                live_streams.append({"conversation": n, "requestid": txn,
                                     "imageresponses": answers.count(txn),
                                     "livepackages": livepackages})
            elif txn not in answers and not req.truth.violations:
                no_response.append({"conversation": n, "requestid": txn,
                                    "method": req.truth.method,
                                    "reason": "live with only adaptive streaming options"
                                    if req.truth.method == "live" else "not answered"})
    return {
        "live_streams": live_streams,
        "no_response_by_design": no_response,
        "client_results": [[{"step": r.name, "method": r.method, "requestid": r.requestid,
                             "ok": r.ok, "detail": r.detail} for r in run.results]
                           for run in runs],
        "server_notices": [list(run.notices) for run in runs],
    }


def _script(builder: _Builder, name: str, opts: ClientOptions, **kw: Any) -> ConversationRun:
    return builder.run(SCRIPTS[name](opts), context_for(opts, name), **kw)


def build_scenarios(seed: int = 1) -> list[Scenario]:
    """The conforming ImageServer scenarios, deterministic for a given ``seed``."""
    b = _Builder(seed)
    opts = ClientOptions(live_ms=2000.0)
    live_config = b.config(send_sequence_numbers=True, send_motion_level=True)
    refused = _script(b, "refused", opts)
    retry_steps = [connect_step(stdjpeg=True, privacymask=False), alarms_range_step(),
                   begin_step()]
    retry = b.run(retry_steps, context_for(opts, "browse"),
                  start_ms=refused.end_ms + GAP_BETWEEN_CONNECTIONS_MS)
    return [
        b.scenario("imageserver-browse",
                   "connect, alarms (range and around a time), then begin/next/previous/goto/"
                   "nextsequence/previoussequence/next-with-time/end answered by "
                   "ImageResponses with 160x120 JPEGs and a grid privacy mask",
                   [_script(b, "browse", opts)]),
        b.scenario("imageserver-live",
                   "connect, live (ImageResponses every 200 ms and livepackages every second, "
                   "with SequenceNumber/MotionLevel and a base64 XML privacy mask), two "
                   "adaptive-streaming-only live requests that get no response, "
                   "changelivecompressionrate, stop",
                   [_script(b, "live", opts, config=live_config)]),
        b.scenario("imageserver-multipart",
                   "connect with multipartdata=yes and alwaysstdjpeg=no: browse answered by "
                   "multipart/related ImageResponses of generic byte data parts, "
                   "then connectupdate",
                   [_script(b, "multipart", opts)]),
        b.scenario("imageserver-control",
                   "connect (with streamid and timerestriction), ptz, ptzcenter, ptzrectangle, "
                   "preset, output, alarms, aviinformation, connectupdate",
                   [_script(b, "control", opts)]),
        b.scenario("imageserver-connect-refused",
                   "a connect with an expired token refused (connected=no with errorreason), "
                   "then a new connection with a valid token that browses",
                   [refused, retry]),
        b.scenario("imageserver-large-image",
                   "connect to the camera whose recorded image is a ~200 KB JPEG, alarms, begin",
                   [_script(b, "large-image", opts)]),
    ]


# ---------------------------------------------------------------------- violations


def _rid(steps: Sequence[Step], name: str) -> int:
    """The requestid a step will get (scripts number their requests 1, 2, 3 …)."""
    assert all(s.requestid is None for s in steps)
    for n, step in enumerate(steps):
        if step.name == name:
            return n + 1
    raise KeyError(name)


def _raw(name: str, method: str, answer: str, violations: tuple[str, ...],
         children: tuple[encode.Element, ...] = (), wait_ms: float = 600.0) -> Step:
    """A request built by hand (to break it), as a step of the given answer kind."""
    def make(rid: int, ctx: ClientContext) -> bytes:
        return encode.methodcall(rid, method, *children)

    if answer == "none":
        return no_answer_step(name, method, make, wait_ms, violations=violations)
    if answer == "image":
        return image_step(name, method, make, violations=violations)
    return xml_step(name, method, make, violations=violations)


def build_violation_scenarios(seed: int = 1) -> list[Scenario]:
    """One deliberately broken message per scenario; its truth lists the rule ids broken."""
    b = _Builder(seed)
    opts = ClientOptions(live_ms=1500.0)
    ctx = context_for(opts, "browse")
    out: list[Scenario] = []

    def basic_connect(**kw: Any) -> Step:
        options: dict[str, Any] = {"stdjpeg": True, "privacymask": False, **kw}
        return connect_step(**options)

    def add(name: str, description: str, steps: list[Step], fault_list: Sequence[Fault] = (),
            config: ServerConfig | None = None) -> None:
        run = b.run(steps, replace(ctx), config=config, faults=fault_list)
        out.append(b.scenario(name, description, [run]))

    # A methodresponse naming another method than the request.
    steps = [basic_connect(), ptz_step("up"), ptz_step("home")]
    add("imageserver-violation-methodname-mismatch",
        "the answer to ptz names the method preset",
        steps, [faults.on_answer(_rid(steps, "ptz up"), faults.rename_method("preset"))])

    # A methodresponse with a requestid nobody used: an orphan, and the request unanswered.
    orphan = xml_step("preset", "preset", lambda rid, c: encode.preset_request(rid, "door"),
                      violations=("imageserver.txn.unanswered",), wait_ms=800.0)
    steps = [basic_connect(), orphan, ptz_step("home")]
    add("imageserver-violation-requestid-mismatch",
        "the answer to preset carries requestid 99: an orphan response, the request unanswered",
        steps, [faults.on_answer(_rid(steps, "preset"), faults.change_requestid(99))])

    # An ImageResponse whose Content-length is smaller than the body sent.
    steps = [basic_connect(), alarms_range_step(), begin_step(), next_step(),
             next_step("next (after)")]
    add("imageserver-violation-content-length",
        "the ImageResponse to next declares a Content-length 16 bytes short of its JPEG",
        steps, [faults.on_answer(_rid(steps, "next"), faults.shorten_content_length(16))])

    # Multipart without the closing boundary.
    steps = [basic_connect(stdjpeg=False, multipart=True), alarms_range_step(), begin_step(),
             next_step(), next_step("next (after)")]
    add("imageserver-violation-multipart-no-closing-boundary",
        "a multipart ImageResponse ends without --frontier--",
        steps, [faults.on_answer(_rid(steps, "next"), faults.drop_closing_boundary)])

    # Multipart part without Content-length.
    add("imageserver-violation-multipart-part-without-length",
        "the second part of a multipart ImageResponse has no Content-length",
        steps, [faults.on_answer(_rid(steps, "next"), faults.part_without_length(1))])

    # connected=no without errorreason.
    steps = [refused_connect_step()]
    add("imageserver-violation-connect-errorreason",
        "a refused connect (connected=no) without an errorreason",
        steps, [faults.on_answer(1, faults.drop_errorreason)])

    # Unknown status item in a live package.
    steps = [basic_connect(), live_step(1500.0), stop_step(settle_ms=300.0)]
    add("imageserver-violation-unknown-status-item",
        "the second livepackage carries status item 42, which the table does not define",
        steps, [faults.on_livepackage(2, faults.add_status_item(42))])

    # Malformed XML: a live package with an unclosed element. (A live package is paired
    # with nothing, so the malformation cannot also make a request look unanswered.)
    add("imageserver-violation-malformed-xml",
        "the second livepackage is not well-formed (a statusitem never closed)",
        steps, [faults.on_livepackage(2, faults.break_livepackage_xml)])

    # A yes/no field with another value.
    target = goto_step()
    bad_yes_no = image_step("goto (keyframesonly=true)", "goto", lambda rid, c: encode.methodcall(
        rid, "goto", encode.el("time", c.sequences[1][0] if len(c.sequences) > 1 else 0),
        encode.el("keyframesonly", "true")), violations=("imageserver.field.yesno",))
    add("imageserver-violation-bad-yes-no",
        "a goto request with keyframesonly=true instead of yes/no",
        [basic_connect(), alarms_range_step(), bad_yes_no, target])

    # XML where an ImageResponse is due.
    steps = [basic_connect(), alarms_range_step(), begin_step(), next_step()]
    add("imageserver-violation-wrong-answer-kind",
        "begin answered by an XML methodresponse instead of an ImageResponse",
        steps, [faults.on_answer(_rid(steps, "begin"), faults.answer_with_xml)])

    # A method the document does not define (the server ignores it).
    add("imageserver-violation-unknown-method",
        "a request for method snapshot, which the document does not define; no answer",
        [basic_connect(), _raw("snapshot", "snapshot", "none",
                               ("imageserver.method.unknown",)), ptz_step("home")])

    # A required element missing: goto without <time> (the server answers from its pointer).
    add("imageserver-violation-missing-element",
        "a goto request without its required time element",
        [basic_connect(), alarms_range_step(), begin_step(),
         _raw("goto (no time)", "goto", "image", ("imageserver.field.missing",),
              (encode.el("compressionrate", 25),)),
         next_step()])

    # A malformed millisecond time in an ImageResponse header.
    steps = [basic_connect(), alarms_range_step(), begin_step(), next_step(),
             next_step("next (after)")]
    add("imageserver-violation-malformed-time",
        "the ImageResponse to next gives Current as an ISO date instead of milliseconds",
        steps, [faults.on_answer(_rid(steps, "next"), faults.replace_header(
            "Current", "2023-11-14T22:13:20.000Z", "imageserver.field.time"))])

    # Privacy mask syntax: a grid row shorter than the grid's width.
    steps = [basic_connect(privacymask=True, maskversion=0), alarms_range_step(),
             begin_step(), next_step()]
    add("imageserver-violation-privacy-mask",
        "the first ImageResponse's PrivacyMask grid;4x3 has a row of two cells",
        steps, [faults.on_answer(_rid(steps, "begin"), faults.replace_header(
            "PrivacyMask", "grid;4x3;1100;10;0000", "imageserver.privacymask.syntax"))])

    # An unanswered request: the server never answers preset.
    unanswered = xml_step("preset", "preset", lambda rid, c: encode.preset_request(rid, "door"),
                          violations=("imageserver.txn.unanswered",), wait_ms=800.0)
    steps = [basic_connect(), unanswered, ptz_step("home")]
    add("imageserver-violation-unanswered",
        "a preset request the server never answers; the connection goes on",
        steps, [faults.on_answer(_rid(steps, "preset"), faults.drop)])
    return out


def build_field_scenarios(seed: int = 1) -> list[Scenario]:
    """Shapes real peers send (:mod:`.field_scenarios`)."""
    from cvipsniff.sim.imageserver.field_scenarios import build_field_scenarios as build

    return build(seed)


def transcript_digest(scenarios: Sequence[Scenario]) -> str:
    """SHA-256 over everything a transcript fixes: names, endpoints, each message's
    direction, time, bytes and truth. Equal digests mean byte-identical scenarios (a
    regression check for determinism across runs and machines)."""
    h = hashlib.sha256()
    for scenario in scenarios:
        h.update(scenario.name.encode() + b"\0")
        for conv in scenario.conversations:
            h.update(json.dumps([conv.transport, conv.client, conv.server]).encode())
            for m in conv.messages:
                h.update(json.dumps([m.direction, m.t_ms, asdict(m.truth)],
                                    sort_keys=True).encode())
                h.update(len(m.data).to_bytes(8, "big") + m.data)
    return h.hexdigest()
