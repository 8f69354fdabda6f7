"""The reference client's patience: a late live stream makes a step slower, never wrong.

Driven on a simulated clock (sans-I/O), so every time here is exact.
"""

from __future__ import annotations

from cvipsniff.sim.imageserver import encode as E
from cvipsniff.sim.imageserver.client_logic import (
    ClientContext,
    ScenarioClient,
    Step,
    StepRecord,
)
from cvipsniff.sim.imageserver.reader import XmlAnswer

LIVEPACKAGE = E.livepackage(99, [E.StatusItem(1, 1)])


def _packages(rec: StepRecord) -> int:
    return sum(isinstance(e, XmlAnswer) for e in rec.events)


def _two_packages(ctx: ClientContext, rec: StepRecord) -> str | None:
    return None if _packages(rec) == 2 else f"{_packages(rec)} packages"


def _two_arrived(ctx: ClientContext, rec: StepRecord) -> bool:
    return _packages(rec) >= 2


def _client(patience_ms: float, answer: str = "stream") -> ScenarioClient:
    step = Step("wait", "live", lambda rid, ctx: b"<methodcall/>\r\n\r\n",
                answer,  # type: ignore[arg-type]
                _two_packages, wait_ms=400.0, think_ms=0.0, patience_ms=patience_ms,
                arrived=_two_arrived)
    return ScenarioClient([step], ClientContext("token", "camera"))


def test_without_patience_the_step_is_judged_at_its_wait() -> None:
    client = _client(0.0)
    assert len(client.poll(0.0)) == 1
    client.receive(LIVEPACKAGE, 100.0)
    assert client.next_deadline() == 400.0
    client.poll(400.0)
    assert client.done
    assert [(r.ok, r.detail) for r in client.results] == [(False, "1 packages")]


def test_a_late_stream_passes_as_soon_as_it_shows_what_was_awaited() -> None:
    client = _client(5_000.0)
    client.poll(0.0)
    client.receive(LIVEPACKAGE, 100.0)
    client.poll(400.0)
    assert not client.done
    assert client.next_deadline() == 5_400.0  # listening on, bounded
    client.receive(LIVEPACKAGE, 1_300.0)
    assert client.done  # judged at the arrival, not at the end of the patience
    assert [r.ok for r in client.results] == [True]


def test_a_stream_that_never_comes_fails_when_the_patience_is_spent() -> None:
    client = _client(5_000.0)
    client.poll(0.0)
    client.poll(400.0)
    client.poll(5_399.0)
    assert not client.done
    client.poll(5_400.0)
    assert client.done
    assert [(r.ok, r.detail) for r in client.results] == [(False, "0 packages")]


def test_a_stream_on_time_ends_at_its_wait_whatever_the_patience() -> None:
    client = _client(5_000.0)
    client.poll(0.0)
    client.receive(LIVEPACKAGE + LIVEPACKAGE, 50.0)
    assert not client.done  # a stream is collected for its whole wait
    client.poll(400.0)
    assert client.done and [r.ok for r in client.results] == [True]


def test_a_wrong_stream_on_time_is_judged_at_its_wait() -> None:
    client = _client(5_000.0)
    client.poll(0.0)
    client.receive(LIVEPACKAGE * 3, 50.0)  # all arrived, but one too many
    client.poll(400.0)
    assert client.done
    assert [(r.ok, r.detail) for r in client.results] == [(False, "3 packages")]


def test_answered_steps_have_no_patience() -> None:
    client = _client(5_000.0, answer="xml")
    client.poll(0.0)
    client.poll(400.0)
    assert client.done
    assert [(r.ok, r.detail) for r in client.results] == [(False, "no answer within 400 ms")]
