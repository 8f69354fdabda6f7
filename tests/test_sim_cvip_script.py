"""The scripted client's checks: they pass against the reference unit and catch a unit
that answers otherwise than the spec says."""

from __future__ import annotations

import pytest

from cvipsniff.sim.cvip import device as device_module
from cvipsniff.sim.cvip.calls import Ack
from cvipsniff.sim.cvip.constants import AckCode
from cvipsniff.sim.cvip.inprocess import Recorder
from cvipsniff.sim.cvip.scenarios import run_in_process
from cvipsniff.sim.cvip.script import (
    SCRIPTS,
    CallAction,
    ScriptInfo,
    ScriptOptions,
    run_script,
    scripts_for,
)


def run(script: str, role: str):
    return run_in_process(Recorder(f"t-{script}", "", 1), script, role, 1,
                          broadcast=script == "discovery")


@pytest.mark.parametrize("script, role", [
    (name, role) for name, info in SCRIPTS.items() for role in info.roles])
def test_each_script_passes_against_the_reference_unit(script, role):
    result = run(script, role)
    assert result.ok, [(s.name, s.detail) for s in result.failures()]
    assert len(result.steps) >= 4


def test_script_selection_by_role():
    assert [i.name for i in scripts_for("nvr")] == [
        "discovery", "discover-services", "configure", "events", "firmware", "nvr-services"]
    assert [i.name for i in scripts_for("device", "events")] == ["events"]
    with pytest.raises(KeyError):
        scripts_for("device", "nope")


def test_a_wrong_ping_connection_type_is_caught(monkeypatch):
    original = device_module.ping_response

    def lying(txn, ip, port, ctype, *args, **kwargs):
        return original(txn, ip, port, 0x0C, *args, **kwargs)

    monkeypatch.setattr(device_module, "ping_response", lying)
    result = run("discovery", "device")
    failed = {s.name for s in result.failures()}
    assert "ping over UDP on the CVIP port" in failed
    assert "ping over TCP on the CVIP port" not in failed  # 0x0C is right there


def test_an_ack_naming_another_method_is_caught(monkeypatch):
    original = device_module.ack

    def renamed(code, *, method=None, extra=()):
        return original(code, method="cviOther.method" if method else None, extra=extra)

    monkeypatch.setattr(device_module, "ack", renamed)
    result = run("events", "device")
    assert any("methodName" in s.detail for s in result.failures())


def test_a_wrong_ack_code_is_caught(monkeypatch):
    monkeypatch.setitem(device_module.HANDLERS, ("cvistream", "delete", None),
                        lambda ctx, args: Ack(AckCode.SUCCESS))
    result = run("device-services", "device")
    assert [s.name for s in result.failures()] == ["stopping a stopped stream fails"]


def test_events_of_unsubscribed_types_are_caught(monkeypatch):
    monkeypatch.setattr(device_module.Session, "wants", lambda self, t, c: True)
    result = run("events", "nvr")
    assert any("outside the subscription" in s.detail for s in result.failures())


def test_a_failing_script_becomes_an_error_not_an_exception():
    def broken(ctx):
        yield CallAction("system.describe")
        raise RuntimeError("script bug")

    info = ScriptInfo("broken", broken, ("device",), "")
    result = run_script(info, ScriptOptions(), lambda action: None)
    assert result.error == "RuntimeError: script bug" and not result.ok
