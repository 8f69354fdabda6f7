"""What every ``-z`` tap offers (see :mod:`cvipsniff.taps`)."""

from __future__ import annotations

from collections.abc import Sequence

from cvipsniff.analysis.model import Finding, Transaction
from cvipsniff.model import Frame, Message, Packet

RULE = "=" * 80


class Tap:
    """Default: ignores everything. ``wants_frames`` taps get a second pass of frames."""

    wants_frames = False

    def message(self, msg: Message) -> None:
        """A message of the capture (every one, displayed or not)."""

    def findings(self, findings: Sequence[Finding]) -> None:
        """Findings, once the analysis is finished (with their frames)."""

    def transactions(self, transactions: Sequence[Transaction]) -> None:
        """Every transaction, once the analysis is finished."""

    def frame(self, frame: Frame, packet: Packet | None) -> None:
        """A frame of the capture and its TCP/UDP packet (None if it has none)."""

    def render(self) -> str:
        raise NotImplementedError
