"""Secrets stay masked whatever the markup (issue 14): an ImageServer ``<password>`` with a
mismatched end tag, attributes or children, a ``connectiontoken`` anywhere, and CVIP
``cviUser.login`` passwords; in the tree, the attributes, messages and the summary, in
both tree modes, and through ``read -V`` / ``read -T json``. ``reveal_secrets`` reveals."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from dissectors.cvip import dissect as dissect_cvip
from dissectors.cvip import encode_message
from dissectors.imageserver import dissect as dissect_imageserver
from dissectors.secrets import mask_pairs
from tests.test_capture_pcapng import epb, idb, shb

SECRETS = ("pw123", "TOKSECRET", "ATTRSECRET", "CHILDSECRET", "s3cretPW")

MISMATCHED_END_TAG = (
    b"<methodcall><requestid>1</requestid><methodname>connect</methodname>"
    b"<username>u</username><password>pw123</user><connectparam>id=1&amp;"
    b"connectiontoken=TOKSECRET</connectparam><cameraid>c</cameraid></methodcall>\r\n\r\n")
ATTRIBUTE_AND_CHILD = (
    b"<methodcall><requestid>1</requestid><methodname>connect</methodname>"
    b'<username>u</username><password value="ATTRSECRET"><x>CHILDSECRET</x>pw123'
    b"</password><cameraid>c</cameraid><connectparam>id=1&amp;connectiontoken=TOKSECRET"
    b"</connectparam></methodcall>\r\n\r\n")
TOKEN_ELSEWHERE = (
    b"<methodcall><requestid>1</requestid><methodname>goto</methodname><time>1</time>"
    b"<note>connectiontoken=TOKSECRET</note></methodcall>\r\n\r\n")
LOGIN = encode_message(
    b"<methodCall><methodName>cviUser.login</methodName><params>"
    b"<param><value><string>123</string></value></param>"
    b"<param><value><string>admin</string></value></param>"
    b"<param><value><string>s3cretPW</string></value></param>"
    b"<param><value><int>1</int></value></param></params></methodCall>", 1)


def shown(record) -> str:
    return repr((record.info, record.attrs, [p.message for p in record.problems],
                 [(f.label, f.value, f.display) for f in record.walk()]))


def leaked(record) -> list[str]:
    text = shown(record)
    return [s for s in SECRETS if s in text]


@pytest.mark.parametrize("data", [MISMATCHED_END_TAG, ATTRIBUTE_AND_CHILD, TOKEN_ELSEWHERE])
@pytest.mark.parametrize("tree", [True, False])
def test_imageserver_secrets_are_masked_in_malformed_markup(data, tree):
    assert leaked(dissect_imageserver(data, "tcp", {"tree": tree})) == []
    revealed = dissect_imageserver(data, "tcp", {"tree": tree, "reveal_secrets": True})
    if tree:
        assert "TOKSECRET" in shown(revealed)


@pytest.mark.parametrize("tree", [True, False])
def test_cvip_login_password_is_masked(tree):
    record = dissect_cvip(LOGIN, "tcp", {"tree": tree})
    assert leaked(record) == []
    assert record.attrs["params_by_name"]["PassWord"] == "<masked, 8 chars>"
    assert record.attrs["params_by_name"]["UserName"] == "admin"
    assert "s3cretPW" in shown(dissect_cvip(LOGIN, "tcp", {"tree": tree,
                                                           "reveal_secrets": True}))


def test_mask_pairs_masks_secret_keys_only():
    assert mask_pairs("id=7&connectiontoken=abc&streamid=9") == \
        "id=7&connectiontoken=<masked, 3 chars>&streamid=9"
    assert mask_pairs("password = hunter2; user=x") == "password = <masked, 7 chars>; user=x"


def _capture(tmp_path: Path) -> Path:
    packets = [
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000, dport=7563, seq=1,
                                                         flags="PA") / MISMATCHED_END_TAG,
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40001, dport=7110, seq=1,
                                                         flags="PA") / LOGIN,
    ]
    path = tmp_path / "secrets.pcapng"
    path.write_bytes(shb() + idb("<", 1, 0, tsresol=9)
                     + b"".join(epb("<", 0, n, bytes(p)) for n, p in enumerate(packets)))
    return path


@pytest.mark.parametrize("argv", [["-V"], ["-T", "json"], ["-T", "jsonl"]])
def test_read_shows_no_secret(tmp_path, argv):
    from cvipsniff.cli import main

    path = _capture(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["read", "-r", str(path), *argv])
    assert code == 0
    assert "connect" in out.getvalue() and "cviUser.login" in out.getvalue()
    assert [s for s in SECRETS if s in out.getvalue()] == []


# ---- settings honoured by every command that dissects (issue 14) ---------------------------


def _read(argv: list[str]) -> tuple[int, str]:
    from cvipsniff.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def test_read_config_reveals_secrets(tmp_path):
    path = _capture(tmp_path)
    toml = tmp_path / "reveal.toml"
    toml.write_text("[imageserver]\nreveal_secrets = true\n[cvip]\nreveal_secrets = true\n")
    code, out = _read(["read", "-r", str(path), "-V", "--config", str(toml)])
    assert code == 0
    assert "TOKSECRET" in out and "s3cretPW" in out


def test_read_config_is_checked(tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text("[imageserver]\nreveal_secret = true\n")
    from cvipsniff.cli import main

    assert main(["read", "-r", str(_capture(tmp_path)), "--config", str(toml)]) == 2


def test_follow_reads_the_settings_file(tmp_path):
    path = _capture(tmp_path)
    good, bad = tmp_path / "decode.toml", tmp_path / "bad.toml"
    good.write_text('[ports]\ndecode_as = ["tcp.port==40000,cvip"]\n')
    bad.write_text('[ports]\ndecode_as = ["tcp.port==40000,nothing"]\n')
    code, out = _read(["follow", "-r", str(path), "0", "--config", str(good)])
    assert code == 0 and "connectparam" in out
    assert _read(["follow", "-r", str(path), "0", "--config", str(bad)])[0] == 2


def test_tui_store_dissects_again_with_the_settings(tmp_path):
    from cvipsniff.pipeline import PipelineConfig, iter_capture
    from cvipsniff.store import MessageStore

    options = {"imageserver": {"reveal_secrets": True}, "cvip": {"reveal_secrets": True}}
    config = PipelineConfig(keep_data=True, dissector_options=options)
    messages = [m for m in iter_capture(str(_capture(tmp_path)), config)
                if hasattr(m, "record")]
    store = MessageStore(options)
    for m in messages:
        store.add(m)
    store._cache.clear()  # force the details pane's path: dissect the bytes again
    again = "".join(shown(store.record(i)) for i in range(len(store)))
    assert "TOKSECRET" in again and "s3cretPW" in again
    plain = MessageStore()
    for m in messages:
        plain.add(m)
    plain._cache.clear()
    assert [s for s in SECRETS if s in "".join(shown(plain.record(i))
                                               for i in range(len(plain)))] == []
    store.close()
    plain.close()


@pytest.mark.parametrize("options", [None, {"tree": False}])
def test_an_image_responses_secret_header_is_masked(options) -> None:
    """An ImageResponse header named like a secret is masked as an XML element is
    (ImageResponses were never scrubbed), in full and in lean mode alike."""
    from cvipsniff.sim.imageserver.jpeg import noise_jpeg_of_size

    jpeg = noise_jpeg_of_size(2000)
    message = (b"ImageResponse\r\nContent-type: image/jpeg\r\nX-Token: s3cr3tvalue\r\n"
               b"Content-length: " + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n\r\n")
    record = dissect_imageserver(message, "tcp", options)
    assert "s3cr3tvalue" not in repr(record)
    assert "s3cr3tvalue" in repr(dissect_imageserver(message, "tcp", {"reveal_secrets": True}))
    if options is None:
        assert "<masked, 11 chars>" in shown(record)


def test_the_part_of_an_image_response_that_can_name_a_secret() -> None:
    """Its head for a single body (the image bytes are never shown as text), all of it
    for a multipart body (each part has a head) or where no blank line ends the head."""
    from dissectors.imageserver.dissector import named_part

    head = b"ImageResponse\r\nContent-type: image/jpeg\r\nContent-length: 9"
    assert named_part(head + b"\r\n\r\npwd=12345\r\n\r\n", 0) == head
    assert named_part(head + b"\n\npwd=12345", 0) == head
    multipart = b"ImageResponse\r\nContent-type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
    assert named_part(multipart + b"X-Token: t\r\n\r\n", 0) == multipart + b"X-Token: t\r\n\r\n"
    assert named_part(head, 0) == head
