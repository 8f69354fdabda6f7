"""The one seam between the pure-Python reference and the optional compiled accelerator.

``cvipsniff_accel`` (Rust through PyO3, built from ``accel/`` by ``scripts/bootstrap.sh``)
is chosen here, once, at import; ``CVIPSNIFF_PURE_PYTHON=1`` forces the pure-Python path,
and so does its absence (a machine without a Rust toolchain). Callers get one interface
whichever path is active — never a ``if compiled:`` branch of their own.

Each entry here is a *fast path that may decline*: the compiled one answers the common,
plain case and returns None for anything it is not sure of; the pure-Python stand-in
always declines. A None sends the caller down its reference code, so both paths give the
same result by construction, and the test suite runs on both (``.ci/run``) to keep it so.

This lives in ``dissectors/`` (not ``cvipsniff/``) because the sans-I/O dissectors must
not import the tool; the tool may import the dissectors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["COMPILED", "accelerated", "cvip_framer", "cvip_lean", "imageserver_framer",
           "imageserver_lean", "xmlrpc_decoder"]


# The interface this code expects of the compiled module (its ``API_VERSION``, set in
# accel/src/lib.rs; bump both together).
API_VERSION = 17


def usable(module: Any) -> bool:
    """Whether a compiled module speaks this code's interface. A checkout updated without
    re-running the set-up keeps the old build in its virtualenv: using it would fail on
    the first missing class, so it is set aside (with one line on stderr) instead."""
    return getattr(module, "API_VERSION", None) == API_VERSION


def _load() -> Any:
    if os.environ.get("CVIPSNIFF_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        import cvipsniff_accel
    except ImportError:
        return None
    if not usable(cvipsniff_accel):
        sys.stderr.write(
            "cvipsniff: the compiled accelerator was built from older sources (interface "
            f"{getattr(cvipsniff_accel, 'API_VERSION', 1)}, this code needs {API_VERSION}); "
            "using the pure-Python path (run ./scripts/bootstrap.sh to rebuild it)\n")
        return None
    return cvipsniff_accel


_compiled = _load()
COMPILED: bool = _compiled is not None
"""Whether the compiled accelerator is in use (for ``cvipsniff --version`` and tests)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def accelerated(name: str, reference: _F) -> _F:
    """The compiled function ``name`` (same signature and results as ``reference``), or
    ``reference`` itself on the pure-Python path. For fast paths that may decline,
    ``reference`` is the declining stand-in documented beside the caller."""
    if _compiled is None:
        return reference
    return getattr(_compiled, name)


# body, size cap, depth cap, element cap, body offset in the message, offsets wanted ->
# XmlRpcBody, or None (take the lxml path).
XmlRpcDecoder = Callable[[bytes, int, int, int, int, bool], Any]


def _decline(_body: bytes, _size: int, _depth: int, _elements: int, _base: int,
             _offsets: bool) -> None:
    return None


def xmlrpc_decoder(value: type, member: type, body: type,
                   readers: Mapping[str, Callable[[str], tuple[Any, str | None]]]
                   ) -> XmlRpcDecoder:
    """A decoder of plain, well-formed CVIP XML-RPC bodies into ``body`` objects (an
    ``XmlRpcBody`` of ``value``/``member`` objects) equal to what the lxml path and
    :func:`dissectors.cvip.xmlrpc.decode` build (with message offsets when asked, as in
    full mode), or None whenever that path could report anything (the scalar ``readers``
    are the reference's own, called for literals the compiled code does not read
    itself)."""
    if _compiled is None:
        return _decline
    return _compiled.XmlRpcDecoder(value, member, body, dict(readers))


def cvip_framer(framed: type, skipped: type, problem: type, section: str
                ) -> Callable[[int, bool], Any] | None:
    """A maker of compiled CVIP framers, ``make(size_cap, size_includes_header)``, whose
    ``feed``/``gap``/``close`` return exactly the events of
    :class:`dissectors.cvip.framer.CvipFramer` (built of ``framed``/``skipped``/``problem``,
    citing ``section``); None on the pure-Python path."""
    if _compiled is None:
        return None
    kit = _compiled.CvipFramerKit(framed, skipped, problem, section)
    compiled = _compiled.CvipFramer

    def make(size_cap: int, size_includes_header: bool) -> Any:
        return compiled(kit, size_cap, size_includes_header)
    return make


def imageserver_framer(framed: type, skipped: type, problem: Callable[[str, str, str], Any],
                       sections: tuple[str, str, str, str]
                       ) -> Callable[[int, int, int], Any] | None:
    """A maker of compiled ImageServer framers, ``make(max_header_bytes, max_xml_bytes,
    max_body)``, whose ``feed``/``gap``/``close`` return exactly the events of
    :class:`dissectors.imageserver.framer.ImageServerFramer` (built of ``framed``/
    ``skipped``, their problems made by ``problem(rule, message, spec)`` citing one of
    ``sections``: the introduction's, the single and the multipart image response's, the
    live responses'); None on the pure-Python path."""
    if _compiled is None:
        return None
    kit = _compiled.ImageServerFramerKit(framed, skipped, problem, sections)
    compiled = _compiled.ImageServerFramer

    def make(max_header_bytes: int, max_xml_bytes: int, max_body: int) -> Any:
        return compiled(kit, max_header_bytes, max_xml_bytes, max_body)
    return make


def _decline_lean(_data: bytes, _udp: bool) -> None:
    return None


def cvip_lean(record: type, catalogue: Callable[[], Mapping[str, Any]]
              ) -> Callable[[bytes, bool], Any]:
    """The lean CVIP dissection of conformant messages, ``(data, udp) -> record | None``:
    the ``record`` (a :class:`dissectors.base.Record`) the Python lean dissection with
    the default options gives a message it finds nothing wrong with, or None for anything
    else (see accel/src/cviplean.rs). ``catalogue()`` gives the spec tables as plain
    values (:func:`dissectors.cvip.lean.catalogue`); it is called only on the compiled
    path. The pure-Python stand-in always declines."""
    if _compiled is None:
        return _decline_lean
    return _compiled.CvipLean(record, dict(catalogue()))


def _no_lean(_data: bytes, _udp: bool = False) -> None:
    return None


def imageserver_lean(record: type, protocol: str,
                     tables: Callable[[], Mapping[str, Any]]) -> Callable[..., Any]:
    """The lean ImageServer dissection of conformant messages: ``fast(data)`` is the
    ``record`` (``dissectors.base.Record``) the reference gives ``data`` in lean mode with
    the default options when it has no problem, or None (run the reference); a second
    argument, the transport's ``udp`` flag, is taken and ignored. ``tables``
    makes the spec tables as plain values (called only on the compiled path); the
    pure-Python stand-in always declines."""
    if _compiled is None:
        return _no_lean
    return _compiled.ImageServerLean(record, protocol, dict(tables()))
