"""``cvipsniff read`` flags a tshark user reaches for: ``-T fields -e/-E``, ``-c``,
``-x``, ``-2`` and the pairing carried by the JSON records."""

from __future__ import annotations

import json

import pytest

from cvipsniff.errors import UsageError
from cvipsniff.fields_output import parse_options
from tests.cli_helpers import ROOT, assert_clean_error, run_cli

DEMO = str(ROOT / "captures" / "demo.pcapng")


def fields(*args: str) -> list[str]:
    result = run_cli("read", "-r", DEMO, "-T", "fields", *args)
    assert result.code == 0, result.stderr
    return result.stdout.splitlines()


def test_fields_of_the_tree_with_header_separator_and_quotes() -> None:
    lines = fields("-Y", 'cvip.method == "system.describe"', "-e", "frame.number",
                   "-e", "cvip.method", "-e", "cvip.txn", "-E", "header=y",
                   "-E", "separator=,", "-E", "quote=d")
    assert lines[0] == "frame.number,cvip.method,cvip.txn"
    rows = [line.split(",") for line in lines[1:]]
    assert rows and all(r[1] == '"system.describe"' and r[0].strip('"').isdigit() for r in rows)
    plain = fields("-Y", 'cvip.method == "system.describe"', "-e", "cvip.method")
    assert len(plain) == len(rows) and set(plain) == {"system.describe"}


def test_repeated_values_follow_occurrence_and_aggregator() -> None:
    many = [line for line in fields("-e", "frame") if "," in line]
    assert many, "the demo has messages spanning several frames"
    first = fields("-e", "frame", "-E", "occurrence=f")
    last = fields("-e", "frame", "-E", "occurrence=l")
    second = fields("-e", "frame", "-E", "occurrence=2")
    joined = fields("-e", "frame", "-E", "aggregator=/s")
    every = fields("-e", "frame")
    for a, f, lst, two, j in zip(every, first, last, second, joined, strict=True):
        values = a.split(",")
        assert f == values[0] and lst == values[-1]
        assert two == (values[1] if len(values) > 1 else "")
        assert j == " ".join(values)


def test_pairing_fields_take_a_first_pass() -> None:
    lines = fields("-e", "message", "-e", "txn.state", "-e", "latency_ms")
    states = {line.split("\t")[1] for line in lines}
    assert "answered" in states and "pending" not in states
    answered = [line for line in lines if line.split("\t")[1] == "answered"]
    assert all(float(line.split("\t")[2]) >= 0 for line in answered)


def test_parameters_are_fields() -> None:
    lines = fields("-Y", "cvip.param.StreamID", "-e", "cvip.method", "-e", "cvip.param.StreamID")
    assert lines
    assert all(line.split("\t")[0].startswith("cviStream.") for line in lines)
    assert all(line.split("\t")[1].isdigit() for line in lines)


@pytest.mark.parametrize("args,needle", [
    (("-T", "fields"), "-e FIELD"),
    (("-T", "fields", "-e", "cvip.methd"), "did you mean 'cvip.method'"),
    (("-T", "fields", "-e", "frame", "-E", "quote=x"), "quote"),
    (("-T", "fields", "-e", "frame", "-E", "colour=y"), "unknown -E option"),
    (("-e", "frame",), "-T fields"),
    (("-c", "0"), "-c"),
])
def test_bad_field_arguments_are_one_line(args: tuple[str, ...], needle: str) -> None:
    assert_clean_error(run_cli("read", "-r", DEMO, *args), needle)


def test_write_refuses_standard_input() -> None:
    data = (ROOT / "captures" / "demo.pcapng").read_bytes()
    result = run_cli("read", "-r", "-", "-w", "/tmp/never-written.pcapng", stdin=data)
    assert_clean_error(result, "standard input")


def test_parse_options_defaults_and_special_characters() -> None:
    opts = parse_options(["separator=/s", "aggregator=;", "header=y", "quote=s"])
    assert (opts.separator, opts.aggregator, opts.header, opts.quote) == (" ", ";", True, "'")
    with pytest.raises(UsageError):
        parse_options(["separator"])


def test_count_and_hex() -> None:
    result = run_cli("read", "-r", DEMO, "-c", "2", "-x")
    assert result.code == 0, result.stderr
    blocks = [b for b in result.stdout.split("\n\n") if b.strip()]
    assert len(blocks) == 2
    summary, *hexes = blocks[0].splitlines()
    length = int(summary.split()[6])
    assert hexes[0].startswith("00000000  02 01")  # the CVIP version 2.1
    dumped = sum(len(line[10:59].split()) for line in hexes)
    assert dumped == length
    jsonl = run_cli("read", "-r", DEMO, "-c", "1", "-x", "-T", "jsonl").stdout
    record = json.loads(jsonl.splitlines()[0])
    assert len(bytes.fromhex(record["hex"])) == record["length"]


def message_records(*extra: str) -> list[dict]:
    result = run_cli("read", "-r", DEMO, "-T", "json", *extra)
    assert result.code == 0, result.stderr
    return [r for r in json.loads(result.stdout) if r["type"] == "message"]


def test_json_response_names_its_request_in_one_pass() -> None:
    records = message_records()
    by_number = {r["message"]: r for r in records}
    answered = [r for r in records if r["is_response"] and r["transaction"]
                and r["transaction"]["request"]]
    assert answered
    for r in answered:
        txn = r["transaction"]
        request = by_number[txn["request"]["message"]]
        assert txn["request"]["frame"] == request["frame"]
        assert txn["method"] == request["method"]
        assert txn["state"] in ("answered", "duplicate")
        assert txn["latency_ms"] is not None and txn["latency_ms"] >= 0
    requests = [r for r in records if r["transaction"]
                and r["transaction"]["request"]
                and r["transaction"]["request"]["message"] == r["message"]
                and r["kind"] == "request"]
    states = {r["transaction"]["state"] for r in requests}
    assert "pending" in states and states <= {"pending", "oneway"}  # oneway: known at once


def test_json_two_pass_requests_know_their_answer_like_the_report() -> None:
    records = message_records("-2")
    report = json.loads(run_cli("report", DEMO, "--format", "json").stdout)
    final = {t["number"]: t for t in report["files"][0]["transactions"]}
    seen = set()
    for r in records:
        txn = r["transaction"]
        if txn is None:
            continue
        assert txn == final[txn["number"]]
        seen.add(txn["number"])
    assert seen == set(final)


def test_text_two_pass_names_the_response_frame() -> None:
    lines = run_cli("read", "-r", DEMO, "-2").stdout.splitlines()
    request = next(line for line in lines if "system.describe request" in line)
    answer = int(request.rsplit("[response in ", 1)[1].rstrip("]"))
    line = next(line for line in lines if line.split()[0] == str(answer))
    assert f"[request in {request.split()[0]}]" in line
