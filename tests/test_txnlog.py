"""The transaction log: settled transactions spilled to a file give the same reports.

The contract is the all-in-memory run: with the threshold at zero (spill after every
message) every bundled capture's report, and ``read``'s per-message transactions, must be
byte for byte what they are with nothing spilled.
"""

from __future__ import annotations

import marshal
import pickle
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cvipsniff.analysis import txnlog
from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.model import STATES, MessageRef, Transaction
from cvipsniff.analysis.pairing import Pairer
from cvipsniff.analysis.txnlog import SPILL_ENV, TransactionLog, pack, unpack, values
from cvipsniff.commands.report import analyse_path
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.report import json_report
from dissectors.accel import COMPILED
from tests.cli_helpers import BUNDLED_CAPTURES, ROOT, run_cli

CAPTURES = BUNDLED_CAPTURES
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


# ---- the compiled spill (accel/src/pytxn.rs) against its reference --------------------

def _spill_both(txns: list[Transaction], held: set[int]) -> tuple[tuple | None, tuple]:
    """The compiled and the reference ``pack_settled`` of ``txns`` (positions 0..) from
    file offset 100, each on arrays of its own: (compiled result and its arrays, or None
    if it declined; the reference's)."""
    def arrays() -> tuple[array, array]:
        return array("q", [-1] * len(txns)), array("I", [0] * len(txns))

    memory = dict(enumerate(txns))
    offsets, sizes = arrays()
    compiled = txnlog._pack_settled(memory, held, offsets, sizes, 100)
    got = None if compiled is None else (compiled, offsets, sizes)
    if compiled is None:  # declined: nothing changed
        assert (offsets, sizes) == arrays()
    ref_offsets, ref_sizes = arrays()
    expected = txnlog.pack_settled(dict(enumerate(txns)), held, ref_offsets, ref_sizes, 100)
    return got, (expected, ref_offsets, ref_sizes)


def _records(data: bytes, offsets: array, sizes: array, written: list[Transaction],
             base: int) -> list[tuple]:
    return [marshal.loads(data[offsets[i] - base:offsets[i] - base + sizes[i]])
            for i in range(len(offsets)) if offsets[i] >= 0]


@pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built")
@given(st.lists(_transactions, max_size=12), st.data())
def test_the_compiled_spill_writes_what_the_reference_does(
        txns: list[Transaction], data: st.DataObject) -> None:
    held = data.draw(st.sets(st.sampled_from([t.number for t in txns]) if txns
                             else st.nothing()))
    got, (expected, ref_offsets, ref_sizes) = _spill_both(txns, held)
    if got is None:
        return  # declined (an int past 64 bits): the reference does it
    (kept, blob, end, written), offsets, sizes = got
    ref_kept, ref_blob, _ref_end, ref_written = expected
    assert list(kept.items()) == list(ref_kept.items())
    assert all(kept[p] is ref_kept[p] for p in kept)
    assert [id(t) for t in written] == [id(t) for t in ref_written]
    assert [o >= 0 for o in offsets] == [o >= 0 for o in ref_offsets]
    assert end == 100 + len(blob)
    # The same values back (the bytes may differ: marshal's back-references and interned
    # strings are not written), each record where its offset and size say.
    assert _records(blob, offsets, sizes, written, 100) == \
        _records(ref_blob, ref_offsets, ref_sizes, ref_written, 100) == \
        [values(t) for t in ref_written]


@pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built")
def test_the_compiled_spill_takes_the_analysis_transactions() -> None:
    """It answers for what the analysis makes (else the test above could not fail)."""
    txns = [*_numbered(20),
            Transaction(21, "imageserver", "7", 3, None, "orphan", None,
                        [MessageRef(50, (60, 61), 2**62, "image", None)], "many"),
            Transaction(22, "cvip-ping", None, 4, "ping", "unanswered",
                        MessageRef(51, (), -(2**63), "request", "ping"), [], "none")]
    got, _ = _spill_both(txns, {3})
    assert got is not None
    (kept, _blob, _end, written), _offsets, _sizes = got
    assert list(kept) == [2] and len(written) == 21


class _Text(str):
    pass


@pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built")
@pytest.mark.parametrize("odd", [True, 1.5, 2**63, -(2**63) - 1, _Text("x"), "\ud800", b"x",
                                 {"a": 1}, frozenset()])
def test_the_compiled_spill_declines_values_marshal_would_write_otherwise(odd: object) -> None:
    """A value outside the plain types declines the whole call and changes nothing (the
    reference then packs it as marshal does, a bool as a bool, or fails as it does)."""
    txns = _numbered(3)
    txns[1].id = odd  # type: ignore[assignment]
    offsets, sizes = array("q", [-1] * 3), array("I", [0] * 3)
    assert txnlog._pack_settled(dict(enumerate(txns)), set(), offsets, sizes, 0) is None
    assert list(offsets) == [-1] * 3 and list(sizes) == [0] * 3
