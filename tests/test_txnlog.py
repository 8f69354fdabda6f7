"""The transaction log: settled transactions spilled to a file give the same reports.

The contract is the all-in-memory run: with the threshold at zero (spill after every
message) every bundled capture's report, and ``read``'s per-message transactions, must be
byte for byte what they are with nothing spilled.
"""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.model import STATES, MessageRef, Transaction
from cvipsniff.analysis.pairing import Pairer
from cvipsniff.analysis.txnlog import SPILL_ENV, TransactionLog, pack, unpack
from cvipsniff.commands.report import analyse_path
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.report import json_report
from tests.cli_helpers import ROOT, run_cli

CAPTURES = sorted(p for p in (ROOT / "captures").rglob("*")
                  if p.is_file() and p.name.endswith((".pcap", ".pcapng")))
PIPELINE = PipelineConfig(keep_data=False, tree=False)

_names = st.sampled_from(["cviUser.login", "connect", "goto", "live", "é✓", ""]) | st.none()
_refs = st.builds(MessageRef, st.integers(1, 2**40),
                  st.lists(st.integers(1, 2**40), max_size=5).map(tuple),
                  st.integers(-(2**63), 2**64), st.sampled_from(["request", "response"]),
                  _names)
_transactions = st.builds(
    Transaction, st.integers(1, 10**9), st.sampled_from(["cvip", "cvip-ping", "imageserver"]),
    st.integers(0, 2**32) | st.text(max_size=40) | st.none(), st.integers(0, 10**7), _names,
    st.sampled_from(STATES), _refs | st.none(), st.lists(_refs, max_size=4),
    st.sampled_from(["one", "many", "none"]))


def _numbered(count: int) -> list[Transaction]:
    return [Transaction(n, "cvip", n, n % 7, "cviUser.login", "answered",
                        MessageRef(2 * n - 1, (n,), n * 1000, "request", "cviUser.login"),
                        [MessageRef(2 * n, (n + 1,), n * 1000 + 5, "response", None)])
            for n in range(1, count + 1)]


@given(_transactions)
def test_a_transaction_survives_the_file(txn: Transaction) -> None:
    assert unpack(pack(txn)) == txn


def test_the_log_reads_like_the_list_it_replaces() -> None:
    txns = _numbered(50)
    log = TransactionLog(spill_above=0)
    for txn in txns:
        log.append(txn)
    assert log.spill(held={7, 30}) == 48
    assert log.in_memory == 2
    assert log[6] is txns[6] and log[29] is txns[29]  # held ones stay the objects
    assert list(log) == txns and len(log) == 50 and log == txns
    assert log[0] == txns[0] and log[-1] == txns[-1] and log[10:13] == txns[10:13]
    with pytest.raises(IndexError):
        log[50]
    log.append(_numbered(51)[-1])  # appending after a spill, then spilling again
    assert log.spill(held=set()) == 3
    assert list(log) == _numbered(51)
    copy = pickle.loads(pickle.dumps(log))
    assert list(copy) == _numbered(51) and copy.spill_above == 0
    log.clear()
    assert not log and list(log) == [] and log.in_memory == 0


def test_nothing_spills_below_the_threshold_or_when_told_never() -> None:
    log = TransactionLog(spill_above=None)
    for txn in _numbered(20):
        log.append(txn)
    assert not log.wants_spill()
    small = TransactionLog(_numbered(5), spill_above=5)
    assert not small.wants_spill()
    small.append(_numbered(6)[-1])
    assert small.wants_spill()


def test_many_held_transactions_are_not_rescanned_on_every_message() -> None:
    """When more transactions stay open than the threshold (a long run of broadcast
    pings), the next spill waits until the log has doubled: linear, not quadratic."""
    log = TransactionLog(spill_above=10)
    txns = _numbered(100)
    for txn in txns:
        log.append(txn)
    assert log.wants_spill()
    assert log.spill(held={t.number for t in txns[:60]}) == 40
    for txn in _numbered(150)[100:]:
        log.append(txn)
    assert log.in_memory == 110 and not log.wants_spill()  # next spill above 120
    for txn in _numbered(161)[150:]:
        log.append(txn)
    assert log.wants_spill()
    assert list(log) == _numbered(161)


def test_the_pairer_keeps_outstanding_requests_in_memory(monkeypatch) -> None:
    """What may still change (an open request, a live stream) is never written out:
    answers that come long after other transactions spilled still reach it."""
    monkeypatch.setenv(SPILL_ENV, "0")
    assert Pairer().transactions.spill_above == 0
    path = str(ROOT / "captures" / "demo.pcapng")
    spilled = analyse_path(path, AnalysisConfig(), PIPELINE)
    assert spilled.analysis is not None
    log = spilled.analysis.transactions
    assert isinstance(log, TransactionLog) and log.in_memory < len(log)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_spilling_changes_no_report(capture, monkeypatch) -> None:
    path = str(capture)
    monkeypatch.setenv(SPILL_ENV, "100000000")
    kept = "".join(json_report.render([analyse_path(path, AnalysisConfig(), PIPELINE)],
                                      "warning"))
    monkeypatch.setenv(SPILL_ENV, "0")
    spilled = "".join(json_report.render([analyse_path(path, AnalysisConfig(), PIPELINE)],
                                         "warning"))
    assert spilled == kept


@pytest.mark.parametrize("name", ["demo.pcapng", "loopback-real.pcapng"])
def test_spilling_changes_no_read_output(name, monkeypatch) -> None:
    path = str(ROOT / "captures" / name)
    monkeypatch.setenv(SPILL_ENV, "100000000")
    kept = run_cli("read", "-r", path, "-T", "jsonl")
    monkeypatch.setenv(SPILL_ENV, "0")
    spilled = run_cli("read", "-r", path, "-T", "jsonl")
    assert kept.code == spilled.code == 0
    assert '"transaction"' in kept.stdout
    assert spilled.stdout == kept.stdout
