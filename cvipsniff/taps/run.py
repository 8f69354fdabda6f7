"""Feeding the ``-z`` taps: the messages of the main reading, the analysis' findings and
transactions at its end, then (only if a tap counts frames) one more reading of the
capture's frames."""

from __future__ import annotations

from collections.abc import Sequence

from cvipsniff.analysis.engine import Analysis
from cvipsniff.capture import open_capture
from cvipsniff.model import Message
from cvipsniff.packets import PacketDecoder
from cvipsniff.taps.base import Tap


class TapRunner:
    def __init__(self, taps: Sequence[Tap]) -> None:
        self.taps = list(taps)
        self.analysis = Analysis()
        self.last_frame = 0

    def add(self, item: object) -> None:
        """One item of the pipeline (every one: the taps ignore ``-Y``)."""
        self.analysis.add(item)
        if isinstance(item, Message):
            if item.frames:
                self.last_frame = max(self.last_frame, item.frame)
            for tap in self.taps:
                tap.message(item)

    def finish(self, capture: str, *, stopped: bool) -> str:
        """Settle the analysis, run the frame pass if needed, return the tables. After
        ``-c`` stopped the reading, frames past the last message read are not counted."""
        self.analysis.finish()
        for tap in self.taps:
            tap.findings(self.analysis.findings)
            tap.transactions(self.analysis.transactions)
        frame_taps = [tap for tap in self.taps if tap.wants_frames]
        if frame_taps:
            limit = self.last_frame if stopped else None
            decoder = PacketDecoder(on_note=lambda note: None)
            with open_capture(capture) as reader:
                for frame in reader:
                    if limit is not None and frame.number > limit:
                        break
                    packet = decoder.decode(frame)
                    for tap in frame_taps:
                        tap.frame(frame, packet)
        return "".join(tap.render() for tap in self.taps)
