"""The JSON report's rows rendered straight from the objects are exactly the text of the
documented dicts (``transaction_json``) through the standard library's encoder."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.txnlog import values
from cvipsniff.commands.report import analyse_path
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.report import chunked, joined, json_report, write_pieces
from cvipsniff.report.jsontext import Rows, Spliced, dumps_indented, iter_indented
from tests.cli_helpers import BUNDLED_CAPTURES

CAPTURES = BUNDLED_CAPTURES


def test_every_bundled_capture_renders_as_the_standard_library_would() -> None:
    pipeline = PipelineConfig(keep_data=False, tree=False)
    results = [analyse_path(str(p), AnalysisConfig(), pipeline) for p in CAPTURES]
    assert sum(len(r.transactions) for r in results) > 500
    expected = json.dumps(json_report.report_json(results, "warning"), indent=1,
                          ensure_ascii=False) + "\n"
    assert "".join(json_report.render(results, "warning")) == expected


@pytest.mark.parametrize("items", [[], [1], [{"a": [1, 2]}, {"b": []}, None, "é"]])
@pytest.mark.parametrize("indent", [1, 3])
def test_rows_are_the_list_they_stand_for(items, indent: int) -> None:
    def render(item, nl, step):
        return dumps_indented(item, len(step)).replace("\n", nl)

    doc = {"x": [{"rows": Rows(items, render)}]}
    plain = {"x": [{"rows": items}]}
    want = json.dumps(plain, indent=indent, ensure_ascii=False)
    assert dumps_indented(doc, indent) == want
    assert "".join(iter_indented(doc, indent)) == want


@pytest.mark.parametrize("txn_id", [7, "é\"x", None, True, 2**70, 1.5])
@pytest.mark.parametrize("frames", [(), (3,), (5, 2, 9)])
@pytest.mark.parametrize("answered", [False, True])
def test_a_row_of_unusual_values_renders_as_its_dict(txn_id, frames, answered: bool) -> None:
    """The row renderer's fast cases (exact int, str, None, finite float) and its
    fall-back to the general encoder give the dict's text whatever a row holds."""
    from cvipsniff.analysis.model import MessageRef, Transaction

    request = MessageRef(1, frames, 1_714_564_800_597_122_007, "request", None)
    answer = MessageRef(2, frames[::-1], 1_714_564_800_600_000_000, "response", "m")
    txn = Transaction(number=3, protocol="cvip", id=txn_id, flow=0, method=None,
                      state="answered" if answered else "unanswered", request=request,
                      responses=[answer] if answered else [])
    for step in (" ", "   "):
        expected = json.dumps([json_report.transaction_json(txn)], indent=len(step),
                              ensure_ascii=False)
        assert Rows([txn], json_report.transaction_text).text("\n", step) == expected


@pytest.mark.parametrize("spill", ["all", "every other", "none"])
def test_a_transaction_logs_rows_are_written_from_its_values(spill: str) -> None:
    """A report writes a transaction log's rows from the values it keeps (the spilled
    ones never made objects again): the same text as the dicts of its transactions,
    whatever was spilled, on every bundled capture."""
    from cvipsniff.analysis.txnlog import TransactionLog

    pipeline = PipelineConfig(keep_data=False, tree=False)
    written = 0
    for path in CAPTURES:
        result = analyse_path(str(path), AnalysisConfig(), pipeline)
        log = TransactionLog(result.transactions, spill_above=None)
        if spill != "none":
            log.spill({t.number for t in result.transactions[::2]}
                      if spill == "every other" else set())
        assert isinstance(log, TransactionLog)
        rows = json_report._transaction_rows(log)
        assert rows.render is json_report.transaction_values_text
        for step in (" ", "  "):
            expected = json.dumps([json_report.transaction_json(t) for t in result.transactions],
                                  indent=len(step), ensure_ascii=False)
            assert rows.text("\n", step) == expected, path
        written += len(log)
    assert written > 500


_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.text(max_size=12) | st.floats(allow_nan=True, allow_infinity=True))
_TIMES = st.integers(min_value=-(2**64), max_value=2**64)
_REFS = st.none() | st.tuples(_SCALARS, st.lists(st.integers(-(2**65), 2**65) | st.booleans(),
                                                   max_size=4).map(tuple),
                              _TIMES, _SCALARS, _SCALARS)


@settings(max_examples=400, deadline=None)
@given(st.tuples(_SCALARS, _SCALARS, _SCALARS, _SCALARS, _SCALARS, _SCALARS, _REFS,
                 st.lists(_REFS.filter(lambda r: r is not None), max_size=3), st.just("one")),
       st.sampled_from([" ", "  ", "\t"]))
def test_any_row_of_values_renders_as_its_dict(v: tuple, step: str) -> None:
    """Whatever the values (the compiled writer declines all but the usual types, the
    Python one takes the rest): the text of the dict the objects make."""
    from cvipsniff.analysis.model import MessageRef, Transaction

    number, protocol, id_, flow, method, state, request, responses, expects = v
    txn = Transaction(number=number, protocol=protocol, id=id_, flow=flow, method=method,
                      state=state, request=MessageRef(*request) if request else None,
                      responses=[MessageRef(*r) for r in responses], expects=expects)
    try:
        expected = json.dumps([json_report.transaction_json(txn)], indent=step,
                              ensure_ascii=False)
    except (OverflowError, TypeError, ValueError):
        return  # not a row the dict can be written for either
    assert Rows([v], json_report.transaction_values_text).text("\n", step) == expected


def _times_worth_spelling() -> list[tuple[int, int]]:
    """(request, answer) times in ns: a capture's usual ones, and those whose seconds or
    latency fall exactly between two shortest spellings (a tie Python breaks to even,
    which the compiled writer must leave to Python), integral latencies, latencies past
    where ``repr`` turns to exponents, negative ones (answers stamped before requests)."""
    import random

    rng = random.Random(17)
    base = 1_700_000_000 * 10**9
    times = [(base + rng.randrange(10**15), 0) for _ in range(3000)]
    times = [(t, t + rng.randrange(-10**6, 10**11)) for t, _ in times]
    # seconds with few binary digits: 1700000000.00390625 is a tie at 17 digits
    times += [(base + k * 3_906_250, base + k * 3_906_250 + 2**j)
              for k in range(1, 300, 7) for j in range(0, 40, 3)]
    times += [(base, base + ms * 10**6) for ms in (0, 1, 2, 3, 10, 1000)]  # integral
    times += [(base, base + n) for n in (1, 50, 99, 100, 500, 10**22)]  # tiny, vast
    times += [(rng.randrange(2**63), rng.randrange(2**63)) for _ in range(500)]
    return times


def test_compiled_rows_spell_times_and_latencies_as_python(monkeypatch) -> None:
    """The compiled row writer spells the floats (each message's time, the latency
    rounded to 3 places) itself where that is sure to be Python's ``repr``: on thousands
    of times, exact ties between two shortest spellings among them, the text is the
    reference's. Skipped on the pure-Python path (nothing compiled to compare)."""
    compiled = json_report._compiled_row
    if compiled is json_report._no_row:
        pytest.skip("pure-Python path: no compiled row writer")
    rows = []
    for asked, answered in _times_worth_spelling():
        v = (1, "cvip", 7, 0, "m", "answered", (1, (1,), asked, "request", None),
             [(2, (2,), answered, "response", "m")], "one")
        rows.append((v, compiled(v, "\n ", " ")))
    monkeypatch.setattr(json_report, "_compiled_row", json_report._no_row)
    for v, text in rows:
        if text is not None:  # None: declined (a time beyond 64 bits), Python writes it
            assert text == json_report.transaction_values_text(v, "\n ", " "), v[6:8]
    assert sum(text is not None for _, text in rows) > 3500


def test_rows_in_batches_are_the_rows_one_by_one() -> None:
    """More rows than one batch, an odd one among them (a float id the compiled writer
    declines, so its whole batch is written row by row): the text of the dicts."""
    from cvipsniff.analysis.model import MessageRef, Transaction

    def txn(number: int) -> Transaction:
        asked = 1_714_564_800_000_000_000 + number * 1_234_567
        request = MessageRef(number, (number,), asked, "request", "m")
        answer = MessageRef(number + 1, (number + 1, number), asked + 987_654, "response", "m")
        return Transaction(number=number, protocol="cvip", id=1.5 if number in (5, 700) else number,
                           flow=number % 7, method="m", state="answered", request=request,
                           responses=[answer] if number % 3 else [])

    txns = [txn(n) for n in range(1, 1300)]
    batch = json_report._compiled_rows
    rows = Rows([values(t) for t in txns], json_report.transaction_values_text, batch)
    for step in (" ", "  "):
        expected = json.dumps([json_report.transaction_json(t) for t in txns],
                              indent=len(step), ensure_ascii=False)
        assert rows.text("\n", step) == expected
    if batch is not None:
        assert batch([values(txns[699])], "\n ", " ", True) is None  # the odd one declined
        assert batch([values(txns[0])], "\n ", " ", True).startswith("[\n ")


# Text around a part rendered elsewhere, with characters of 2, 3 and 4 UTF-8 bytes.
_PART = '{\n  "é": "€ ✓ 𝄞",\n  "n": 1\n }'
_DOC = {"a": "ü", "files": ["PART"], "z": "ß"}


def _spliced_doc(tmp_path, monkeypatch, chunk: int) -> tuple[list, str]:
    path = tmp_path / "part.json"
    path.write_text(_PART, encoding="utf-8")
    monkeypatch.setattr(Spliced, "CHUNK", chunk)  # cut characters between chunks
    part = Spliced(str(path), "\n  ")
    doc = dict(_DOC, files=[part])
    want = json.dumps(_DOC, indent=1, ensure_ascii=False).replace('"PART"', _PART)
    return list(chunked(iter_indented(doc, 1))), want


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1 << 20])
def test_a_spliced_part_is_copied_as_its_bytes_in_its_place(tmp_path, monkeypatch,
                                                             chunk: int) -> None:
    pieces, want = _spliced_doc(tmp_path, monkeypatch, chunk)
    assert any(type(p) is bytes for p in pieces) and joined(pieces) == want
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=False)
    write_pieces(stream, pieces)
    stream.flush()
    assert raw.getvalue() == want.encode("utf-8")


@pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 20])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-32-le", None])
def test_a_spliced_part_is_decoded_where_the_output_is_not_utf8(
        tmp_path, monkeypatch, chunk: int, encoding: str | None) -> None:
    """Another encoding, or a stream without a byte buffer (None: StringIO): the part's
    bytes are decoded, a character cut between chunks whole."""
    pieces, want = _spliced_doc(tmp_path, monkeypatch, chunk)
    if encoding is None:
        stream: io.TextIOBase = io.StringIO()
        write_pieces(stream, pieces)  # type: ignore[arg-type]
        assert stream.getvalue() == want  # type: ignore[attr-defined]
        return
    raw = io.BytesIO()
    wrapper = io.TextIOWrapper(raw, encoding=encoding)
    write_pieces(wrapper, pieces)
    wrapper.flush()
    assert raw.getvalue().decode(encoding) == want
