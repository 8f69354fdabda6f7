"""The capture synthesizer: scenario transcripts → pcap/pcapng captures with truth files.

Public API:

* :func:`synthesize` — lay a :class:`~cvipsniff.sim.transcript.Scenario` out as frames in
  memory, with its truth document;
* :func:`write_capture` — the same, streamed into a ``.pcap``/``.pcapng`` (optionally
  ``.gz``) file plus ``NAME.truth.json``;
* :class:`Synthesizer` — the streaming engine behind both (the benchmark uses it);
* :class:`Impairments` — which faults to inject, parsed from ``"loss,reorder=2,vlan"``.

The synthesizer knows nothing of CVIP or ImageServer: it moves bytes it is given.
"""

from cvipsniff.sim.synth.impairments import CATALOGUE, ImpairmentError, Impairments
from cvipsniff.sim.synth.output import capture_format, truth_path_for, write_capture
from cvipsniff.sim.synth.packetizer import (
    BASE_EPOCH_NS,
    ScenarioError,
    Synthesis,
    Synthesizer,
    synthesize,
)

__all__ = [
    "BASE_EPOCH_NS",
    "CATALOGUE",
    "ImpairmentError",
    "Impairments",
    "ScenarioError",
    "Synthesis",
    "Synthesizer",
    "capture_format",
    "synthesize",
    "truth_path_for",
    "write_capture",
]
