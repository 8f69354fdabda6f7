"""The client side of a CVIP connection, sans-I/O: numbered requests out, classified
messages in. Both the asyncio client and the in-process scenario builder use it, so the
bytes a scenario records are exactly the bytes the live client sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cvipsniff.sim.cvip.constants import HEADER_SIZE, MSG_TYPE_PING_REQUEST, TXN_MASK
from cvipsniff.sim.cvip.decode import (
    Call,
    DecodeError,
    Garbage,
    Header,
    Message,
    MessageReader,
    Oversized,
    PingResponse,
    Response,
    parse_body,
    parse_header,
    parse_ping_response,
)
from cvipsniff.sim.cvip.encode import frame, method_call, ping_request


@dataclass(slots=True, frozen=True)
class Answer:
    """A response or acknowledgement (``response`` None when its XML was unreadable)."""

    header: Header
    data: bytes
    response: Response | None
    error: str | None = None


@dataclass(slots=True, frozen=True)
class Notification:
    """A methodCall from the server: ``cviEvent.notify``."""

    header: Header
    data: bytes
    call: Call


@dataclass(slots=True, frozen=True)
class PingAnswer:
    header: Header
    data: bytes
    ping: PingResponse


@dataclass(slots=True, frozen=True)
class Unexpected:
    data: bytes
    reason: str


Incoming = Answer | Notification | PingAnswer | Unexpected


def classify(message: bytes) -> Incoming:
    """What a complete message from the server is."""
    header = parse_header(message)
    if header is None:
        return Unexpected(message, "no CVIP header")
    if header.msg_type == MSG_TYPE_PING_REQUEST:
        ping = parse_ping_response(message)
        if ping is None:
            return Unexpected(message, "ping message that is not a ping response")
        return PingAnswer(header, message, ping)
    try:
        document = parse_body(message[HEADER_SIZE:])
    except DecodeError as exc:
        if header.response:
            return Answer(header, message, None, str(exc))
        return Unexpected(message, str(exc))
    if isinstance(document, Response):
        return Answer(header, message, document)
    return Notification(header, message, document)


class ClientConnection:
    """Transaction numbering and framing for one client connection.

    Numbers run 1..0x7FFF and wrap to 1 (NOTES 6), starting at ``first_txn``."""

    def __init__(self, first_txn: int = 1) -> None:
        if not 1 <= first_txn <= TXN_MASK:
            raise ValueError("first_txn must be 1..0x7FFF")
        self._txn = first_txn - 1
        self._reader = MessageReader()

    def next_txn(self) -> int:
        self._txn = self._txn % TXN_MASK + 1
        return self._txn

    def call(self, method: str, *params: Any) -> tuple[int, bytes]:
        txn = self.next_txn()
        return txn, frame(method_call(method, *params), txn)

    def ping(self, ip: str, port: int, connection_type: int) -> tuple[int, bytes]:
        txn = self.next_txn()
        return txn, ping_request(txn, ip, port, connection_type)

    def receive(self, data: bytes) -> list[Incoming]:
        """Bytes from the server's stream, as classified messages."""
        out: list[Incoming] = []
        for chunk in self._reader.feed(data):
            if isinstance(chunk, Message):
                out.append(classify(chunk.data))
            elif isinstance(chunk, Garbage):
                out.append(Unexpected(chunk.data, "bytes outside any message"))
            elif isinstance(chunk, Oversized):
                out.append(Unexpected(b"", f"declared size {chunk.header.size} beyond the cap"))
        return out
