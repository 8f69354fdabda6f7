"""A small, deterministic, pure-Python baseline JPEG encoder (ITU-T T.81), no Pillow.

The reference recording server answers browse and live requests with *real* images, so a
capture of our own traffic carries bodies that any viewer opens and any decoder checks: a
baseline (SOF0) JFIF file, 8-bit YCbCr with 4:2:0 subsampling, the standard quantisation
tables of Annex K.1 scaled by the IJG quality formula, and the standard Huffman tables of
Annex K.3. Output depends only on the arguments, byte for byte, so transcripts built from
it are reproducible.

Two sources of pictures:

* :func:`test_pattern` / :func:`test_pattern_jpeg`: a colour gradient with a moving bar
  and the frame counter drawn in large digits, so consecutive frames differ visibly;
* :func:`noise_jpeg_of_size`: noise-like content of roughly a requested size (e.g. the
  ~200 KB image a test needs). It is produced directly in the DCT domain (random quantised
  coefficients), which is still a perfectly valid JPEG but costs no DCT, so a large body
  is cheap to make.

Speed: the per-block work (level shift, DCT, quantisation, entropy coding) runs on plain
lists with a straight-line AAN DCT; entropy-coded bits are collected as ``'0'``/``'1'``
strings and converted once with ``int(bits, 2)``, which is linear for base 2. A
:class:`JpegEncoder` also memoises the coded AC bits of every 8×8 block it has seen, because
successive frames of a test pattern share almost all their blocks.
"""

from __future__ import annotations

import functools
import random
import struct
from dataclasses import dataclass
from math import cos, pi, sqrt

__all__ = [
    "JpegEncoder",
    "JpegInfo",
    "jpeg_info",
    "noise_jpeg_of_size",
    "test_pattern",
    "test_pattern_jpeg",
]


def _zigzag_order() -> tuple[int, ...]:
    """Natural (row-major) index of the k-th coefficient in zig-zag order (T.81 Fig. 5)."""
    order: list[int] = []
    for diagonal in range(15):
        cells = [(r, diagonal - r) for r in range(8) if 0 <= diagonal - r < 8]
        if diagonal % 2 == 0:
            cells.reverse()  # even diagonals run bottom-left → top-right
        order.extend(r * 8 + c for r, c in cells)
    return tuple(order)


ZIGZAG: tuple[int, ...] = _zigzag_order()

# T.81 Annex K.1, tables K.1 and K.2, natural order.
LUMA_QUANT_BASE: tuple[int, ...] = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
CHROMA_QUANT_BASE: tuple[int, ...] = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip


def scaled_quant_table(base: tuple[int, ...], quality: int) -> tuple[int, ...]:
    """Scale a base table by the IJG quality formula (1 = worst, 100 = best), 1..255."""
    quality = min(100, max(1, quality))
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(255, max(1, (q * scale + 50) // 100)) for q in base)


@dataclass(frozen=True, slots=True)
class HuffmanSpec:
    """A Huffman table as written in a DHT segment: code counts per length, then symbols."""

    bits: tuple[int, ...]  # 16 counts: number of codes of length 1..16
    values: bytes

    def codes(self) -> dict[int, str]:
        """Symbol → code as a bit string, generated canonically (T.81 Annex C)."""
        table: dict[int, str] = {}
        code = 0
        k = 0
        for length, count in enumerate(self.bits, start=1):
            for _ in range(count):
                table[self.values[k]] = format(code, f"0{length}b")
                code += 1
                k += 1
            code <<= 1
        return table


# T.81 Annex K.3, tables K.3 to K.6.
DC_LUMA = HuffmanSpec((0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0), bytes(range(12)))
DC_CHROMA = HuffmanSpec((0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0), bytes(range(12)))
AC_LUMA = HuffmanSpec(
    (0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D),
    bytes((
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51,
        0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1,
        0x15, 0x52, 0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18,
        0x19, 0x1A, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
        0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57,
        0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75,
        0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x92,
        0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
        0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
        0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8,
        0xD9, 0xDA, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2,
        0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
    )),
)  # fmt: skip
AC_CHROMA = HuffmanSpec(
    (0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77),
    bytes((
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07,
        0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09,
        0x23, 0x33, 0x52, 0xF0, 0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25,
        0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38,
        0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56,
        0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74,
        0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
        0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
        0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA,
        0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6,
        0xD7, 0xD8, 0xD9, 0xDA, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2,
        0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
    )),
)  # fmt: skip

_EOB = 0x00
_ZRL = 0xF0

# AAN scale factors: the fast DCT below yields coefficients scaled by 8·s[u]·s[v];
# the scaling is folded into the quantisation divisors instead of being undone.
_AAN = tuple(1.0 if k == 0 else cos(k * pi / 16) * sqrt(2) for k in range(8))


def _aan_divisors(quant: tuple[int, ...]) -> tuple[float, ...]:
    """Reciprocal divisors (natural order) that turn raw AAN output into quantised values."""
    return tuple(1.0 / (quant[i] * _AAN[i // 8] * _AAN[i % 8] * 8.0) for i in range(64))


def _fdct_8(d0: float, d1: float, d2: float, d3: float,
            d4: float, d5: float, d6: float, d7: float) -> tuple[float, ...]:
    """One 8-point forward DCT (Arai–Agui–Nakajima). Applied to rows then columns, the
    result is the JPEG DCT scaled by 8·s[u]·s[v] (``s`` = ``_AAN``).

    Straight-line code on purpose: this is the hot loop of the encoder (16 calls per
    block), and locals are the fastest thing CPython has.
    """
    t0 = d0 + d7
    t7 = d0 - d7
    t1 = d1 + d6
    t6 = d1 - d6
    t2 = d2 + d5
    t5 = d2 - d5
    t3 = d3 + d4
    t4 = d3 - d4
    # even part
    t10 = t0 + t3
    t13 = t0 - t3
    t11 = t1 + t2
    t12 = t1 - t2
    o0 = t10 + t11
    o4 = t10 - t11
    z1 = (t12 + t13) * 0.707106781
    o2 = t13 + z1
    o6 = t13 - z1
    # odd part
    t10 = t4 + t5
    t11 = t5 + t6
    t12 = t6 + t7
    z5 = (t10 - t12) * 0.382683433
    z2 = 0.541196100 * t10 + z5
    z4 = 1.306562965 * t12 + z5
    z3 = t11 * 0.707106781
    z11 = t7 + z3
    z13 = t7 - z3
    return (o0, z11 + z4, o2, z13 - z2, o4, z13 + z2, o6, z11 - z4)


def _forward_dct(samples: bytes) -> list[float]:
    """2-D AAN DCT of one 8×8 block of 0..255 samples (level-shifted here), natural order."""
    rows: list[tuple[float, ...]] = []
    for r in range(0, 64, 8):
        s = samples[r:r + 8]
        rows.append(_fdct_8(s[0] - 128.0, s[1] - 128.0, s[2] - 128.0, s[3] - 128.0,
                            s[4] - 128.0, s[5] - 128.0, s[6] - 128.0, s[7] - 128.0))
    out = [0.0] * 64
    for c in range(8):
        col = _fdct_8(rows[0][c], rows[1][c], rows[2][c], rows[3][c],
                      rows[4][c], rows[5][c], rows[6][c], rows[7][c])
        for r in range(8):
            out[r * 8 + c] = col[r]
    return out


def _magnitude(value: int) -> tuple[int, str]:
    """T.81 F.1.2.1: (size category, additional bits) of a DC difference or AC value."""
    if value == 0:
        return 0, ""
    size = abs(value).bit_length()
    bits = value if value > 0 else value + (1 << size) - 1
    return size, format(bits, f"0{size}b")


class _Component:
    """Tables of one colour component: quantisation divisors and Huffman codes."""

    __slots__ = ("ac", "dc", "divisors", "quant")

    def __init__(self, quant: tuple[int, ...], dc: HuffmanSpec, ac: HuffmanSpec) -> None:
        self.quant = quant
        self.divisors = _aan_divisors(quant)
        self.dc = dc.codes()
        self.ac = ac.codes()

    def quantise(self, samples: bytes) -> list[int]:
        """Quantised coefficients of one block, in zig-zag order."""
        raw = _forward_dct(samples)
        div = self.divisors
        return [round(raw[i] * div[i]) for i in ZIGZAG]

    def ac_bits(self, zz: list[int]) -> str:
        """Entropy-coded AC part of a block (everything after the DC difference)."""
        ac = self.ac
        parts: list[str] = []
        run = 0
        for k in range(1, 64):
            v = zz[k]
            if v == 0:
                run += 1
                continue
            while run > 15:
                parts.append(ac[_ZRL])
                run -= 16
            size, extra = _magnitude(v)
            parts.append(ac[(run << 4) | size])
            parts.append(extra)
            run = 0
        if run:
            parts.append(ac[_EOB])
        return "".join(parts)

    def dc_bits(self, diff: int) -> str:
        size, extra = _magnitude(diff)
        return self.dc[size] + extra


@dataclass(frozen=True, slots=True)
class JpegInfo:
    """What :func:`jpeg_info` read from a JPEG's markers."""

    width: int
    height: int
    components: int
    baseline: bool  # SOF0
    has_eoi: bool


def jpeg_info(data: bytes) -> JpegInfo | None:
    """Dimensions and frame type from the first SOFn marker, or None if not a JPEG.

    Walks marker segments by their declared lengths and never reads past the end, so it
    is safe on truncated or hostile bytes.
    """
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2:
            return None
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 4 + 6 > len(data):
                return None
            _precision, height, width, ncomp = struct.unpack_from(">BHHB", data, pos + 4)
            return JpegInfo(width, height, ncomp, marker == 0xC0,
                            data.rstrip(b"\x00").endswith(b"\xff\xd9"))
        pos += 2 + length
    return None


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _headers(width: int, height: int, luma: tuple[int, ...], chroma: tuple[int, ...],
             comment: str | None) -> bytes:
    """SOI, JFIF APP0, optional COM, DQT, SOF0 (4:2:0), DHT ×4, SOS."""
    out = bytearray(b"\xff\xd8")
    out += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if comment:
        out += _segment(0xFE, comment.encode("ascii", "replace")[:60000])
    for table_id, table in ((0, luma), (1, chroma)):
        out += _segment(0xDB, bytes([table_id]) + bytes(table[i] for i in ZIGZAG))
    out += _segment(0xC0, struct.pack(">BHHB", 8, height, width, 3)
                    + bytes((1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)))
    for cls_id, spec in ((0x00, DC_LUMA), (0x10, AC_LUMA), (0x01, DC_CHROMA),
                         (0x11, AC_CHROMA)):
        out += _segment(0xC4, bytes([cls_id]) + bytes(spec.bits) + spec.values)
    out += _segment(0xDA, bytes((3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)))
    return bytes(out)


def _pack_bits(bits: str) -> bytes:
    """Entropy-coded segment: pad with 1-bits to a byte (T.81 F.1.2.3), stuff 0xFF → FF00."""
    if not bits:
        return b""
    bits += "1" * (-len(bits) % 8)
    raw = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return raw.replace(b"\xff", b"\xff\x00")


class JpegEncoder:
    """Encodes RGB pictures as baseline 4:2:0 JPEG at a fixed quality.

    Keeps a bounded memo of coded blocks (keyed by the block's samples), which makes a
    stream of similar frames cheap without changing a single output byte.
    """

    MEMO_CAP = 50_000

    def __init__(self, quality: int = 75) -> None:
        self.quality = min(100, max(1, quality))
        self._luma = _Component(scaled_quant_table(LUMA_QUANT_BASE, self.quality),
                                DC_LUMA, AC_LUMA)
        self._chroma = _Component(scaled_quant_table(CHROMA_QUANT_BASE, self.quality),
                                  DC_CHROMA, AC_CHROMA)
        self._memo: dict[tuple[int, bytes], tuple[int, str]] = {}

    def encode_rgb(self, width: int, height: int, rgb: bytes,
                   comment: str | None = None) -> bytes:
        """A JPEG file of ``rgb`` (``width*height*3`` bytes, row-major R,G,B)."""
        if not (1 <= width <= 65535 and 1 <= height <= 65535):
            raise ValueError(f"dimensions out of range: {width}x{height}")
        if len(rgb) != width * height * 3:
            raise ValueError(f"expected {width * height * 3} RGB bytes, got {len(rgb)}")
        y_plane, cb_plane, cr_plane = _to_ycbcr_420(width, height, rgb)
        bits = self._scan(y_plane, cb_plane, cr_plane, width, height)
        return (_headers(width, height, self._luma.quant, self._chroma.quant, comment)
                + _pack_bits(bits) + b"\xff\xd9")

    def _coded(self, comp: _Component, key: int, samples: bytes) -> tuple[int, str]:
        memo_key = (key, samples)
        hit = self._memo.get(memo_key)
        if hit is None:
            zz = comp.quantise(samples)
            hit = (zz[0], comp.ac_bits(zz))
            if len(self._memo) >= self.MEMO_CAP:
                self._memo.clear()
            self._memo[memo_key] = hit
        return hit

    def _scan(self, y_plane: list[bytes], cb_plane: list[bytes], cr_plane: list[bytes],
              width: int, height: int) -> str:
        mcus_x = (width + 15) // 16
        mcus_y = (height + 15) // 16
        parts: list[str] = []
        pred = [0, 0, 0]
        luma, chroma = self._luma, self._chroma
        for my in range(mcus_y):
            for mx in range(mcus_x):
                for by, bx in ((0, 0), (0, 8), (8, 0), (8, 8)):
                    dc, ac = self._coded(luma, 0, _block(y_plane, mx * 16 + bx, my * 16 + by))
                    parts.append(luma.dc_bits(dc - pred[0]))
                    parts.append(ac)
                    pred[0] = dc
                for index, plane in ((1, cb_plane), (2, cr_plane)):
                    dc, ac = self._coded(chroma, index, _block(plane, mx * 8, my * 8))
                    parts.append(chroma.dc_bits(dc - pred[index]))
                    parts.append(ac)
                    pred[index] = dc
        return "".join(parts)


def _block(plane: list[bytes], x: int, y: int) -> bytes:
    """The 64 samples of the 8×8 block at (x, y) of a padded plane."""
    return b"".join(plane[y + r][x:x + 8] for r in range(8))


def _fixed_table(coefficient: float, offset: int = 0) -> tuple[int, ...]:
    """``round(coefficient·i·2^16) + offset`` for i in 0..255 (libjpeg's fixed-point trick)."""
    return tuple(int(coefficient * 65536 * i + 0.5) + offset for i in range(256))


# JFIF RGB → YCbCr in 16.16 fixed point, rounding folded into one table per component
# (chroma rounds with 2^15 − 1 so that 255.5 cannot round up to 256).
_Y_R = _fixed_table(0.299)
_Y_G = _fixed_table(0.587)
_Y_B = _fixed_table(0.114, 1 << 15)
_CB_R = _fixed_table(-0.168736)
_CB_G = _fixed_table(-0.331264)
_CB_B = _fixed_table(0.5, (128 << 16) + (1 << 15) - 1)
_CR_R = _fixed_table(0.5, (128 << 16) + (1 << 15) - 1)
_CR_G = _fixed_table(-0.418688)
_CR_B = _fixed_table(-0.081312)


def _to_ycbcr_420(width: int, height: int, rgb: bytes) -> tuple[list[bytes], ...]:
    """JFIF colour conversion, edge-replicated to whole MCUs, chroma averaged 2×2.

    Table look-ups over zipped row slices instead of per-pixel arithmetic: this is the
    encoder's per-pixel hot path, and it runs several times faster this way.
    """
    pw = (width + 15) // 16 * 16
    ph = (height + 15) // 16 * 16
    pad = pw - width
    stride = width * 3
    y_rows: list[bytes] = []
    cb_rows: list[bytes] = []
    cr_rows: list[bytes] = []
    converted: dict[int, tuple[bytes, list[int], list[int]]] = {}

    def row(y: int) -> tuple[bytes, list[int], list[int]]:
        y = min(y, height - 1)  # rows below the picture repeat its last row
        hit = converted.get(y)
        if hit is None:
            src = memoryview(rgb)[y * stride:(y + 1) * stride]
            pixels = list(zip(src[0::3], src[1::3], src[2::3], strict=True))
            ys = bytes([(_Y_R[r] + _Y_G[g] + _Y_B[b]) >> 16 for r, g, b in pixels])
            cbs = [(_CB_R[r] + _CB_G[g] + _CB_B[b]) >> 16 for r, g, b in pixels]
            crs = [(_CR_R[r] + _CR_G[g] + _CR_B[b]) >> 16 for r, g, b in pixels]
            if pad:
                ys += ys[-1:] * pad
                cbs += cbs[-1:] * pad
                crs += crs[-1:] * pad
            hit = converted[y] = (ys, cbs, crs)
            converted.pop(y - 2, None)  # only the current pair of rows is needed again
        return hit

    for y in range(0, ph, 2):
        y0, cb0, cr0 = row(y)
        y1, cb1, cr1 = row(y + 1)
        y_rows += (y0, y1)
        cb_rows.append(bytes([(a + b + c + d + 2) >> 2 for a, b, c, d in
                              zip(cb0[0::2], cb0[1::2], cb1[0::2], cb1[1::2], strict=True)]))
        cr_rows.append(bytes([(a + b + c + d + 2) >> 2 for a, b, c, d in
                              zip(cr0[0::2], cr0[1::2], cr1[0::2], cr1[1::2], strict=True)]))
    return y_rows, cb_rows, cr_rows


# 3×5 digit glyphs, one string per row, for the frame counter.
_DIGITS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "001", "001", "001"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
}


def test_pattern(width: int, height: int, frame: int = 0) -> bytes:
    """RGB bytes of a test picture: gradient, a bar that moves with ``frame``, the counter.

    The gradient runs red across and green down; a white vertical bar advances 4 pixels
    per frame; ``frame`` is drawn in white 3×5 digits on a black box in the top-left
    corner, scaled to about a tenth of the picture height.
    """
    if width < 1 or height < 1:
        raise ValueError(f"dimensions out of range: {width}x{height}")
    img = bytearray(width * height * 3)
    for y in range(height):
        g = y * 255 // max(1, height - 1)
        base = y * width * 3
        for x in range(width):
            i = base + x * 3
            img[i] = x * 255 // max(1, width - 1)
            img[i + 1] = g
            img[i + 2] = 96
    bar = (frame * 4) % width
    for y in range(height):
        for x in range(bar, min(width, bar + 3)):
            i = (y * width + x) * 3
            img[i:i + 3] = b"\xff\xff\xff"
    text = str(max(0, frame))
    scale = max(1, height // 40)
    box_w = min(width, (len(text) * 4 + 1) * scale)
    box_h = min(height, 7 * scale)
    for y in range(box_h):
        for x in range(box_w):
            i = (y * width + x) * 3
            img[i:i + 3] = b"\x00\x00\x00"
    for n, ch in enumerate(text):
        glyph = _DIGITS[ch]
        for gy, line in enumerate(glyph):
            for gx, on in enumerate(line):
                if on != "1":
                    continue
                for dy in range(scale):
                    for dx in range(scale):
                        x = (1 + n * 4 + gx) * scale + dx
                        y = (1 + gy) * scale + dy
                        if x < width and y < height:
                            i = (y * width + x) * 3
                            img[i:i + 3] = b"\xff\xff\xff"
    return bytes(img)


_DEFAULT_ENCODERS: dict[int, JpegEncoder] = {}


def _encoder(quality: int) -> JpegEncoder:
    enc = _DEFAULT_ENCODERS.get(quality)
    if enc is None:
        enc = _DEFAULT_ENCODERS[quality] = JpegEncoder(quality)
    return enc


@functools.lru_cache(maxsize=512)
def test_pattern_jpeg(width: int, height: int, frame: int = 0, quality: int = 75) -> bytes:
    """A JPEG of :func:`test_pattern`, with the frame number in a COM segment too.

    Memoised: the bytes depend only on the arguments, and peers ask for the same frames
    again and again (every scenario browses the same recording).
    """
    rgb = test_pattern(width, height, frame)
    return _encoder(quality).encode_rgb(width, height, rgb, comment=f"cvipsniff frame {frame}")


@functools.lru_cache(maxsize=4)
def noise_jpeg_of_size(target_bytes: int, seed: int = 1, width: int = 640,
                       quality: int = 90) -> bytes:
    """A noise-like JPEG of about ``target_bytes`` (slightly above), ``width`` wide.

    Rows of MCUs are generated from random quantised coefficients until the coded size
    reaches the target; the height is whatever that took (a multiple of 16, at most
    4096). Deterministic for a given seed (and memoised, being costly).
    """
    if width < 16 or width > 4096:
        raise ValueError(f"width out of range: {width}")
    rng = random.Random(seed)
    enc = JpegEncoder(quality)
    luma, chroma = enc._luma, enc._chroma
    header_len = len(_headers(width, 16, luma.quant, chroma.quant, "cvipsniff noise"))
    parts: list[str] = []
    coded_bits = 0
    pred = [0, 0, 0]
    rows = 0
    mcus_x = (width + 15) // 16
    while rows < 256 and header_len + coded_bits // 8 < target_bytes:
        for _ in range(mcus_x):
            for index in (0, 0, 0, 0, 1, 2):
                comp = luma if index == 0 else chroma
                zz = [0] * 64
                zz[0] = max(-60, min(60, pred[index] + rng.randint(-4, 4)))
                for k in range(1, 64):
                    if rng.random() < 0.55:
                        zz[k] = rng.choice((-1, 1)) * rng.randint(1, 12)
                dc_bits = comp.dc_bits(zz[0] - pred[index])
                ac_bits = comp.ac_bits(zz)
                pred[index] = zz[0]
                parts.append(dc_bits)
                parts.append(ac_bits)
                coded_bits += len(dc_bits) + len(ac_bits)
        rows += 1
    height = rows * 16
    return (_headers(width, height, luma.quant, chroma.quant, "cvipsniff noise")
            + _pack_bits("".join(parts)) + b"\xff\xd9")
