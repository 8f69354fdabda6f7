"""Flows: TCP reassembly per direction and the flow table (packets → flow events).

Knows nothing about CVIP or ImageServer. The policies — stream offsets, overlaps, when a
hole is declared lost, memory caps, roles, flow numbering — are documented in
:mod:`cvipsniff.flows.tcp` and :mod:`cvipsniff.flows.table`.
"""

from cvipsniff.flows.addresses import format_ip
from cvipsniff.flows.table import (
    DEFAULT_HOLE_TIMEOUT_NS,
    DEFAULT_MAX_FLOW_BUFFER,
    DEFAULT_MAX_FLOWS,
    DEFAULT_MAX_TOTAL_BUFFER,
    FlowTable,
)

__all__ = [
    "DEFAULT_HOLE_TIMEOUT_NS",
    "DEFAULT_MAX_FLOWS",
    "DEFAULT_MAX_FLOW_BUFFER",
    "DEFAULT_MAX_TOTAL_BUFFER",
    "FlowTable",
    "format_ip",
]
