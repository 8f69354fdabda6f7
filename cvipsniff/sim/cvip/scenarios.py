"""CVIP scenario transcripts for the capture synthesizer.

:func:`build_scenarios` runs the client scripts of :mod:`cvipsniff.sim.cvip.script` (the
same ones the live client runs over sockets) against in-process peers, one scenario per
use-case family, and returns what went over the wire with its timing and truth.
:func:`build_violation_scenarios` (from :mod:`cvipsniff.sim.cvip.violations`) adds
deliberately broken messages, each listing the rule ids it breaks.

Addresses are from the documentation range 192.0.2.0/24 (a synthetic capture): the
client is 192.0.2.100, the device .10, the NVR .20, the master server .30. Everything is
deterministic for a given seed.

Conventions the truth follows (so a reader of the capture can check against it):

* ``kind`` is ``request``/``ack``/``response``/``event``/``ping-request``/
  ``ping-response``; an ``ack`` is a methodResponse whose struct has an ``ErrorCode``;
* ``txn`` is the 15-bit transaction number (response bit removed);
* ``method`` of an answer is the method it answers (acknowledgements also carry it in
  their XML; data answers do not, as in the spec's examples);
* events (``cviEvent.notify``) are methodCalls from the unit with the response bit clear
  and the unit's own transaction numbers; they expect no answer;
* custom functions (``cviStream.getKeyFrame``, ``cviNvr.queryClip``) are left out: they
  conform (listFunctions advertises them) but an analyzer cannot know them, and a clean
  transcript should give a clean analysis. The live client calls them.
"""

from __future__ import annotations

from cvipsniff.sim.cvip.device import Peer
from cvipsniff.sim.cvip.inprocess import InProcessDriver, Recorder
from cvipsniff.sim.cvip.script import SCRIPTS, ScenarioResult, ScriptOptions, run_script
from cvipsniff.sim.cvip.violations import build_violation_scenarios
from cvipsniff.sim.transcript import Scenario

__all__ = ["CLIENT_IP", "UNIT_IPS", "build_scenarios", "build_violation_scenarios",
           "run_in_process"]

CLIENT_IP = "192.0.2.100"
UNIT_IPS = {"device": "192.0.2.10", "nvr": "192.0.2.20", "master": "192.0.2.30"}

# (scenario name, script, role of the unit, description)
_FAMILIES = (
    ("cvip-discovery", "discovery", "device",
     "Discover Device: pings over UDP and TCP on port 7110 and the common port 9990, and a "
     "UDP broadcast ping answered by a device, an NVR and a master server"),
    ("cvip-discover-services", "discover-services", "device",
     "Discover Services: the 15-step walk over event groups, services, descriptions, "
     "properties, custom functions and their parameters"),
    ("cvip-configure", "configure", "device",
     "Configure Device: read, change and read back network and video properties"),
    ("cvip-events", "events", "nvr",
     "Manage Event Service: subscribe, asynchronous cviEvent.notify, unsubscribe"),
    ("cvip-firmware", "firmware", "device",
     "Update Device Firmware: start, progress until reboot, reboot flag in the ping"),
    ("cvip-device-services", "device-services", "device",
     "Device services: serial port, streaming with key frame, display, analytics, PTZ"),
    ("cvip-nvr-services", "nvr-services", "nvr",
     "NVR services: recording, playback control, paged media browsing, export"),
    ("cvip-master-services", "master-services", "master",
     "Master server services: login, profiles, entities, users, applications, event ack"),
)


def run_in_process(recorder: Recorder, script: str, role: str, seed: int,
                   *, broadcast: bool = False, custom_functions: bool = True
                   ) -> ScenarioResult:
    """Run one script against a fresh unit of ``role``, recording into ``recorder``."""
    ip = UNIT_IPS[role]
    peer = Peer(role, seed=seed, ip=ip, clock=recorder.clock)
    responders = [(ip, peer)]
    if broadcast:
        responders += [
            (UNIT_IPS[other], Peer(other, seed=seed, ip=UNIT_IPS[other], clock=recorder.clock))
            for other in ("nvr", "master") if other != role
        ]
    driver = InProcessDriver(recorder, peer, client_ip=CLIENT_IP, server_ip=ip,
                             responders=responders)
    options = ScriptOptions(role=role, client_ip=CLIENT_IP, broadcast=broadcast,
                            clock=recorder.clock, custom_functions=custom_functions)
    result = run_script(SCRIPTS[script], options, driver.execute)
    driver.close()
    if peer.stats.internal_errors:
        result.error = f"the peer had {peer.stats.internal_errors} internal error(s)"
    return result


def build_scenarios(seed: int = 1) -> list[Scenario]:
    """One scenario per use-case family, every step checked against the spec's answer.

    Raises RuntimeError if a script step fails: that is a bug in the peers or scripts,
    and a transcript from it would mislead every test built on it."""
    out = []
    for name, script, role, description in _FAMILIES:
        recorder = Recorder(name, description, seed)
        result = run_in_process(recorder, script, role, seed, broadcast=script == "discovery",
                                custom_functions=False)
        if not result.ok:
            failed = "; ".join(f"{s.name}: {s.detail}" for s in result.failures())
            raise RuntimeError(f"scenario {name} failed: {result.error or failed}")
        scenario = recorder.finish()
        scenario.notes.update({
            "script": script,
            "role": role,
            "steps": len(result.steps),
            "seed": seed,
        })
        out.append(scenario)
    return out
