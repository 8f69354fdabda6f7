"""ImageServer scenarios of the shapes real peers send (issue 12; the dissector's
``DECISIONS.md`` items 23, 28 and 29), made by the reference client and server in process
like every other scenario.

Facts were learnt from public implementations that talk to real recording servers
(Milestone's TcpVideoViewer sample, go2rtc's ``pkg/milestone``, conticomp's
xprotect-export); nothing of their code is used. Each message's truth lists the rule ids an
analyser reports on it (``MessageTruth.violations``): most are graded warning or info by
default, the shape being one the field sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from cvipsniff.sim.imageserver import encode, faults
from cvipsniff.sim.imageserver.client_logic import ClientContext, Step
from cvipsniff.sim.imageserver.scenarios import _Builder, _rid
from cvipsniff.sim.imageserver.scripts import (
    ClientOptions,
    alarms_range_step,
    begin_step,
    connect_step,
    context_for,
    next_step,
    ptz_step,
    xml_step,
)
from cvipsniff.sim.imageserver.server_logic import LARGE_CAMERA_ID
from cvipsniff.sim.transcript import Scenario

__all__ = ["build_field_scenarios"]

BASIC_USER = ("operator", "operator-password")


def _connect(name: str, *, cameraid: bool = True, connectparam: bool = True,
             camera_param: Callable[[str], str] = lambda cam: cam,
             credentials: tuple[str, str] = ("dummy", "dummy"),
             violations: tuple[str, ...] = ()) -> Step:
    """A connect in one of the field's shapes: without ``<cameraid>`` (the camera named by
    connectparam id), without ``<connectparam>`` (basic credentials), or with a
    connectparam id as a client's formatting bug writes it."""
    def build(rid: int, ctx: ClientContext) -> bytes:
        param = encode.connect_param(camera_param(ctx.camera_id), ctx.token)
        return encode.connect_request(
            rid, username=credentials[0], password=credentials[1],
            cameraid=ctx.camera_id if cameraid else None,
            connectparam=param if connectparam else None, alwaysstdjpeg=True,
            pretty=ctx.pretty)

    def expect(ctx: ClientContext, doc) -> str | None:
        ctx.connected = doc.text("connected") == "yes"
        return None

    return xml_step(name, "connect", build, expect, violations=violations)


def _connectupdate_for(camera: str, violations: tuple[str, ...]) -> Step:
    def build(rid: int, ctx: ClientContext) -> bytes:
        return encode.connectupdate_request(rid, encode.connect_param(camera, ctx.token),
                                            pretty=ctx.pretty)
    return xml_step("connectupdate (another camera)", "connectupdate", build,
                    violations=violations)


def build_field_scenarios(seed: int = 1) -> list[Scenario]:
    """The field-shape scenarios, deterministic for a given ``seed``."""
    b = _Builder(seed)
    opts = ClientOptions(live_ms=1500.0)
    ctx = context_for(opts, "browse")
    out: list[Scenario] = []

    # Connect shapes the reference server accepts as a recording server does.
    by_id = b.run([_connect("connect (no cameraid)", cameraid=False,
                            violations=("imageserver.connect.cameraid",)),
                   alarms_range_step(), begin_step(),
                   _connectupdate_for(LARGE_CAMERA_ID, ("imageserver.txn.connectupdate_id",))],
                  replace(ctx))
    basic = b.run([_connect("connect (basic credentials)", connectparam=False,
                            credentials=BASIC_USER,
                            violations=("imageserver.connect.basic_credentials",)),
                   alarms_range_step(), begin_step(), next_step()],
                  replace(ctx), config=b.config(basic_users=(BASIC_USER,)),
                  start_ms=by_id.end_ms + 40.0)
    go_bug = b.run([_connect("connect (id formatted by a bug)",
                             camera_param=lambda cam: f"%!d(string={cam})",
                             violations=("imageserver.connect.guid",))],
                   replace(ctx), start_ms=basic.end_ms + 40.0)
    out.append(b.scenario(
        "imageserver-field-connect",
        "connect shapes of real clients: the camera named by connectparam id only (no "
        "cameraid), then a connectupdate naming another camera (refused); basic credentials "
        "without connectparam; a connectparam id written as id=%!d(string=...) by a "
        "client's formatting bug (refused)", [by_id, basic, go_bug]))

    # Answers as recording servers send them.
    steps = [connect_step(stdjpeg=True, privacymask=False), alarms_range_step(),
             ptz_step("home"), begin_step(), next_step()]
    answers = b.run(steps, replace(ctx), faults=[
        faults.on_answer(_rid(steps, "connect"), faults.success_reason),
        faults.on_answer(_rid(steps, "ptz home"), faults.drop_requestid),
        faults.on_answer(_rid(steps, "begin"), faults.empty_answer),
        faults.on_answer(_rid(steps, "next"), faults.drop_requestid),
    ])
    out.append(b.scenario(
        "imageserver-field-answers",
        "answers of real recording servers: connect with errorreason Success and "
        "connected=yes, a ptz methodresponse without requestid, an empty-database answer "
        "(Content-length 0, times 0, no Content-type) and an ImageResponse without RequestId",
        [answers]))

    # Generic byte data layouts: video blocks, and multi packets holding video and audio.
    raw = [connect_step(stdjpeg=False, privacymask=False, multipart=True),
           alarms_range_step(), begin_step(), next_step()]
    blocks = b.run(raw, replace(ctx), config=b.config(gbd_layout="block"))
    multi = b.run(raw, replace(ctx), config=b.config(gbd_layout="multi"),
                  start_ms=blocks.end_ms + 40.0)
    out.append(b.scenario(
        "imageserver-field-generic-byte-data",
        "raw pictures as recording servers wrap them: multipart browse answers of video "
        "blocks (36-byte header with a header extension), then of multi packets (0xFEF0) "
        "holding a video stream packet and an audio packet", [blocks, multi]))
    return out
