"""Where the reference server's pictures come from: real JPEGs, memoised.

A recorded image is the test pattern with its database index as the frame counter; a live
frame is the test pattern with the live frame number. A camera configured with
``noise_bytes`` serves one large noise-like JPEG for every recorded image instead (the
~200 KB body a capture needs once). Encoding dominates the server's cost, so the last few
hundred pictures are kept, keyed by everything that shapes their bytes.
"""

from __future__ import annotations

from cvipsniff.sim.imageserver.jpeg import jpeg_info, noise_jpeg_of_size, test_pattern_jpeg

DEFAULT_QUALITY = 75


def quality_for(compressionrate: int | None) -> int:
    """JPEG quality for a ``<compressionrate>``: higher rate, stronger compression.

    The document does not define the scale; 1–100 is read as a percentage of
    compression (quality = 100 − rate, kept within 10..95). Absent values and the special
    values 101–104 (whose meaning the document leaves out) give the default quality.
    """
    if compressionrate is None or not 1 <= compressionrate <= 100:
        return DEFAULT_QUALITY
    return max(10, min(95, 100 - compressionrate))


class ImageSource:
    """Pictures for one camera."""

    CACHE_CAP = 256

    def __init__(self, width: int, height: int, noise_bytes: int | None = None,
                 seed: int = 1) -> None:
        self._noise: bytes | None = None
        if noise_bytes is not None:
            self._noise = noise_jpeg_of_size(noise_bytes, seed=seed)
            info = jpeg_info(self._noise)
            assert info is not None  # our own encoder's output
            width, height = info.width, info.height
        self.native_width = width
        self.native_height = height
        self._cache: dict[tuple[str, int, int, int, int], bytes] = {}

    @property
    def fixed_size(self) -> bool:
        """True when pictures cannot be transcoded to another size (the noise picture)."""
        return self._noise is not None

    def recorded(self, index: int, width: int, height: int, quality: int) -> bytes:
        if self._noise is not None:
            return self._noise
        return self._picture("rec", index, width, height, quality)

    def live(self, frame: int, width: int, height: int, quality: int) -> bytes:
        return self._picture("live", frame, width, height, quality)

    def _picture(self, kind: str, frame: int, width: int, height: int, quality: int) -> bytes:
        key = (kind, frame, width, height, quality)
        data = self._cache.get(key)
        if data is None:
            data = test_pattern_jpeg(width, height, frame, quality)
            if len(self._cache) >= self.CACHE_CAP:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = data
        return data
