"""CVIP traffic for the benchmarks: request/answer exchanges of the reference peers'
scenarios, to be replayed many times over with fresh transaction numbers."""

from __future__ import annotations

from cvipsniff.sim.transcript import MessageTruth

Exchange = list[tuple[int, bytes, MessageTruth]]  # (direction, message bytes, truth)


def cvip_exchanges(seed: int, *, max_message: int | None = None,
                   conformant_only: bool = False) -> list[Exchange]:
    """Request/answer exchanges taken from the CVIP reference peers' scenarios, so a
    benchmark dissects realistic bodies of every method. ``max_message`` keeps only
    exchanges whose messages are all at most that long; ``conformant_only`` leaves out
    messages with injected violations."""
    from cvipsniff.sim.cvip.scenarios import build_scenarios

    exchanges: list[Exchange] = []
    for scenario in build_scenarios(seed):
        for conv in scenario.conversations:
            if conv.transport != "tcp":
                continue
            open_: dict[object, Exchange] = {}
            for msg in conv.messages:
                truth = msg.truth
                if truth.protocol != "cvip" or (conformant_only and truth.violations):
                    continue
                if not truth.is_response and truth.kind == "request":
                    open_[truth.txn] = [(msg.direction, msg.data, truth)]
                elif truth.txn in open_:
                    exchange = open_.pop(truth.txn)
                    exchange.append((msg.direction, msg.data, truth))
                    if max_message is None or all(len(data) <= max_message
                                                  for _, data, _ in exchange):
                        exchanges.append(exchange)
    return exchanges


def with_txn(data: bytes, txn: int) -> bytes:
    """A CVIP message renumbered: the 15-bit transaction number at bytes 3-4 (big-endian),
    keeping the response bit."""
    word = int.from_bytes(data[3:5], "big")
    return data[:3] + ((word & 0x8000) | txn).to_bytes(2, "big") + data[5:]
