"""ImageServer rules that relate messages of one TCP connection beyond request/response
pairing: the camera a ``connectupdate`` renews must be the one its ``connect`` named.

Why here and not in the dissector: the dissector sees one message and keeps no state
between messages (it is a pure function of the bytes), and the framer sees bytes only.
The analysis stage is fed every message of a flow in order and is told when a flow ends,
so it can hold one small value per open connection and drop it with the flow: memory
stays bounded by open flows. The value it reads is the record's ``connectparam_id``
attr, set by the dissector for connect and connectupdate requests in both lean and full
mode.
"""

from __future__ import annotations

from cvipsniff.analysis.model import Finding
from cvipsniff.model import Message

RULE_ID_CHANGED = "imageserver.txn.connectupdate_id"
SPEC = "ImageServer: connectupdate (renews the token of the initial connect)"


def _same_camera(a: str, b: str) -> bool:
    """GUIDs compare without case or braces."""
    return a.strip().strip("{}").lower() == b.strip().strip("{}").lower()


class ImageServerConnections:
    """Feed messages in order; per flow the id the last ``connect`` named."""

    def __init__(self) -> None:
        self._camera: dict[int, str] = {}

    def feed(self, msg: Message, transaction: int | None = None) -> list[Finding]:
        rec = msg.record
        if rec.protocol != "imageserver" or rec.kind != "request":
            return []
        camera = rec.attrs.get("connectparam_id")
        if rec.method == "connect":
            if camera:
                self._camera[msg.flow] = camera
            else:
                self._camera.pop(msg.flow, None)  # a camera by <cameraid>: nothing to hold
            return []
        if rec.method != "connectupdate" or not camera:
            return []
        first = self._camera.get(msg.flow)
        if first is None or _same_camera(first, camera):
            return []  # the connect predates the capture, or the same camera
        return [Finding(
            rule=RULE_ID_CHANGED, severity="warning",
            message=f"connectupdate names id={camera[:60]!r}, but the connection's connect "
            f"named id={first[:60]!r}",
            spec=SPEC, frames=list(msg.frames), transaction=transaction,
            message_number=msg.number, flow=msg.flow, protocol="imageserver")]

    def close_flow(self, flow: int) -> None:
        self._camera.pop(flow, None)
