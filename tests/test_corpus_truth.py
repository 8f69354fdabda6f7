"""The analysis against the truth files of the bundled captures (captures/**/*.truth.json).

The synthesizer knows exactly which message went into which frames, which transactions
it laid out and which violations it injected; here the full engine (reader, decoder,
reassembly, framers, dissectors, pairing, rules) must find exactly that:

* every message whose bytes survived, at its flow, direction and stream offset, with its
  protocol, kind, id and frames — no missing and no extra messages;
* every transaction paired as the truth pairs it;
* every injected violation reported by the matching rule on its frames, and nothing else
  at warning or error level;
* clean scenarios with no warning or error; impaired ones with transport findings only.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from cvipsniff.analysis.engine import Analysis
from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
TRUTHS = sorted(p for p in CAPTURES.rglob("*.truth.json")
                if json.loads(p.read_text()).get("frame_count"))

TRANSPORT_PREFIXES = ("tcp.", "ip.", "udp.", "capture.")


def _id(path: Path) -> str:
    return str(path.relative_to(CAPTURES)).removesuffix(".truth.json")


@cache
def analyse(truth_path: Path) -> tuple[dict, list[Message], Analysis]:
    truth = json.loads(truth_path.read_text())
    capture = truth_path.parent / truth["capture"]
    analysis = Analysis()
    messages: list[Message] = []
    for item in iter_capture(str(capture), PipelineConfig(keep_data=False)):
        if isinstance(item, Message):
            messages.append(item)
        analysis.add(item)
    analysis.finish()
    return truth, messages, analysis


def _intact(m: dict) -> bool:
    return not m.get("lost") and m.get("complete_frame") is not None \
        and m.get("captured_bytes", m["length"]) == m["length"]


def _family(truth_path: Path) -> str:
    return truth_path.parent.name if truth_path.parent != CAPTURES else truth_path.stem


@pytest.mark.parametrize("truth_path", TRUTHS, ids=_id)
def test_every_surviving_message_is_found_where_the_truth_puts_it(truth_path: Path) -> None:
    truth, messages, _ = analyse(truth_path)
    found = {(m.flow, m.direction, m.offset): m for m in messages if m.transport == "tcp"}
    udp = {(m.flow, m.direction, m.frame): m for m in messages if m.transport == "udp"}
    problems = []
    for t in truth["messages"]:
        if not _intact(t):
            continue
        if t["protocol"] == "cvip-ping" and t["src"] and t["offset"] == 0 \
                and (t["flow"], t["direction"], t["complete_frame"]) in udp:
            got = udp[(t["flow"], t["direction"], t["complete_frame"])]
        else:
            got = found.get((t["flow"], t["direction"], t["offset"])) or udp.get(
                (t["flow"], t["direction"], t["complete_frame"]))
        if got is None:
            problems.append(f"missing: truth message {t['index']} {t['protocol']} {t['kind']} "
                            f"txn={t['txn']} flow={t['flow']} frames={t['frames']}")
            continue
        rec = got.record
        expected = (t["protocol"], t["kind"], t["txn"], t["complete_frame"], t["length"])
        actual = (rec.protocol, rec.kind, rec.txn, got.frame, got.length)
        if expected != actual:
            problems.append(f"message {t['index']}: truth {expected} != found {actual}")
        elif list(got.frames) != list(t["frames"]):
            problems.append(f"message {t['index']}: frames {got.frames} != truth {t['frames']}")
    intact = sum(1 for t in truth["messages"] if _intact(t))
    damaged = [t for t in truth["messages"] if not _intact(t)]
    extra = len(messages) - intact
    if extra and not damaged:
        problems.append(f"{extra} messages found beyond the truth's {intact}")
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("truth_path", TRUTHS, ids=_id)
def test_transactions_are_paired_as_the_truth_pairs_them(truth_path: Path) -> None:
    truth, _, analysis = analyse(truth_path)
    by_request_frame = {max(t.request.frames): t for t in analysis.transactions if t.request}
    problems = []
    for t in truth["transactions"]:
        frame = t.get("request_frame")
        if frame is None or None in t.get("response_frames", []):
            continue  # a side of it was lost: checked by the impairment tests
        got = by_request_frame.get(frame)
        if got is None:
            problems.append(f"no transaction for the request in frame {frame} "
                            f"({t['protocol']} {t['method']} txn={t['txn']})")
            continue
        want = list(t["response_frames"])
        # Live packages join the live stream's transaction here; the truth lists them as
        # messages of their own, so compare the kinds the truth pairs.
        kinds = set(t.get("response_kinds") or ()) or {r.kind for r in got.responses}
        have = [max(r.frames) for r in got.responses if r.kind in kinds]
        if got.expects == "many":  # answers from several units: their order is the capture's
            want, have = sorted(want), sorted(have)
        if want != have:
            problems.append(f"request frame {frame} ({t['method']}): answered by frames "
                            f"{have}, truth {want}")
        if t["answered"] and t["response_frames"] and got.state not in (
                "answered", "event", "duplicate"):
            problems.append(f"request frame {frame}: state {got.state}, truth answered")
    assert not problems, "\n".join(problems[:20])


VIOLATION_TRUTHS = [p for p in TRUTHS if json.loads(p.read_text())["violations"]]


@pytest.mark.parametrize("truth_path", VIOLATION_TRUTHS, ids=_id)
def test_injected_violations_are_reported_by_their_rule_and_nothing_else(
        truth_path: Path) -> None:
    truth, _, analysis = analyse(truth_path)
    findings = analysis.findings
    problems = []
    expected_rules = {v["rule"] for v in truth["violations"]}
    for v in truth["violations"]:
        if v.get("lost"):
            continue
        if not any(f.rule == v["rule"] and set(f.frames) & set(v["frames"]) for f in findings):
            near = sorted({f.rule for f in findings if set(f.frames) & set(v["frames"])})
            problems.append(f"{v['rule']} not reported on frames {v['frames']} "
                            f"(reported there: {near})")
    for f in findings:
        if f.severity in ("error", "warning") and f.rule not in expected_rules:
            problems.append(f"collateral {f.severity} {f.rule} on frames {f.frames}: "
                            f"{f.message}")
    assert not problems, "\n".join(problems[:25])


CLEAN_TRUTHS = [p for p in TRUTHS if p.parent.name == "scenarios"]


@pytest.mark.parametrize("truth_path", CLEAN_TRUTHS, ids=_id)
def test_clean_scenarios_have_no_warning_or_error(truth_path: Path) -> None:
    _, _, analysis = analyse(truth_path)
    bad = [f"{f.severity} {f.rule} frames {f.frames}: {f.message}"
           for f in analysis.findings if f.severity in ("error", "warning")]
    assert not bad, "\n".join(bad[:25])


IMPAIRED_TRUTHS = [p for p in TRUTHS if p.parent.name == "impairments"]


@pytest.mark.parametrize("truth_path", IMPAIRED_TRUTHS, ids=_id)
def test_impaired_captures_give_transport_findings_only(truth_path: Path) -> None:
    truth, _, analysis = analyse(truth_path)
    damaged_frames: set[int] = set()
    for m in truth["messages"]:
        if not _intact(m):
            damaged_frames.update(m.get("frames") or [])
    lost_txns = {(t["protocol"], t["txn"]) for t in truth["transactions"]
                 if t.get("request_frame") is None or None in t.get("response_frames", [])}
    bad = []
    for f in analysis.findings:
        if f.severity not in ("error", "warning") or f.rule.startswith(TRANSPORT_PREFIXES):
            continue
        if ".framing." in f.rule or set(f.frames) & damaged_frames:
            continue  # a message cut by the impairment: reported as such
        if ".txn." in f.rule or f.rule.endswith(".unanswered"):
            txn = next((t for t in analysis.transactions if t.number == f.transaction), None)
            if txn is not None and (txn.protocol, txn.id) in lost_txns:
                continue
        bad.append(f"{f.severity} {f.rule} frames {f.frames}: {f.message}")
    assert not bad, "\n".join(bad[:25])
    expected = {tf["kind"] for tf in truth["transport_findings"]} & {"tcp.gap",
                                                                     "tcp.overlap_conflict"}
    reported = {f.rule for f in analysis.findings}
    assert expected <= reported, f"missing transport findings {expected - reported}"
