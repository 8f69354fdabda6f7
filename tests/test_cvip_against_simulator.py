"""Cross-check against an independent implementation: the CVIP reference peers in
``cvipsniff.sim.cvip`` were written from the same document without looking at this
dissector. Every message they produce carries its truth (kind, transaction, method, the
rules it deliberately breaks); the dissector must agree on each, and report no
per-message violation the peers did not inject. Cross-message rules (pairing) are the
conformance engine's, not the dissector's."""

from __future__ import annotations

import pytest

from dissectors.cvip import dissect

scenarios = pytest.importorskip("cvipsniff.sim.cvip.scenarios")

CROSS_MESSAGE = ("cvip.txn.", "cvip.ping.unanswered")


def messages():
    for scenario in scenarios.build_scenarios(1) + scenarios.build_violation_scenarios(1):
        for conv in scenario.conversations:
            for msg in conv.messages:
                yield scenario.name, conv.transport, msg


def test_dissector_agrees_with_the_reference_peers():
    checked = 0
    for name, transport, msg in messages():
        rec = dissect(msg.data, transport)
        truth = msg.truth
        where = (name, truth.kind, truth.method, truth.txn)
        assert (rec.protocol, rec.kind, rec.txn) == (truth.protocol, truth.kind, truth.txn), where
        assert rec.is_response == truth.is_response, where
        if rec.kind in ("request", "event"):
            assert (rec.method or "").lower() == (truth.method or "").lower(), where
        injected = {r for r in truth.violations if not r.startswith(CROSS_MESSAGE)}
        found = {p.rule for p in rec.problems if p.severity != "info"}
        assert injected <= {p.rule for p in rec.problems}, (where, injected, rec.problems)
        assert found <= injected, (where, found - injected,
                                   [p.message for p in rec.problems if p.rule not in injected])
        checked += 1
    assert checked > 100
