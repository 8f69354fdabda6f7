"""JPEG bodies: width, height and components from the SOF marker.

The marker walk trusts no length it reads: every segment must fit in the body, the walk
stops at the first SOF (that is all we need) or at SOS, and its number of steps is bounded.
``struct.unpack_from`` reads in place, without slicing the (possibly large) body.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
SOS = 0xDA
EOI_MARKER = 0xD9
#: Start-of-frame markers and what kind of frame each starts (ITU-T T.81 table B.1).
SOF_MARKERS: dict[int, str] = {
    0xC0: "SOF0 baseline DCT",
    0xC1: "SOF1 extended sequential DCT",
    0xC2: "SOF2 progressive DCT",
    0xC3: "SOF3 lossless",
    0xC5: "SOF5 differential sequential DCT",
    0xC6: "SOF6 differential progressive DCT",
    0xC7: "SOF7 differential lossless",
    0xC9: "SOF9 extended sequential DCT, arithmetic",
    0xCA: "SOF10 progressive DCT, arithmetic",
    0xCB: "SOF11 lossless, arithmetic",
    0xCD: "SOF13 differential sequential DCT, arithmetic",
    0xCE: "SOF14 differential progressive DCT, arithmetic",
    0xCF: "SOF15 differential lossless, arithmetic",
}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_SEGMENT_LENGTH = struct.Struct(">H")
_FRAME_HEADER = struct.Struct(">BHHB")  # precision, height, width, components
_MAX_SEGMENTS = 4096


@dataclass(slots=True)
class JpegInfo:
    """What the marker walk found; offsets index the message bytes."""

    width: int | None = None
    height: int | None = None
    components: int | None = None
    precision: int | None = None
    sof: str | None = None
    sof_offset: int = -1
    sof_length: int = 0
    has_eoi: bool = False
    problems: list[str] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)  # what a body cut short would also show


def looks_like_jpeg(data: bytes, start: int) -> bool:
    return data.startswith(SOI + b"\xff", start)


def inspect(data: bytes, start: int, end: int) -> JpegInfo:
    """Walk the markers of the JPEG in ``data[start:end]``."""
    info = JpegInfo()
    if not data.startswith(SOI, start) or end - start < 2:
        info.problems.append("no JPEG start-of-image marker (FF D8)")
        return info
    info.has_eoi = end - start >= 4 and data[end - 2: end] == EOI
    pos = start + 2
    for _ in range(_MAX_SEGMENTS):
        if pos + 2 > end:
            info.cut.append("image data ends before a start-of-frame marker")
            break
        if data[pos] != 0xFF:
            info.problems.append(f"expected a marker at body offset {pos - start}")
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == EOI_MARKER:
            info.problems.append("end-of-image before any start-of-frame marker")
            break
        if pos + 4 > end:
            info.cut.append("marker segment cut off")
            break
        (length,) = _SEGMENT_LENGTH.unpack_from(data, pos + 2)
        if length < 2 or pos + 2 + length > end:
            info.cut.append(
                f"marker FF {marker:02X} declares {length} bytes, beyond the image data")
            break
        if marker in SOF_MARKERS:
            if length < 2 + _FRAME_HEADER.size:
                info.problems.append("start-of-frame segment too short")
                break
            precision, height, width, components = _FRAME_HEADER.unpack_from(data, pos + 4)
            info.precision, info.height, info.width = precision, height, width
            info.components, info.sof = components, SOF_MARKERS[marker]
            info.sof_offset, info.sof_length = pos, 2 + length
            if height == 0:
                info.problems.append("height 0 in the frame header (defined later by DNL)")
            break
        if marker == SOS:
            info.problems.append("start-of-scan before any start-of-frame marker")
            break
        pos += 2 + length
    else:
        info.problems.append(f"no start-of-frame marker in the first {_MAX_SEGMENTS} segments")
    if info.sof is not None and not info.has_eoi:
        info.cut.append("image data does not end with the end-of-image marker (FF D9)")
    return info
