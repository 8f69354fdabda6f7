"""``cvipsniff fixtures export``: the fixture format, its schema, secrets, determinism."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jsonschema
import pytest

from cvipsniff.fixtures import read_set, schema, validate_set
from cvipsniff.fixtures.build import build_set
from tests.cli_helpers import assert_clean_error, run_cli
from tests.conftest import CAPTURES

BROWSE = CAPTURES / "scenarios" / "imageserver-browse.pcapng"
CONFIGURE = CAPTURES / "scenarios" / "cvip-configure.pcapng"
TOKEN_KEY = "imageserver.connectparam.connectiontoken"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def _clear_token() -> str:
    clear = build_set(str(BROWSE), keep_secrets=True)
    first = clear.flows[0]["messages"][0]["record"]["tree"]
    return next(n["value"] for n in _nodes(first) if n["key"] == TOKEN_KEY)


def _nodes(tree):
    for n in tree:
        yield n
        yield from _nodes(n.get("children", []))


def test_export_writes_a_valid_set_and_reexport_is_byte_identical(tmp_path: Path) -> None:
    first = run_cli("fixtures", "export", str(CONFIGURE), str(BROWSE), "-o", str(tmp_path / "a"))
    assert first.code == 0, first.stderr
    again = run_cli("fixtures", "export", str(CONFIGURE), str(BROWSE), "-o", str(tmp_path / "b"))
    assert again.code == 0, again.stderr
    for name in ("cvip-configure", "imageserver-browse"):
        a, b = _files(tmp_path / "a" / name), _files(tmp_path / "b" / name)
        assert a and a == b
        fixtures = read_set(tmp_path / "a" / name)  # validates against the schema
        assert validate_set(fixtures) == []
        for doc in [{"index": fixtures.index}, *({"flow": f} for f in fixtures.flows)]:
            jsonschema.validate(doc, schema())


def test_set_holds_messages_pairing_types_and_volatile_marks() -> None:
    fixtures = build_set(str(CONFIGURE))
    flow = fixtures.flows[0]
    assert flow["transport"] == "tcp" and flow["client"].endswith(":54885")
    assert flow["server"] == "192.0.2.10:7110"
    messages = fixtures.messages()
    txn = flow["transactions"][2]
    assert txn["method"] == "cviNetwork.setProperties" and txn["state"] == "answered"
    request, answer = messages[txn["request"]], messages[txn["responses"][0]]
    assert request["direction"] == "client" and answer["direction"] == "server"
    assert request["frames"] == [15] and txn["latency_ms"] == pytest.approx(0.964, abs=0.01)
    data = base64.b64decode(request["data"])
    assert len(data) == request["length"] == 236 and data[:2] == b"\x02\x01"
    assert answer["record"]["kind"] == "ack"
    nodes = {n["key"]: n for n in _nodes(request["record"]["tree"])}
    assert nodes["cvip.txn"]["volatile"] is True and nodes["cvip.size"]["volatile"] is True
    member = next(n for n in _nodes(request["record"]["tree"])
                  if n.get("name") == "networkNtpServer")
    assert member["type"] == "string" and member["value"] == "192.0.2.123"
    ack = next(n for n in _nodes(answer["record"]["tree"]) if n.get("name") == "ErrorCode")
    assert ack["type"] == "uint" and ack["value"] == 0x01000000 and "volatile" not in ack


def test_secrets_are_masked_unless_kept(tmp_path: Path) -> None:
    token = _clear_token()
    assert token and "masked" not in token
    masked = run_cli("fixtures", "export", str(BROWSE), "-o", str(tmp_path / "m"))
    kept = run_cli("fixtures", "export", str(BROWSE), "-o", str(tmp_path / "k"),
                   "--keep-secrets")
    assert masked.code == kept.code == 0
    masked_set = read_set(tmp_path / "m" / "imageserver-browse")
    kept_set = read_set(tmp_path / "k" / "imageserver-browse")
    assert masked_set.index["secrets"] == "masked" and kept_set.index["secrets"] == "kept"
    everything = b"".join(_files(tmp_path / "m").values())
    assert token.encode() not in everything
    for msg in masked_set.flows[0]["messages"]:
        assert token.encode() not in base64.b64decode(msg["data"])
    connect = masked_set.flows[0]["messages"][0]
    assert {r["key"] for r in connect["masked"]} == {TOKEN_KEY, "imageserver.password"}
    raw = base64.b64decode(connect["data"])
    for r in connect["masked"]:
        assert raw[r["offset"]:r["offset"] + r["length"]] == b"*" * r["length"]
    assert b"dummy" in raw  # the user name equal to the password is left alone
    assert token.encode() in base64.b64decode(kept_set.flows[0]["messages"][0]["data"])
    assert "masked" not in kept_set.flows[0]["messages"][0]


def test_directory_input_and_display_filter(tmp_path: Path) -> None:
    out = run_cli("fixtures", "export", str(CAPTURES / "scenarios"), "-o", str(tmp_path),
                  "-Y", 'cvip.method == "cviNetwork.setProperties"')
    assert out.code == 0, out.stderr
    sets = sorted(p.name for p in tmp_path.iterdir())
    assert "cvip-configure" in sets and "imageserver-browse" in sets
    configure = read_set(tmp_path / "cvip-configure")
    txns = [t for _, t in configure.transactions()]
    assert [t["method"] for t in txns] == ["cviNetwork.setProperties"]
    assert len(configure.flows[0]["messages"]) == 2  # the request and its ack
    assert configure.index["filter"] == 'cvip.method == "cviNetwork.setProperties"'
    assert read_set(tmp_path / "imageserver-browse").flows == []


def test_schema_rejects_a_broken_set() -> None:
    fixtures = build_set(str(CONFIGURE))
    fixtures.flows[0]["messages"][0]["direction"] = "sideways"
    del fixtures.flows[0]["transactions"][0]["latency_ms"]
    problems = validate_set(fixtures)
    assert any("sideways" in p for p in problems)
    assert any("latency_ms" in p for p in problems)


def test_export_errors_are_one_line(tmp_path: Path) -> None:
    assert_clean_error(run_cli("fixtures", "export", str(tmp_path / "nope.pcap"), "-o",
                               str(tmp_path)), "nope.pcap")
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture")
    result = run_cli("fixtures", "export", str(bad), "-o", str(tmp_path / "out"))
    assert result.code == 2 and "bad.pcap" in result.stderr and "Traceback" not in result.stderr
    assert_clean_error(run_cli("fixtures", "export", str(CONFIGURE), "-o", str(tmp_path),
                               "-Y", "cvip.method =="), "display filter")
    assert_clean_error(run_cli("fixtures", "validate", str(tmp_path / "missing")), "missing")


def test_read_refuses_another_format_version(tmp_path: Path) -> None:
    out = run_cli("fixtures", "export", str(CONFIGURE), "-o", str(tmp_path))
    assert out.code == 0
    index = tmp_path / "cvip-configure" / "index.json"
    doc = json.loads(index.read_text())
    doc["version"] = 2
    index.write_text(json.dumps(doc))
    result = run_cli("fixtures", "validate", str(tmp_path / "cvip-configure"))
    assert_clean_error(result, "version 2")


def test_filter_on_fields_known_after_pairing() -> None:
    from cvipsniff.commands.filtering import compile_user_filter

    fixtures = build_set(str(CONFIGURE), display_filter=compile_user_filter("latency_ms > 2"))
    latencies = [t["latency_ms"] for _, t in fixtures.transactions()]
    assert latencies and all(ms > 2 for ms in latencies)
    everything = [t for _, t in build_set(str(CONFIGURE)).transactions()]
    assert len(latencies) == sum(1 for t in everything if t["latency_ms"] > 2) < len(everything)


def test_cvip_login_password_is_masked_in_the_tree_and_the_bytes(tmp_path: Path) -> None:
    capture = CAPTURES / "scenarios" / "cvip-master-services.pcapng"
    clear = build_set(str(capture), keep_secrets=True).messages()
    assert run_cli("fixtures", "export", str(capture), "-o", str(tmp_path)).code == 0
    masked = read_set(tmp_path / "cvip-master-services").messages()
    logins = [n for n, m in clear.items()
              if m["record"]["method"] == "cviUser.login" and m["direction"] == "client"]
    assert logins
    for number in logins:
        secret = next(n["value"] for n in _nodes(clear[number]["record"]["tree"])
                      if n["name"] == "PassWord")
        assert len(secret) >= 8 and secret.encode() in base64.b64decode(clear[number]["data"])
        login = masked[number]
        assert secret.encode() not in base64.b64decode(login["data"])
        assert secret not in json.dumps(login)
        node = next(n for n in _nodes(login["record"]["tree"]) if n["name"] == "PassWord")
        assert node["value"].startswith("<masked, ") and node["type"] == "string"
        assert any(r["key"] == "cvip.param.PassWord" for r in login["masked"])
