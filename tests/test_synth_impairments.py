"""Impairment lists: parsing, the canonical form truth files record, scopes."""

from __future__ import annotations

import pytest

from cvipsniff.sim.synth.impairments import (
    CATALOGUE,
    DEFAULT_FRAGMENT_MTU,
    DEFAULT_MSS,
    ImpairmentError,
    Impairments,
)


def test_empty_means_none() -> None:
    assert Impairments.parse("") == Impairments()
    assert Impairments.parse(None).spec() == []


def test_defaults_of_valueless_items() -> None:
    imp = Impairments.parse("loss, reorder ,vlan,qinq,ipfrag,midstream,snaplen,coalesce")
    assert imp.loss == 1 and imp.reorder == 1
    assert imp.vlans == (300, 100)  # the later qinq replaces the single tag
    assert imp.ipfrag == DEFAULT_FRAGMENT_MTU
    assert imp.midstream == 3
    assert imp.snaplen == 96
    assert imp.coalesce == 4
    assert imp.mss == DEFAULT_MSS


def test_values() -> None:
    imp = Impairments.parse("loss=3,vlan=7,mss=536,midstream=0,sll2,wrap,split-header")
    assert (imp.loss, imp.vlans, imp.mss, imp.midstream, imp.link) == (3, (7,), 536, 0, "sll2")
    assert imp.wrap and imp.split_header


@pytest.mark.parametrize("text", [
    "loss=2", "split-header,coalesce=3,reorder=2,duplicate=1,retransmit=4,conflict=1",
    "wrap,midstream=0,ipv6,qinq=10:20,ipfrag=600,mss=500,sll,snaplen=128", "vlan=4094",
])
def test_spec_round_trips(text: str) -> None:
    imp = Impairments.parse(text)
    assert Impairments.parse(str(imp)) == imp
    assert str(imp) == text


@pytest.mark.parametrize("text, message", [
    ("lose", "unknown impairment"),
    ("loss=x", "not a number"),
    ("vlan=5000", "not in"),
    ("wrap=1", "takes no value"),
    ("mss", "not a number"),
    ("snaplen=0", "not in"),
])
def test_bad_lists_are_errors(text: str, message: str) -> None:
    with pytest.raises(ImpairmentError, match=message):
        Impairments.parse(text)


def test_combined_keeps_scenario_settings_and_lets_the_conversation_win() -> None:
    wide = Impairments.parse("loss,vlan=5,sll")
    mine = Impairments.parse("reorder=2,vlan=9")
    both = wide.combined(mine)
    assert (both.loss, both.reorder, both.vlans, both.link) == (1, 2, (9,), "sll")


def test_capture_wide_settings_cannot_be_per_conversation() -> None:
    for text in ("sll", "sll2", "snaplen=64"):
        with pytest.raises(ImpairmentError, match="scenario-wide"):
            Impairments().combined(Impairments.parse(text))


def test_every_catalogue_entry_parses() -> None:
    for name in CATALOGUE:
        value = "600" if name == "mss" else ""
        item = f"{name}={value}" if value else name
        assert Impairments.parse(item) != Impairments(), name
