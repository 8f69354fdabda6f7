"""CVIPv2 reference peers: encoders, a sans-I/O unit (device, NVR or master server), an
asyncio server and scripted client, and scenario transcripts for the capture synthesizer.

Modules, each with one job:

* :mod:`~cvipsniff.sim.cvip.encode` — bytes for every message (header, ping, XML-RPC);
* :mod:`~cvipsniff.sim.cvip.decode` — the peers' own reading of bytes and stream framing;
* :mod:`~cvipsniff.sim.cvip.catalogue` — services, methods, fields, properties (data);
* :mod:`~cvipsniff.sim.cvip.device` — :class:`Peer` / :class:`Session`, the unit;
* :mod:`~cvipsniff.sim.cvip.script` — client scenarios as sans-I/O generators;
* :mod:`~cvipsniff.sim.cvip.server` / :mod:`~cvipsniff.sim.cvip.client` — asyncio I/O;
* :mod:`~cvipsniff.sim.cvip.scenarios` — transcripts (:func:`build_scenarios`,
  :func:`build_violation_scenarios`);
* :mod:`~cvipsniff.sim.cvip.cli` — ``cvip-server`` / ``cvip-client`` subcommands.

Nothing here imports :mod:`dissectors`: peers and dissector check each other.
"""

from cvipsniff.sim.cvip.device import Peer, Session
from cvipsniff.sim.cvip.values import Struct, TypeOnly, UInt

__all__ = ["Peer", "Session", "Struct", "TypeOnly", "UInt"]
