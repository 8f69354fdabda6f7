"""TCP sequence-number arithmetic (RFC 793 §3.3, RFC 1982 serial numbers).

Sequence numbers live on a 32-bit circle; stream *offsets* are unbounded Python ints.
The reassembler keeps, per direction, one anchor pair (``next_seq`` ↔ ``next_offset``)
and maps any other sequence number to an offset through the signed distance from the
anchor, so a stream may run past 2**32 any number of times without special cases.
"""

from __future__ import annotations

SEQ_MOD = 1 << 32
SEQ_MASK = SEQ_MOD - 1
_HALF = 1 << 31


def seq_add(seq: int, n: int) -> int:
    """``seq + n`` on the 32-bit circle."""
    return (seq + n) & SEQ_MASK


def seq_diff(a: int, b: int) -> int:
    """The signed distance ``a - b`` on the circle, in ``[-2**31, 2**31)``.

    Any two sequence numbers less than half the circle apart compare correctly; a
    segment claiming to be further away than that is taken to lie in the past (it maps
    to a negative distance), which is what TCP itself assumes.
    """
    return ((a - b + _HALF) & SEQ_MASK) - _HALF
