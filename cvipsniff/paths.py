"""Where the bundled captures live, for the default (no-argument) run."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES_DIR = ROOT / "captures"
DEMO_NAMES = ("demo.pcapng", "demo.pcap")


def default_capture() -> Path | None:
    """The demo capture if it exists, else any capture in captures/ (sorted), else None."""
    for name in DEMO_NAMES:
        candidate = CAPTURES_DIR / name
        if candidate.is_file():
            return candidate
    if CAPTURES_DIR.is_dir():
        for pattern in ("*.pcapng", "*.pcap", "*.pcapng.gz", "*.pcap.gz"):
            found = sorted(CAPTURES_DIR.rglob(pattern))
            if found:
                return found[0]
    return None
