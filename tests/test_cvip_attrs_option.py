"""The CVIP dissector's ``attrs=False`` (batch reports and the TUI's load: nobody there
reads a CVIP message's attributes): the record is the same but for its empty ``attrs``,
on every CVIP message of the bundled captures, lean and with the tree, on both paths;
secrets are still masked; and the engine asks for it only of dissectors that take it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cvipsniff.model import Message
from cvipsniff.pipeline import Pipeline, PipelineConfig, iter_capture
from dissectors.cvip import dissect as dissect_cvip
from dissectors.cvip import encode_message
from dissectors.cvip import options as cvip_options
from tests.cli_helpers import BUNDLED_CAPTURES
from tests.test_secrets import LOGIN, leaked, shown

# The password as a named struct member: its bytes name the secret, the attributes hold
# the value a problem quotes.
NAMED_LOGIN = encode_message(
    b"<methodCall><methodName>cviUser.login</methodName><params><param><value><struct>"
    b"<member><name>GUID</name><value><string>123</string></value></member>"
    b"<member><name>UserName</name><value><string>admin</string></value></member>"
    b"<member><name>PassWord</name><value><string>s3cretPW</string></value></member>"
    b"</struct></value></param></params></methodCall>", 2)

CAPTURES = BUNDLED_CAPTURES


def _cvip_messages() -> list[tuple[bytes, str]]:
    out = []
    for capture in CAPTURES:
        for item in iter_capture(str(capture), PipelineConfig(keep_data=True, tree=False)):
            if type(item) is Message and item.record.protocol == "cvip" and item.data:
                out.append((item.data, item.transport))
    return out


MESSAGES = _cvip_messages()


def _without_attrs(record):
    return (record.protocol, record.kind, record.info, record.txn, record.is_response,
            record.method, [(p.rule, p.severity, p.message, p.offset, p.length)
                            for p in record.problems],
            [(f.key, f.value, f.display, f.offset, f.length) for f in record.walk()])


def test_the_bundled_captures_carry_cvip_messages() -> None:
    assert len(MESSAGES) > 500


@pytest.mark.parametrize("tree", [False, True])
def test_the_record_is_the_same_but_for_its_attributes(tree: bool) -> None:
    for data, transport in MESSAGES:
        full = dissect_cvip(data, transport, {"tree": tree})
        bare = dissect_cvip(data, transport, {"tree": tree, "attrs": False})
        assert _without_attrs(bare) == _without_attrs(full)
        # Pings keep theirs (their summary line is made from them).
        assert bare.attrs == {} or bare.kind.startswith("ping")


@pytest.mark.parametrize("tree", [True, False])
def test_a_password_a_problem_quotes_is_masked_without_the_attributes(tree: bool) -> None:
    full = dissect_cvip(NAMED_LOGIN, "tcp", {"tree": tree})
    bare = dissect_cvip(NAMED_LOGIN, "tcp", {"tree": tree, "attrs": False})
    assert any("PassWord" in p.message for p in full.problems)
    assert leaked(full) == [] and leaked(bare) == [] and bare.attrs == {}
    assert _without_attrs(bare) == _without_attrs(full)


@pytest.mark.parametrize("tree", [True, False])
def test_a_password_named_only_by_the_catalogue_is_still_masked(tree: bool) -> None:
    """The login's password is bound by position (no secret word in its bytes): the
    mask must come from the binding, not from the attributes left out."""
    record = dissect_cvip(LOGIN, "tcp", {"tree": tree, "attrs": False})
    assert record.attrs == {} and leaked(record) == []
    if tree:
        assert "<masked, 8 chars>" in shown(record)
        revealed = dissect_cvip(LOGIN, "tcp", {"tree": tree, "attrs": False,
                                               "reveal_secrets": True})
        assert "s3cretPW" in shown(revealed)


def test_the_engine_asks_only_dissectors_that_take_it() -> None:
    options = Pipeline(PipelineConfig(attrs=False))._dissector_options()
    # Read once into the dissector's own options (ProtocolSpec.read_options).
    assert options["cvip"] == replace(cvip_options.DEFAULT_OPTIONS, attrs=False)
    assert options.get("imageserver") is None
    lean = Pipeline(PipelineConfig(attrs=False, tree=False))._dissector_options()
    assert lean["cvip"] == replace(cvip_options.DEFAULT_OPTIONS, attrs=False, tree=False)
    assert not hasattr(lean["imageserver"], "attrs") and lean["imageserver"].tree is False
    assert Pipeline(PipelineConfig())._dissector_options()["cvip"] is None
    assert cvip_options.DEFAULT_OPTIONS.attrs is True


def test_a_mapping_the_dissector_cannot_read_is_kept_for_it_to_report() -> None:
    """Read once, but never raised at the engine's set-up: a bad setting stays the
    mapping, and each message says why, as the dissector always did (the CLI checks the
    settings before reading a capture, so users see it as a usage error first)."""
    pipeline = Pipeline(PipelineConfig(dissector_options={"cvip": {"no_such_option": 1}}))
    assert pipeline._dissector_options()["cvip"] == {"no_such_option": 1}
    record = pipeline._dissect(pipeline.protocols["cvip"], encode_message(b"<x/>", 1), "tcp", [])
    assert [p.rule for p in record.problems] == ["dissector_error"]
