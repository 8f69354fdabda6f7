"""Where the bundled captures live, for the default (no-argument) run.

In a checkout they are in ``captures/``; an installed package (``pip install .``) has no
``captures/``, so the demo capture also ships as package data (``cvipsniff/data/
demo.pcapng``, a link to ``captures/demo.pcapng`` in the checkout that the build copies).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES_DIR = ROOT / "captures"
DEMO_NAMES = ("demo.pcapng", "demo.pcap")
PACKAGED_DEMO = Path(__file__).resolve().parent / "data" / "demo.pcapng"


def default_capture() -> Path | None:
    """The demo capture of the checkout, else the one installed with the package, else any
    capture in captures/ (sorted), else None."""
    for name in DEMO_NAMES:
        candidate = CAPTURES_DIR / name
        if candidate.is_file():
            return candidate
    if PACKAGED_DEMO.is_file():
        return PACKAGED_DEMO
    if CAPTURES_DIR.is_dir():
        for pattern in ("*.pcapng", "*.pcap", "*.pcapng.gz", "*.pcap.gz"):
            found = sorted(CAPTURES_DIR.rglob(pattern))
            if found:
                return found[0]
    return None
