"""A :class:`~cvipsniff.filter.source.FieldSource` over one message of the capture.

Answers the engine's fields (registry.ENGINE_FIELDS) from the message, its flow, its
transaction and its findings, and every other key from the record: the dissection tree
(``Record.walk()`` order, so repeated members keep their order) and ``Record.attrs`` as
``attrs.<name>``.

Built to be cheap when a filter touches only engine fields, which is the common case in
the TUI over a million messages: the key → values index of the record tree is built
lazily, once, the first time a record key is asked for.

Transactions and findings are duck-typed (their models live elsewhere): a transaction
needs ``.state``, ``.id`` and ``.latency_ms`` (None while unanswered); a finding needs
``.rule``, ``.severity``, ``.message`` and ``.spec`` — so a record's own
``dissectors.base.Problem`` list also works as ``findings``. Enum values are compared by
their ``.value``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cvipsniff.filter.source import key_and_parents
from cvipsniff.filter.values import plain
from cvipsniff.model import Flow, Message

_NONE: tuple[()] = ()
_ATTRS_MAX_DEPTH = 8
_ATTRS_MAX_VALUES = 10_000
_STRUCTURES = (dict, list, tuple, set, frozenset)
_SCALARS = frozenset({str, int, float, bool, bytes})


class MessageFieldSource:
    """The fields of ``message`` for the filter language.

    ``first_ts_ns`` is the capture time of the capture's first frame (for
    ``frame.time_relative``); ``flow`` is the message's :class:`~cvipsniff.model.Flow`
    when known (for ``flow.closed`` and ``flow.mid_session``).
    """

    __slots__ = (
        "_attrs_done",
        "_index",
        "_names",
        "findings",
        "first_ts_ns",
        "flow",
        "message",
        "transaction",
    )

    def __init__(
        self,
        message: Message,
        *,
        flow: Flow | None = None,
        transaction: Any = None,
        findings: Sequence[Any] = (),
        first_ts_ns: int = 0,
    ) -> None:
        self.message = message
        self.flow = flow
        self.transaction = transaction
        self.findings = findings
        self.first_ts_ns = first_ts_ns
        self._index: dict[str, list[object]] | None = None
        self._names: frozenset[str] | None = None
        self._attrs_done = False

    def values(self, key: str) -> Sequence[object]:
        getter = _ENGINE_VALUES.get(key)
        if getter is not None:
            return getter(self)
        index = self._index
        if index is None:
            index = self._build_index()
        if not self._attrs_done and key.startswith("attrs"):
            self._add_record_attrs(index)
        return index.get(key, _NONE)

    def has_prefix(self, prefix: str) -> bool:
        test = _ENGINE_PREFIXES.get(prefix)
        if test is not None:
            return test(self)
        if prefix == self.message.record.protocol:
            return True
        index = self._index if self._index is not None else self._build_index()
        if not self._attrs_done and prefix.startswith("attrs"):
            self._add_record_attrs(index)
        names = self._names
        if names is None:
            names = self._names = frozenset(
                name for key in index for name in key_and_parents(key)
            )
        return prefix in names

    def _build_index(self) -> dict[str, list[object]]:
        """Key → values of the record tree; every key present is in the index, structure
        nodes with an empty list (present, but no value to compare). ``attrs`` are added
        to it only when a key under ``attrs`` is asked for (:meth:`_add_record_attrs`):
        flattening them cost as much as walking the tree, for filters that rarely name
        them, and every key they add starts with ``attrs``.

        This is the per-message cost of a filter on record fields, so the loop is inlined
        and scalar values take a single type check.
        """
        index: dict[str, list[object]] = {}
        get = index.get
        record = self.message.record
        # An explicit stack instead of Record.walk()'s recursion: same depth-first order,
        # and a pathologically deep tree cannot hit the recursion limit here.
        stack = record.fields[::-1]
        pop = stack.pop
        while stack:
            node = pop()
            bucket = get(node.key)
            if bucket is None:
                bucket = index[node.key] = []
            value = node.value
            if type(value) in _SCALARS:
                bucket.append(value)
            elif value is not None:
                _add_value(bucket, value)
            children = node.children
            if children:
                stack.extend(children[::-1])
        self._index = index
        return index

    def _add_record_attrs(self, index: dict[str, list[object]]) -> None:
        """``Record.attrs`` as ``attrs.<name>`` keys, after the tree's (as if added with
        it: a tree key under ``attrs`` keeps its values first)."""
        self._attrs_done = True
        attrs = self.message.record.attrs
        if attrs:
            index.setdefault("attrs", [])
            _add_attrs(index, "attrs", attrs, 0, [0])
            self._names = None


def _add_value(bucket: list[object], value: object) -> None:
    """A value that is not a plain scalar: list members are repeated values, mappings
    are structure (no value), anything else is kept as is."""
    if isinstance(value, dict):
        return
    if isinstance(value, list | tuple):
        bucket.extend(v for v in value if v is not None and not isinstance(v, _STRUCTURES))
    else:
        bucket.append(value)


def _add_attrs(
    index: dict[str, list[object]], path: str, value: object, depth: int, budget: list[int]
) -> None:
    """Flatten ``Record.attrs``: mappings by dotted path, list members as repeated values.

    Bounded in depth and in values so that a hostile record cannot make filtering slow.
    """
    if budget[0] >= _ATTRS_MAX_VALUES or depth > _ATTRS_MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for name, member in value.items():
            _add_attrs(index, f"{path}.{name}", member, depth + 1, budget)
        return
    bucket = index.setdefault(path, [])
    if isinstance(value, list | tuple):
        for member in value:
            _add_attrs(index, path, member, depth + 1, budget)
    elif depth > 0 and value is not None:
        budget[0] += 1
        bucket.append(plain(value))


# ---- engine fields ---------------------------------------------------------------------

Getter = Callable[[MessageFieldSource], Sequence[object]]


def _frames(s: MessageFieldSource) -> Sequence[object]:
    return s.message.frames or _NONE


def _time(s: MessageFieldSource) -> Sequence[object]:
    return [s.message.ts_ns / 1e9]


def _time_relative(s: MessageFieldSource) -> Sequence[object]:
    return [(s.message.ts_ns - s.first_ts_ns) / 1e9]


def _ports(transport: str, which: str) -> Getter:
    def getter(s: MessageFieldSource) -> Sequence[object]:
        message = s.message
        if message.transport != transport:
            return _NONE
        if which == "src":
            return [message.src[1]]
        if which == "dst":
            return [message.dst[1]]
        return [message.src[1], message.dst[1]]

    return getter


def _optional(value: object) -> Sequence[object]:
    value = plain(value)
    return _NONE if value is None else [value]


def _transaction(attribute: str) -> Getter:
    def getter(s: MessageFieldSource) -> Sequence[object]:
        txn = s.transaction
        return _NONE if txn is None else _optional(getattr(txn, attribute, None))

    return getter


def _finding(attribute: str) -> Getter:
    def getter(s: MessageFieldSource) -> Sequence[object]:
        return _present(plain(getattr(f, attribute, None)) for f in s.findings)

    return getter


def _present(values: Iterable[object]) -> Sequence[object]:
    return [v for v in values if v is not None]


def _flow(attribute: str) -> Getter:
    def getter(s: MessageFieldSource) -> Sequence[object]:
        flow = s.flow
        return _NONE if flow is None else _optional(getattr(flow, attribute, None))

    return getter


_ENGINE_VALUES: dict[str, Getter] = {
    "frame": _frames,
    "frame.number": lambda s: [s.message.frame] if s.message.frames else _NONE,
    "frame.time": _time,
    "frame.time_epoch": _time,
    "frame.time_relative": _time_relative,
    "message": lambda s: [s.message.number],
    "flow": lambda s: [s.message.flow],
    "flow.closed": _flow("closed"),
    "flow.mid_session": _flow("mid_session"),
    "direction": lambda s: [s.message.direction],
    "transport": lambda s: [s.message.transport],
    "protocol": lambda s: [s.message.record.protocol],
    "kind": lambda s: [s.message.record.kind],
    "method": lambda s: _optional(s.message.record.method),
    "response": lambda s: [s.message.record.is_response],
    "info": lambda s: [s.message.record.info],
    "length": lambda s: [s.message.length],
    "ip.src": lambda s: [s.message.src[0]],
    "ip.dst": lambda s: [s.message.dst[0]],
    "ip.addr": lambda s: [s.message.src[0], s.message.dst[0]],
    "tcp.port": _ports("tcp", "any"),
    "tcp.srcport": _ports("tcp", "src"),
    "tcp.dstport": _ports("tcp", "dst"),
    "udp.port": _ports("udp", "any"),
    "udp.srcport": _ports("udp", "src"),
    "udp.dstport": _ports("udp", "dst"),
    "src.port": lambda s: [s.message.src[1]],
    "dst.port": lambda s: [s.message.dst[1]],
    "latency_ms": _transaction("latency_ms"),
    "txn.state": _transaction("state"),
    "txn.id": _transaction("id"),
    "finding": lambda s: [True] if s.findings else _NONE,
    "finding.rule": _finding("rule"),
    "finding.severity": _finding("severity"),
    "finding.message": _finding("message"),
    "finding.spec": _finding("spec"),
}


def _always(s: MessageFieldSource) -> bool:
    return True


def _engine_prefixes() -> dict[str, Callable[[MessageFieldSource], bool]]:
    tests: dict[str, Callable[[MessageFieldSource], bool]] = {
        key: (lambda s, getter=getter: bool(getter(s))) for key, getter in _ENGINE_VALUES.items()
    }
    tests.update(
        {
            "frame": _always,
            "flow": _always,
            "ip": _always,
            "src": _always,
            "dst": _always,
            "tcp": lambda s: s.message.transport == "tcp",
            "udp": lambda s: s.message.transport == "udp",
            "txn": lambda s: s.transaction is not None,
            "finding": lambda s: bool(s.findings),
            "attrs": lambda s: bool(s.message.record.attrs),
        }
    )
    return tests


_ENGINE_PREFIXES = _engine_prefixes()

ENGINE_KEYS = frozenset(_ENGINE_VALUES)
"""Keys answered by the engine rather than by the record (engine keys win on a clash)."""
