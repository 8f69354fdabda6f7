"""``json.dumps(obj, indent=N, ensure_ascii=False)``, byte for byte, only faster and leaner.

Why: with ``indent`` set, CPython 3.11's :mod:`json` falls back to its pure-Python encoder,
a chain of generators that yields one small string per token and then collects them all
in one list before joining. On a large capture's report (tens of thousands of
transactions) that list alone held ~140 MB and the encoding took over a second.

Here each container is rendered to one string as soon as its items are (the C string
escaper does the strings), so nothing but the finished pieces of the current path is
alive. The output is exactly the standard library's (``tests/test_report_jsontext.py``
compares them), including its treatment of keys, floats (``NaN``, ``Infinity``) and
subclasses; unsupported objects raise the same ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from json.encoder import encode_basestring  # the C implementation when available
from typing import Any, Protocol

_INFINITY = float("inf")


class SizedIterable(Protocol):
    """What :class:`Rows` needs of its items: their count and one pass over them."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


# The items of a row batch (see Rows.render_batch): a few hundred kilobytes of text.
_BATCH = 512


class Piecewise:
    """A JSON value that writes itself in pieces (``pieces(nl, step)``: its text on a line
    starting with ``nl``, as str or UTF-8 bytes) where :func:`iter_indented` meets it."""

    __slots__ = ()

    def pieces(self, nl: str, step: str) -> Iterator[str | bytes]:
        raise NotImplementedError


class Rows(Piecewise):
    """A JSON array whose items render themselves: ``render(item, nl, step)`` returns the
    text :func:`dumps_indented` would give the item's JSON value on a line starting with
    ``nl``. Why: a report's rows (one per transaction) are many; rendering each straight
    from its object skips building a dict per row, and the rows are made as written.

    ``render_batch(items, nl, step, first)``, where given, renders a list of items at once
    as the loop below would join them (each preceded by ``"[" + nl`` for the array's
    first item, when ``first``, else ``"," + nl``), or returns None to have that batch
    rendered item by item: one call for hundreds of rows rather than one per row."""

    __slots__ = ("items", "render", "render_batch")

    def __init__(self, items: Sequence[Any] | SizedIterable,
                 render: Callable[[Any, str, str], str],
                 render_batch: Callable[[list, str, str, bool], str | None] | None = None,
                 ) -> None:
        self.items = items
        self.render = render
        self.render_batch = render_batch

    def text(self, nl: str, step: str) -> str:
        return "".join(self.pieces(nl, step))

    def pieces(self, nl: str, step: str) -> Iterator[str]:
        if not self.items:
            yield "[]"
            return
        inner = nl + step
        render = self.render
        if self.render_batch is not None:
            yield from self._batches(inner, step)
        else:
            sep = "[" + inner
            for item in self.items:
                yield sep + render(item, inner, step)
                sep = "," + inner
        yield nl + "]"

    def _batches(self, inner: str, step: str) -> Iterator[str]:
        assert self.render_batch is not None
        items = iter(self.items)
        first = True
        while batch := list(islice(items, _BATCH)):
            text = self.render_batch(batch, inner, step, first)
            if text is None:
                seps = ["," + inner] * len(batch)
                if first:
                    seps[0] = "[" + inner
                text = "".join(sep + self.render(item, inner, step)
                               for sep, item in zip(seps, batch, strict=True))
            yield text
            first = False


class Spliced(Piecewise):
    """A JSON value already rendered into a file for one place in the document (its
    line start ``nl``): written by copying the file in chunks, never held whole.

    Its pieces are the file's UTF-8 bytes, not text: a writer whose output is UTF-8
    copies them as they are (:func:`cvipsniff.report.write_pieces`). Why: decoding the
    parts and encoding them again is work in a several-file report's serial tail (about
    0.03 s per 40 MB of parts, the image bench mix's two-file run)."""

    __slots__ = ("nl", "path")

    CHUNK = 1 << 20

    def __init__(self, path: str, nl: str) -> None:
        self.path = path
        self.nl = nl

    def pieces(self, nl: str, step: str) -> Iterator[bytes]:
        if nl != self.nl:
            raise ValueError(f"text rendered for another place ({self.nl!r}, not {nl!r})")
        with open(self.path, "rb") as fh:
            while chunk := fh.read(self.CHUNK):
                yield chunk


def dumps_indented(obj: Any, indent: int = 1) -> str:
    """What ``json.dumps(obj, indent=indent, ensure_ascii=False)`` returns."""
    return _value(obj, "\n", " " * indent)


def value_text(obj: Any, nl: str, step: str) -> str:
    """One value's text on a line starting with ``nl`` (``step`` per level), as
    :func:`dumps_indented` writes it nested there: for renderers of :class:`Rows`."""
    return _value(obj, nl, step)


def _float(o: float) -> str:
    """As :mod:`json` spells floats (``allow_nan=True``)."""
    if o != o:
        return "NaN"
    if o == _INFINITY:
        return "Infinity"
    if o == -_INFINITY:
        return "-Infinity"
    return float.__repr__(o)


def _value(o: Any, nl: str, step: str) -> str:
    """One value; ``nl`` is the newline and indentation of the line it starts on."""
    t = type(o)
    if t is str:
        return encode_basestring(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if t is int:
        return int.__repr__(o)
    if t is dict:
        return _dict(o, nl, step)
    if t is list or t is tuple:
        return _list(o, nl, step)
    if t is float:
        return _float(o)
    if t is Rows:
        return o.text(nl, step)
    return _subclass(o, nl, step)


def _subclass(o: Any, nl: str, step: str) -> str:
    """Subclasses of the JSON types, tested in :mod:`json`'s own order."""
    if isinstance(o, str):
        return encode_basestring(o)
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        return _float(o)
    if isinstance(o, (list, tuple)):
        return _list(o, nl, step)
    if isinstance(o, dict):
        return _dict(o, nl, step)
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def _list(items: list[Any] | tuple[Any, ...], nl: str, step: str) -> str:
    if not items:
        return "[]"
    inner = nl + step
    return "[" + inner + ("," + inner).join([_value(v, inner, step) for v in items]) + nl + "]"


def _dict(d: dict[Any, Any], nl: str, step: str) -> str:
    if not d:
        return "{}"
    inner = nl + step
    parts = [_key(k) + ": " + _value(v, inner, step) for k, v in d.items()]
    return "{" + inner + ("," + inner).join(parts) + nl + "}"


def _key(k: Any) -> str:
    """A member name, converted as :mod:`json` converts non-string keys."""
    if isinstance(k, str):
        return encode_basestring(k)
    if isinstance(k, float):
        return encode_basestring(_float(k))
    if k is True:
        return '"true"'
    if k is False:
        return '"false"'
    if k is None:
        return '"null"'
    if isinstance(k, int):
        return encode_basestring(int.__repr__(k))
    raise TypeError(f"keys must be str, int, float, bool or None, not {k.__class__.__name__}")


def iter_indented(obj: Any, indent: int = 1, depth: int = 4) -> Iterator[str | bytes]:
    """The text of :func:`dumps_indented` in pieces, for writing as it is made.

    The containers of the first ``depth`` levels are opened here; anything deeper comes
    whole (for the report: one piece per transaction or finding), so a large report is
    never held as one string, nor as the encoded copy of one. A :class:`Spliced` value's
    pieces are its UTF-8 bytes (see :func:`cvipsniff.report.joined`).
    """
    yield from _pieces(obj, "\n", " " * indent, depth)


def iter_indented_at(obj: Any, nl: str, depth: int,
                     indent: int = 1) -> Iterator[str | bytes]:
    """:func:`iter_indented`'s pieces for ``obj`` where it sits inside a larger document:
    on lines starting with ``nl``, with ``depth`` levels of it opened."""
    yield from _pieces(obj, nl, " " * indent, depth)


def _pieces(o: Any, nl: str, step: str, depth: int) -> Iterator[str | bytes]:
    if isinstance(o, Piecewise):
        yield from o.pieces(nl, step)
        return
    t = type(o)
    if depth <= 0 or not o or (t is not dict and t is not list and t is not tuple):
        yield _value(o, nl, step)
        return
    inner = nl + step
    sep = inner
    if t is dict:
        yield "{"
        for k, v in o.items():
            yield sep + _key(k) + ": "
            yield from _pieces(v, inner, step, depth - 1)
            sep = "," + inner
        yield nl + "}"
    else:
        yield "["
        for v in o:
            yield sep
            yield from _pieces(v, inner, step, depth - 1)
            sep = "," + inner
        yield nl + "]"
