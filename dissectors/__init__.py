"""Protocol knowledge only: framers, dissectors and spec tables (sans-I/O).

Each subpackage exposes ``PROTOCOL``, a :class:`dissectors.base.ProtocolSpec`. The engine
finds them through :func:`registry`.
"""

from __future__ import annotations

from dissectors.base import ProtocolSpec


def registry() -> dict[str, ProtocolSpec]:
    """All protocols this build can dissect, by name."""
    from dissectors.cvip import PROTOCOL as CVIP
    from dissectors.imageserver import PROTOCOL as IMAGESERVER

    return {CVIP.name: CVIP, IMAGESERVER.name: IMAGESERVER}
