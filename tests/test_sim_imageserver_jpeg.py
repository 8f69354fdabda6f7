"""The pure-Python baseline JPEG encoder of the ImageServer reference peers.

Validity is checked with a real decoder (``djpeg`` from Debian's libjpeg-turbo-progs):
it must decode without warnings to the requested dimensions, and the decoded pixels must
be close to the source picture (so the tables, the DCT and the bit stream are all right,
not merely parseable).
"""

from __future__ import annotations

import itertools
import math
import random
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvipsniff.sim.imageserver import jpeg


@pytest.fixture
def djpeg() -> str:
    path = shutil.which("djpeg")
    if path is None:
        pytest.skip("djpeg not installed (Debian package libjpeg-turbo-progs)")
    return path


def _decode(djpeg: str, data: bytes) -> tuple[int, int, bytes]:
    """Decode with djpeg to binary PPM; fail on any warning djpeg prints."""
    proc = subprocess.run([djpeg, "-pnm"], input=data, capture_output=True, timeout=30,
                          check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b"", proc.stderr.decode()
    out = proc.stdout
    magic, width, height, maxval, pixels = out.split(maxsplit=4)
    assert magic == b"P6" and maxval == b"255"
    return int(width), int(height), pixels


def _psnr(a: bytes, b: bytes) -> float:
    mse = sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / len(a)
    return math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)


def test_zigzag_is_the_t81_scan_order() -> None:
    assert sorted(jpeg.ZIGZAG) == list(range(64))
    assert jpeg.ZIGZAG[:10] == (0, 1, 8, 16, 9, 2, 3, 10, 17, 24)
    assert jpeg.ZIGZAG[-3:] == (55, 62, 63)


@pytest.mark.parametrize("spec", [jpeg.AC_LUMA, jpeg.AC_CHROMA])
def test_standard_ac_tables_cover_every_run_size_symbol(spec: jpeg.HuffmanSpec) -> None:
    expected = {(run << 4) | size for run in range(16) for size in range(1, 11)}
    expected |= {0x00, 0xF0}
    assert sum(spec.bits) == len(spec.values) == 162
    assert set(spec.values) == expected


@pytest.mark.parametrize("spec", [jpeg.DC_LUMA, jpeg.DC_CHROMA, jpeg.AC_LUMA,
                                  jpeg.AC_CHROMA])
def test_huffman_codes_are_prefix_free_with_declared_lengths(spec: jpeg.HuffmanSpec) -> None:
    codes = spec.codes()
    lengths = sorted(len(c) for c in codes.values())
    declared = sorted(n + 1 for n, count in enumerate(spec.bits) for _ in range(count))
    assert lengths == declared
    ordered = sorted(codes.values())
    for a, b in itertools.pairwise(ordered):
        assert not b.startswith(a)
    assert all("0" in c for c in codes.values())  # no all-ones code (T.81 C.2)


def test_aan_dct_equals_the_textbook_dct() -> None:
    rng = random.Random(7)
    samples = bytes(rng.randrange(256) for _ in range(64))
    raw = jpeg._forward_dct(samples)
    for u in range(8):
        for v in range(8):
            cu = 1 / math.sqrt(2) if u == 0 else 1.0
            cv = 1 / math.sqrt(2) if v == 0 else 1.0
            total = sum((samples[y * 8 + x] - 128)
                        * math.cos((2 * x + 1) * v * math.pi / 16)
                        * math.cos((2 * y + 1) * u * math.pi / 16)
                        for y in range(8) for x in range(8))
            textbook = 0.25 * cu * cv * total
            scaled = raw[u * 8 + v] / (8 * jpeg._AAN[u] * jpeg._AAN[v])
            assert scaled == pytest.approx(textbook, abs=1e-3)


def test_quality_scaling_follows_the_ijg_formula() -> None:
    assert jpeg.scaled_quant_table(jpeg.LUMA_QUANT_BASE, 50) == jpeg.LUMA_QUANT_BASE
    assert set(jpeg.scaled_quant_table(jpeg.LUMA_QUANT_BASE, 100)) == {1}
    worst = jpeg.scaled_quant_table(jpeg.LUMA_QUANT_BASE, 1)
    assert max(worst) == 255 and min(worst) >= 1
    assert jpeg.scaled_quant_table(jpeg.LUMA_QUANT_BASE, 75)[0] == 8


@pytest.mark.parametrize("size", [(160, 120), (1, 1), (17, 9), (33, 47), (320, 240)])
def test_test_pattern_jpeg_decodes_to_requested_size(djpeg: str,
                                                     size: tuple[int, int]) -> None:
    width, height = size
    data = jpeg.test_pattern_jpeg(width, height, frame=42)
    info = jpeg.jpeg_info(data)
    assert info == jpeg.JpegInfo(width, height, 3, baseline=True, has_eoi=True)
    w, h, pixels = _decode(djpeg, data)
    assert (w, h) == (width, height)
    if width >= 32 and height >= 32:  # tiny pictures are all sharp edges: 4:2:0 blurs them
        assert _psnr(jpeg.test_pattern(width, height, 42), pixels) > 30


def test_output_is_deterministic_and_the_block_memo_changes_nothing() -> None:
    rgb = jpeg.test_pattern(64, 48, 3)
    fresh = jpeg.JpegEncoder(75).encode_rgb(64, 48, rgb)
    warm = jpeg.JpegEncoder(75)
    warm.encode_rgb(64, 48, jpeg.test_pattern(64, 48, 2))  # fill the memo
    assert warm.encode_rgb(64, 48, rgb) == fresh
    assert jpeg.test_pattern_jpeg(64, 48, 3) == jpeg.test_pattern_jpeg(64, 48, 3)


def test_frames_differ_and_carry_their_counter() -> None:
    a = jpeg.test_pattern_jpeg(160, 120, frame=1)
    b = jpeg.test_pattern_jpeg(160, 120, frame=2)
    assert a != b
    assert b"cvipsniff frame 2" in b


def test_quality_changes_size(djpeg: str) -> None:
    rgb = jpeg.test_pattern(160, 120, 9)
    low = jpeg.JpegEncoder(10).encode_rgb(160, 120, rgb)
    high = jpeg.JpegEncoder(95).encode_rgb(160, 120, rgb)
    assert len(low) < len(high)
    assert _decode(djpeg, low)[:2] == (160, 120)


def test_noise_jpeg_reaches_about_200_kb_and_decodes(djpeg: str) -> None:
    data = jpeg.noise_jpeg_of_size(200_000, seed=3)
    assert 200_000 <= len(data) <= 240_000
    info = jpeg.jpeg_info(data)
    assert info is not None and info.width == 640 and info.height % 16 == 0
    w, h, pixels = _decode(djpeg, data)
    assert (w, h) == (info.width, info.height)
    assert len(set(pixels[:3000])) > 100  # noise-like, not flat
    assert jpeg.noise_jpeg_of_size(200_000, seed=3) == data
    assert jpeg.noise_jpeg_of_size(200_000, seed=4) != data


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        jpeg.JpegEncoder().encode_rgb(2, 2, b"\x00" * 11)
    with pytest.raises(ValueError):
        jpeg.test_pattern(0, 10)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_jpeg_info_never_raises(data: bytes) -> None:
    jpeg.jpeg_info(data)
    jpeg.jpeg_info(b"\xff\xd8" + data)


def test_jpeg_info_on_truncated_files() -> None:
    data = jpeg.test_pattern_jpeg(20, 20)
    for cut in range(0, 400, 7):
        info = jpeg.jpeg_info(data[:cut])
        assert info is None or (info.width, info.height) == (20, 20)
    assert jpeg.jpeg_info(b"not a jpeg") is None
