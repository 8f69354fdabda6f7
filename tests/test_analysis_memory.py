"""What a report keeps per transaction stays small: the message → transaction index is an
array (not a dict per message) and message references share their name strings."""

from __future__ import annotations

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.pairing import TransactionIndex
from cvipsniff.commands.report import analyse_path
from cvipsniff.pipeline import PipelineConfig
from tests.cli_helpers import ROOT


def test_transaction_index_answers_as_a_dict_would() -> None:
    index = TransactionIndex()
    plain: dict[int, int] = {}
    for number, txn in [(1, 1), (2, 1), (5, 2), (3, 3), (4_000_000, 9), (7, 4), (2, 5)]:
        index[number] = txn
        plain[number] = txn
    for number in [0, 1, 2, 3, 4, 5, 6, 7, 8, 4_000_000, 4_000_001, -1]:
        assert index.get(number) == plain.get(number)


def test_references_of_one_method_share_its_name() -> None:
    result = analyse_path(str(ROOT / "captures" / "demo.pcapng"), AnalysisConfig(),
                          PipelineConfig(keep_data=False, tree=False))
    refs: dict[str, int] = {}
    ids: dict[str, set[int]] = {}
    for txn in result.transactions:
        for ref in [txn.request, *txn.responses]:
            if ref is not None and ref.method is not None:
                refs[ref.method] = refs.get(ref.method, 0) + 1
                ids.setdefault(ref.method, set()).add(id(ref.method))
    assert max(refs.values()) >= 2
    assert all(len(same) == 1 for same in ids.values())
