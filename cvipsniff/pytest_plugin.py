"""pytest plugin: cvipsniff captures and fixture sets as tests of another implementation.

Registered through the ``pytest11`` entry point, so installing cvipsniff is enough. It
offers plain helpers (importable from here) and pytest fixtures wrapping them:

* :func:`load_fixtures` / fixture ``cvipsniff_fixtures``: a capture, a fixture set or a
  directory of sets → fixture sets;
* :func:`iter_transactions`: each recorded transaction with its request and answer bytes
  and decoded records;
* :func:`replay_fixtures` / fixture ``cvipsniff_replay``: replay the recorded client side
  against a server the test started and return the verdicts; ``cvipsniff_replay``
  asserts that every transaction passed;
* :func:`assert_conforms` / fixture ``cvipsniff_assert_conforms``: the project's framer
  and dissector on bytes your implementation produced; an ``AssertionError`` lists every
  finding at or above ``fail_on``.

Nothing heavy is imported until a helper is used, so the plugin costs nothing to a test
run that does not use it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from cvipsniff.fixtures.model import FixtureSet
    from cvipsniff.fixtures.replay import Verdict

_RANK = {"info": 1, "warning": 2, "error": 3}


@dataclass(slots=True)
class RecordedTransaction:
    """One recorded transaction: what the client sent and what answered it."""

    fixture: str
    flow: int
    number: int
    protocol: str
    method: str | None
    id: Any
    state: str
    request: bytes | None
    answers: list[bytes]
    request_record: dict[str, Any] | None
    answer_records: list[dict[str, Any]]
    latency_ms: float | None


def load_fixtures(path: str | Any) -> list[FixtureSet]:
    """Fixture sets from a capture, a set directory or a directory of sets."""
    from cvipsniff.fixtures.load import load_sets

    return load_sets(str(path))


def _bytes(msg: dict[str, Any] | None) -> bytes | None:
    if msg is None or not msg.get("data"):
        return None
    return base64.b64decode(msg["data"])


def iter_transactions(sets: list[FixtureSet] | str | Any) -> Iterator[RecordedTransaction]:
    """Every recorded transaction, set by set, in capture order."""
    if not isinstance(sets, list):
        sets = load_fixtures(sets)
    for fixtures in sets:
        messages = fixtures.messages()
        for flow, txn in fixtures.transactions():
            request = messages.get(txn["request"]) if txn.get("request") else None
            answers = [messages[n] for n in txn["responses"] if n in messages]
            yield RecordedTransaction(
                fixtures.name, flow["flow"], txn["number"], txn["protocol"], txn.get("method"),
                txn.get("id"), txn["state"], _bytes(request),
                [b for b in (_bytes(a) for a in answers) if b is not None],
                request["record"] if request else None, [a["record"] for a in answers],
                txn.get("latency_ms"))


def replay_fixtures(sets: list[FixtureSet] | str | Any, host: str, port: int, *,
                    protocol: str | None = None, timeout: float = 3.0,
                    port_map: dict[int, int] | None = None) -> list[Verdict]:
    """Replay the recorded client side against ``host:port``; the verdicts, one per
    transaction (raises ``cvipsniff.fixtures.replay.ReplayError`` if unreachable).
    Call it from a synchronous test; the server may run in a thread or another process."""
    from cvipsniff.fixtures.replay import Options, replay

    if not isinstance(sets, list):
        sets = load_fixtures(sets)
    verdicts, _ = replay(sets, Options(host, port, protocol, timeout, dict(port_map or {})))
    return verdicts


def assert_replay_passes(verdicts: list[Verdict]) -> None:
    failed = [v for v in verdicts if v.verdict != "pass"]
    if failed:
        lines = [f"{len(failed)} of {len(verdicts)} transaction(s) did not pass:"]
        for v in failed:
            lines.append(f"  {v.verdict}: {v.fixture} {v.name}")
            lines.extend(f"      {d}" for d in v.details)
        raise AssertionError("\n".join(lines))


def assert_conforms(message_bytes: bytes, protocol: str = "cvip", *,
                    transport: str = "tcp", fail_on: str = "warning") -> None:
    """Check one message your implementation produced against the spec's rules.

    ``protocol`` is ``cvip`` (pings included) or ``imageserver``. Over TCP the bytes must
    also frame as exactly one message. Raises ``AssertionError`` listing every finding
    at or above ``fail_on`` (``info``, ``warning`` or ``error``)."""
    from cvipsniff.fixtures.live import spec_name
    from dissectors import registry
    from dissectors.base import Framed

    if fail_on not in _RANK:
        raise ValueError(f"fail_on must be one of {', '.join(_RANK)}")
    spec = registry().get(spec_name(protocol))
    if spec is None:
        raise ValueError(f"unknown protocol {protocol!r} (cvip or imageserver)")
    data = bytes(message_bytes)
    findings: list[str] = []
    if transport == "tcp":
        framer = spec.new_framer()
        events = [*framer.feed(data), *framer.close()]
        framed = [e for e in events if isinstance(e, Framed)]
        if len(framed) != 1 or len(framed[0].data) != len(data):
            findings.append(f"framing (error): the bytes frame as {len(framed)} message(s) "
                            f"and {len(events) - len(framed)} skipped stretch(es), "
                            "not exactly one message")
        for p in (framed[0].problems if framed else []):
            if _RANK.get(p.severity, 3) >= _RANK[fail_on]:
                findings.append(f"{p.rule} ({p.severity}): {p.message}")
    record = spec.dissect(data, transport)
    for p in record.problems:
        if _RANK.get(p.severity, 3) >= _RANK[fail_on]:
            findings.append(f"{p.rule} ({p.severity}): {p.message}"
                            + (f" [{p.spec}]" if p.spec else ""))
    if findings:
        raise AssertionError(f"{protocol} {record.kind} ({record.info}) does not conform: "
                             f"{len(findings)} finding(s)\n  " + "\n  ".join(findings))


@pytest.fixture
def cvipsniff_fixtures() -> Callable[[Any], list[FixtureSet]]:
    """``cvipsniff_fixtures(path)`` → fixture sets (capture, set or directory of sets)."""
    return load_fixtures


@pytest.fixture
def cvipsniff_transactions() -> Callable[..., Iterator[RecordedTransaction]]:
    """``cvipsniff_transactions(path_or_sets)`` → the recorded transactions."""
    return iter_transactions


@pytest.fixture
def cvipsniff_replay() -> Callable[..., list[Verdict]]:
    """``cvipsniff_replay(path_or_sets, host, port, **options)``: replays and asserts that
    every transaction passed (the AssertionError lists each failure and its diff)."""

    def run(sets: Any, host: str, port: int, **options: Any) -> list[Verdict]:
        verdicts = replay_fixtures(sets, host, port, **options)
        assert_replay_passes(verdicts)
        return verdicts

    return run


@pytest.fixture
def cvipsniff_assert_conforms() -> Callable[..., None]:
    """The :func:`assert_conforms` helper as a fixture."""
    return assert_conforms
