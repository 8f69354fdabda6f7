"""The reference ImageServer client: runs a script of steps and judges every answer.

Sans-I/O like the server: :meth:`ScenarioClient.poll` returns the requests due at a given
time, :meth:`ScenarioClient.receive` takes the server's bytes, and
:meth:`ScenarioClient.next_deadline` says when to call ``poll`` again. The same object is
driven by the asyncio client over a real socket and by the in-process scenario builder on a
simulated clock.

A :class:`Step` sends one request and says what should come back:

* ``xml`` / ``image``: one answer with the request's requestid (an XML methodresponse, or
  an ImageResponse), within ``wait_ms``; then ``settle_ms`` more of listening;
* ``stream``: a live stream, collected for ``wait_ms``;
* ``none``: nothing may carry this requestid during ``wait_ms``.

A ``stream`` or ``none`` step may also have ``patience_ms`` and an ``arrived`` test (has
what the step listens for come, such as two live frames and a live package?): if it has
not when ``wait_ms`` is up, the client keeps listening until it has, or the patience is
spent, and then judges the step. A busy machine (or a peer sharing the event loop with a
capture) then only makes the step slower, never wrong; on a simulated clock everything
arrives within ``wait_ms`` and nothing changes. (The test is about arrival only, so a
stream that came on time but is wrong is judged at ``wait_ms`` as before.)

Its ``check`` sees everything that arrived during the step and returns ``None`` or what is
wrong; the outcome is a :class:`StepResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from cvipsniff.sim.imageserver.reader import (
    ImageMessage,
    ServerMessage,
    ServerStreamReader,
    Unreadable,
    XmlAnswer,
)
from cvipsniff.sim.transcript import MessageTruth

Answer = Literal["xml", "image", "stream", "none"]


@dataclass(slots=True)
class ClientContext:
    """What the client has learnt so far (negotiated settings, database layout, live)."""

    token: str
    camera_id: str
    pretty: bool = True  # indented XML requests, as the document shows; False: one line
    connected: bool = False
    stdjpeg: bool = True
    multipart: bool = False
    size: tuple[int, int] | None = None
    db_start: int | None = None
    db_end: int | None = None
    sequences: list[tuple[int, int, int, int]] = field(default_factory=list)
    pointer_time: int | None = None  # time of the image the server's pointer is on
    live_requestid: int | None = None
    live_frames: int = 0
    livepackages: int = 0
    unreadable: int = 0
    values: dict[str, object] = field(default_factory=dict)  # per-script scratch space


@dataclass(slots=True)
class StepRecord:
    """What happened while a step was active (``events`` in arrival order)."""

    requestid: int
    sent_at: float
    events: list[ServerMessage] = field(default_factory=list)
    answer_index: int | None = None
    answered_at: float | None = None
    overtime: bool = False  # wait_ms is up, not all arrived: listening on with patience

    @property
    def answer(self) -> ServerMessage | None:
        return None if self.answer_index is None else self.events[self.answer_index]

    def after_answer(self) -> list[ServerMessage]:
        return [] if self.answer_index is None else self.events[self.answer_index + 1:]

    def others(self) -> list[ServerMessage]:
        return [e for n, e in enumerate(self.events) if n != self.answer_index]


Check = Callable[[ClientContext, StepRecord], str | None]


@dataclass(slots=True)
class Step:
    name: str
    method: str
    build: Callable[[int, ClientContext], bytes]  # (requestid, context) → request bytes
    answer: Answer
    check: Check
    wait_ms: float = 2000.0
    settle_ms: float = 0.0
    think_ms: float = 15.0
    violations: tuple[str, ...] = ()  # rule ids this request breaks on purpose
    requestid: int | None = None  # force a requestid instead of the running counter
    required: bool = False  # if it fails, the rest of the script cannot run
    patience_ms: float = 0.0  # stream/none: listen this much longer until ``arrived``
    arrived: Callable[[ClientContext, StepRecord], bool] | None = None


@dataclass(slots=True)
class StepResult:
    name: str
    method: str
    requestid: int
    ok: bool
    detail: str
    latency_ms: float | None

    def line(self) -> str:
        latency = "-" if self.latency_ms is None else f"{self.latency_ms:.1f} ms"
        status = "ok  " if self.ok else "FAIL"
        return f"{status} {self.name:<30} {self.method:<26} id={self.requestid:<4} " \
               f"{latency:>10}  {self.detail}"


@dataclass(slots=True)
class Request:
    """Bytes the client sends at ``at_ms``, with what it knows they are."""

    data: bytes
    truth: MessageTruth
    at_ms: float


def _requestid_of(msg: ServerMessage) -> str | None:
    if isinstance(msg, ImageMessage):
        return msg.requestid
    if isinstance(msg, XmlAnswer) and msg.message.tag == "methodresponse":
        return msg.message.requestid
    return None


class ScenarioClient:
    """Runs ``steps`` in order against one connection."""

    def __init__(self, steps: list[Step], context: ClientContext, start_ms: float = 0.0,
                 first_requestid: int = 1) -> None:
        self.steps = steps
        self.context = context
        self.results: list[StepResult] = []
        self.stray: list[ServerMessage] = []  # arrived while no step was active
        self._reader = ServerStreamReader()
        self._index = 0
        self._next_id = first_requestid
        self._active: Step | None = None
        self._record: StepRecord | None = None
        self._send_at = start_ms + (steps[0].think_ms if steps else 0.0)
        self.closed = False

    @property
    def done(self) -> bool:
        return self.closed or (self._active is None and self._index >= len(self.steps))

    def next_deadline(self) -> float | None:
        if self.done:
            return None
        step, rec = self._active, self._record
        if step is None or rec is None:
            return self._send_at
        if step.answer in ("xml", "image") and rec.answered_at is not None:
            return rec.answered_at + step.settle_ms
        if rec.overtime:
            return rec.sent_at + step.wait_ms + step.patience_ms
        return rec.sent_at + step.wait_ms

    def poll(self, now: float) -> list[Request]:
        """Finish the active step if its time is up; send the next request if due."""
        out: list[Request] = []
        while not self.done:
            if self._active is not None:
                deadline = self.next_deadline()
                if deadline is None or now < deadline:
                    break
                if self._worth_waiting():
                    self._listen_on()
                    continue
                self._finish(deadline)
                continue
            if now < self._send_at:
                break
            out.append(self._start(now))
        return out

    def receive(self, data: bytes, now: float) -> None:
        for msg in self._reader.feed(data):
            self._route(msg, now)
        step, rec = self._active, self._record
        if (step is not None and rec is not None and rec.overtime
                and step.arrived is not None and step.arrived(self.context, rec)):
            self._finish(now)  # what was awaited has come: no need to wait out the patience

    def connection_closed(self, now: float, reason: str = "connection closed") -> None:
        """The connection ended (``reason``): judge the active step, skip the rest."""
        for msg in self._reader.close():
            self._route(msg, now)
        if self._active is not None:
            self._finish(now)
        self._skip_rest(f"not run: {reason}")
        self.closed = True

    def _skip_rest(self, detail: str) -> None:
        for step in self.steps[self._index:]:
            self.results.append(StepResult(step.name, step.method, -1, False, detail, None))
        self._index = len(self.steps)

    # ----------------------------------------------------------------- internals

    def _start(self, now: float) -> Request:
        step = self.steps[self._index]
        self._index += 1
        if step.requestid is not None:
            requestid = step.requestid
        else:
            requestid = self._next_id
            self._next_id += 1
        data = step.build(requestid, self.context)
        self._active = step
        self._record = StepRecord(requestid, now)
        truth = MessageTruth("imageserver", "request", requestid, step.method,
                             is_response=False, violations=list(step.violations))
        return Request(data, truth, now)

    def _route(self, msg: ServerMessage, now: float) -> None:
        ctx = self.context
        if isinstance(msg, Unreadable):
            ctx.unreadable += 1
        elif isinstance(msg, XmlAnswer) and msg.message.tag == "livepackage":
            ctx.livepackages += 1
        elif (isinstance(msg, ImageMessage) and ctx.live_requestid is not None
              and msg.requestid == str(ctx.live_requestid)):
            ctx.live_frames += 1
        step, rec = self._active, self._record
        if step is None or rec is None:
            self.stray.append(msg)
            return
        rec.events.append(msg)
        if (rec.answer_index is None and step.answer in ("xml", "image", "stream")
                and _requestid_of(msg) == str(rec.requestid)
                and (step.answer != "stream" or isinstance(msg, ImageMessage))):
            rec.answer_index = len(rec.events) - 1
            rec.answered_at = now

    def _judge(self) -> str | None:
        """The active step's check on what arrived so far: ``None`` or what is wrong."""
        step, rec = self._active, self._record
        assert step is not None and rec is not None
        try:
            return step.check(self.context, rec)
        except Exception as exc:  # a check bug is a failed step, not a dead client
            return f"check raised {type(exc).__name__}: {exc}"

    def _listen_on(self) -> None:
        assert self._record is not None
        self._record.overtime = True

    def _worth_waiting(self) -> bool:
        """At the end of ``wait_ms``: has the step patience left and something to await?"""
        step, rec = self._active, self._record
        assert step is not None and rec is not None
        return (step.patience_ms > 0 and not rec.overtime and step.arrived is not None
                and step.answer in ("stream", "none") and not step.arrived(self.context, rec))

    def _finish(self, at: float) -> None:
        step, rec = self._active, self._record
        assert step is not None and rec is not None
        latency = None if rec.answered_at is None else rec.answered_at - rec.sent_at
        if step.answer in ("xml", "image") and rec.answer is None:
            problem: str | None = f"no answer within {step.wait_ms:.0f} ms"
        else:
            problem = self._judge()
        self.results.append(StepResult(step.name, step.method, rec.requestid, problem is None,
                                       problem or "as specified", latency))
        self._active = None
        self._record = None
        if problem is not None and step.required:
            self._skip_rest(f"not run: {step.name} failed")
        if self._index < len(self.steps):
            self._send_at = at + self.steps[self._index].think_ms
