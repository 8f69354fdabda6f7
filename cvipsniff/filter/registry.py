"""Which field names a filter may use, and the listing ``cvipsniff fields`` prints.

A :class:`FieldRegistry` is built from two sources of data:

* the **engine's own fields** (:data:`ENGINE_FIELDS`): frame numbers, times, flow,
  addresses and ports, pairing state and findings — the same for every protocol;
* each protocol's ``ProtocolSpec.fields`` (:mod:`dissectors`), the ``FieldInfo`` of every
  key its dissector emits.

Naming conventions (also in docs/FILTERS.md):

* A key whose last part is ``*`` or ``<something>`` (``cvip.param.*``,
  ``imageserver.header.<name>``) registers a **prefix**: any key below it is a field of
  that type (``cvip.param.StreamID``, ``imageserver.header.Content-type``).
* A ``FieldInfo`` whose type is ``"protocol"`` names a protocol (a bare name filter such as
  ``cvip-ping``), not a field with a value.
* A protocol whose spec lists no fields at all is **open**: any key under its name is
  accepted, so a dissector that has not catalogued its keys yet does not make the filter
  language unusable for it.

Unknown names are errors with a "did you mean" suggestion (difflib), as in Wireshark.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from difflib import get_close_matches
from functools import cache

from dissectors.base import FieldInfo, ProtocolSpec

ENGINE_GROUP = "engine"
PROTOCOL_TYPE = "protocol"

ENGINE_FIELDS: tuple[FieldInfo, ...] = (
    FieldInfo(
        "frame",
        "Frame number",
        "uint",
        "Every capture frame (1-based, as Wireshark numbers them) that carried bytes of the "
        "message; == matches if any of them is the number",
    ),
    FieldInfo(
        "frame.time",
        "Capture time",
        "float",
        "Time of the frame that completed the message, seconds since the UNIX epoch",
    ),
    FieldInfo(
        "frame.time_relative",
        "Time since capture start",
        "float",
        "Seconds from the first frame of the capture to the frame that completed the message",
    ),
    FieldInfo(
        "frame.number",
        "Frame number (completing)",
        "uint",
        "The frame that completed the message, the one its summary line shows (tshark's "
        "frame.number of the reassembled PDU)",
    ),
    FieldInfo(
        "frame.time_epoch",
        "Epoch time",
        "float",
        "Time of the frame that completed the message, seconds since the UNIX epoch "
        "(as tshark's frame.time_epoch)",
    ),
    FieldInfo("message", "Message number", "uint", "Number of the message in the capture"),
    FieldInfo("flow", "Flow", "uint", "Index of the TCP connection or UDP conversation"),
    FieldInfo(
        "flow.closed",
        "Flow end",
        "string",
        "How the message's flow ended: fin, rst, reused, end-of-capture or evicted",
    ),
    FieldInfo(
        "flow.mid_session",
        "Flow started mid-session",
        "bool",
        "The capture started after the connection was set up",
    ),
    FieldInfo(
        "direction",
        "Direction",
        "uint",
        "0 client to server (SYN sender or first sender), 1 server to client",
    ),
    FieldInfo("transport", "Transport", "string", "tcp or udp"),
    FieldInfo("protocol", "Protocol", "string", "Record protocol: cvip, cvip-ping, imageserver"),
    FieldInfo(
        "kind",
        "Message kind",
        "string",
        "request, response, ack, event, fault, ping-request, ping-response, imageresponse, "
        "livepackage or unknown",
    ),
    FieldInfo("method", "Method", "string", "Full method name, if the message names one"),
    FieldInfo("response", "Is a response", "bool", "Whether the message answers a request"),
    FieldInfo("info", "Info", "string", "The one-line summary shown in the message list"),
    FieldInfo("length", "Message length", "uint", "Bytes of the message"),
    FieldInfo("ip.src", "Source address", "address", "IPv4 or IPv6 source address"),
    FieldInfo("ip.dst", "Destination address", "address", "IPv4 or IPv6 destination address"),
    FieldInfo("ip.addr", "Address", "address", "Source or destination address"),
    FieldInfo("tcp.port", "TCP port", "uint", "Source or destination port of a TCP message"),
    FieldInfo("tcp.srcport", "TCP source port", "uint", "Source port of a TCP message"),
    FieldInfo("tcp.dstport", "TCP destination port", "uint", "Destination port of a TCP message"),
    FieldInfo("udp.port", "UDP port", "uint", "Source or destination port of a UDP message"),
    FieldInfo("udp.srcport", "UDP source port", "uint", "Source port of a UDP message"),
    FieldInfo("udp.dstport", "UDP destination port", "uint", "Destination port of a UDP message"),
    FieldInfo("src.port", "Source port", "uint", "Source port, TCP or UDP"),
    FieldInfo("dst.port", "Destination port", "uint", "Destination port, TCP or UDP"),
    FieldInfo(
        "latency_ms",
        "Latency (ms)",
        "float",
        "Milliseconds from request to response of the message's transaction, if answered",
    ),
    FieldInfo(
        "txn.state",
        "Transaction state",
        "string",
        "answered, unanswered, orphan, duplicate, event, oneway, answer_lost or "
        "request_before_capture (cvipsniff.analysis.model)",
    ),
    FieldInfo("txn.id", "Transaction id", "any", "Identifier of the message's transaction"),
    FieldInfo("finding", "Has findings", "bool", "The message has at least one finding"),
    FieldInfo("finding.rule", "Finding rule", "string", "Rule id of a finding (docs/RULES.md)"),
    FieldInfo(
        "finding.severity",
        "Finding severity",
        "string",
        "info < warning < error; ordering operators compare by rank",
    ),
    FieldInfo("finding.message", "Finding message", "string", "One-line text of a finding"),
    FieldInfo("finding.spec", "Finding spec section", "string", "Spec section a finding cites"),
    FieldInfo(
        "attrs.*",
        "Record attribute",
        "any",
        "Record.attrs by name; nested mappings by dotted path, list members as repeated values",
    ),
)

RECORD_PROTOCOLS: tuple[FieldInfo, ...] = (
    # The values of Record.protocol (dissectors/base.py): a bare name matches a message of
    # that protocol even when its field keys live under another name (pings use cvip.*).
    FieldInfo("cvip", "CVIPv2", PROTOCOL_TYPE, "CVIPv2 messages and discovery pings"),
    FieldInfo("cvip-ping", "CVIPv2 discovery ping", PROTOCOL_TYPE, "CVIPv2 discovery pings"),
    FieldInfo(
        "imageserver", "XProtect ImageServer", PROTOCOL_TYPE, "Milestone XProtect ImageServer"
    ),
)

ORDERED_VALUES: dict[str, tuple[str, ...]] = {
    # Fields whose string values have a meaningful order, lowest first: ordering operators
    # compare ranks ("finding.severity >= \"warning\""), not spelling.
    "finding.severity": ("info", "warning", "error"),
}

_WILDCARD_TAIL = re.compile(r"\.(?:\*|<[^<>]*>)$")


def wildcard_prefix(key: str) -> str | None:
    """``cvip.param.`` for ``cvip.param.*`` or ``cvip.param.<name>``; None otherwise."""
    match = _WILDCARD_TAIL.search(key)
    return key[: match.start() + 1] if match else None


def _parents(key: str) -> Iterator[str]:
    """``a`` and ``a.b`` for ``a.b.c``."""
    parts = key.split(".")
    for i in range(1, len(parts)):
        yield ".".join(parts[:i])


def _group_of(key: str) -> str:
    return re.split(r"[.\-]", key, maxsplit=1)[0]


class FieldRegistry:
    """The set of names a filter may use.

    ``protocols`` maps a protocol (group) name to the ``FieldInfo`` its dissector lists;
    an empty list makes that protocol open (see the module docstring). The engine fields
    and the record protocol names are included unless ``include_engine`` is False.
    """

    def __init__(
        self,
        protocols: Mapping[str, Iterable[FieldInfo]] | None = None,
        *,
        include_engine: bool = True,
        problems: Sequence[str] = (),
    ) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        self._groups: dict[str, list[FieldInfo]] = {}
        self._exact: dict[str, FieldInfo] = {}
        self._wildcards: list[tuple[str, FieldInfo]] = []
        self._open: list[str] = []
        self._prefixes: set[str] = set()
        if include_engine:
            for info in ENGINE_FIELDS:
                self._add(ENGINE_GROUP, info)
        for name, infos in (protocols or {}).items():
            listed = [info for info in infos if isinstance(getattr(info, "key", None), str)]
            self._groups.setdefault(name, [])
            if not listed:
                self._open.append(name)
                self._prefixes.add(name)
            for info in listed:
                self._add(name, info)
        if include_engine:
            for info in RECORD_PROTOCOLS:
                if info.key not in self._exact:
                    self._add(_group_of(info.key), info)
        self._wildcards.sort(key=lambda item: -len(item[0]))
        self._candidates = self._suggestion_candidates()

    def _add(self, group: str, info: FieldInfo) -> None:
        prefix = wildcard_prefix(info.key)
        if prefix is not None:
            if any(p == prefix for p, _ in self._wildcards):
                return
            self._wildcards.append((prefix, info))
            base = prefix[:-1]
            self._prefixes.add(base)
            self._prefixes.update(_parents(base))
        else:
            if info.key in self._exact:
                return
            self._exact[info.key] = info
            self._prefixes.update(_parents(info.key))
        self._groups.setdefault(group, []).append(info)

    # ---- construction from the dissectors -------------------------------------------

    @classmethod
    def from_specs(
        cls, specs: Iterable[ProtocolSpec], *, problems: Sequence[str] = ()
    ) -> FieldRegistry:
        """Engine fields plus each spec's ``fields``, grouped by spec name."""
        protocols: dict[str, list[FieldInfo]] = {}
        notes = list(problems)
        for spec in specs:
            name = getattr(spec, "name", None)
            if not isinstance(name, str):
                notes.append(f"protocol spec without a name: {spec!r}")
                continue
            fields = getattr(spec, "fields", ())
            try:
                protocols[name] = list(fields)
            except TypeError:
                notes.append(f"protocol {name}: fields is not a sequence")
                protocols[name] = []
        return cls(protocols, problems=notes)

    @classmethod
    def from_dissectors(cls) -> FieldRegistry:
        """Engine fields plus every protocol in :func:`dissectors.registry`.

        Robust to protocol packages that are missing or broken (they are written in
        parallel, and a plugin may fail to import): what loads is used and what did not is
        recorded in ``problems`` for ``cvipsniff fields`` to mention.
        """
        specs, problems = load_protocol_specs()
        return cls.from_specs(specs, problems=problems)

    # ---- queries --------------------------------------------------------------------

    def field(self, key: str) -> FieldInfo | None:
        """The ``FieldInfo`` describing ``key`` (exact, under a wildcard, or under an open
        protocol), or None if the name is not a field."""
        info = self._exact.get(key)
        if info is not None:
            return info
        for prefix, wildcard in self._wildcards:
            if key.startswith(prefix) and len(key) > len(prefix):
                return wildcard
        for name in self._open:
            if key.startswith(name + ".") and len(key) > len(name) + 1:
                return FieldInfo(key, key, "any", f"a {name} field (not catalogued)")
        return None

    def is_prefix(self, name: str) -> bool:
        """Whether some field lives under ``name`` (``cvip``, ``tcp``, ``cvip.param``)."""
        return name in self._prefixes

    def is_known(self, name: str) -> bool:
        """Whether a bare ``name`` is a valid existence test."""
        return self.is_prefix(name) or self.field(name) is not None

    def is_comparable(self, key: str) -> bool:
        """Whether ``key`` is a field with values (not a protocol or a mere prefix)."""
        info = self.field(key)
        return info is not None and info.type != PROTOCOL_TYPE

    def suggest(self, name: str) -> str | None:
        """The registered name closest to a misspelled one, or None."""
        lowered = name.lower()
        for candidate in self._candidates:
            if candidate.lower() == lowered:
                return candidate
        candidates = list(self._candidates)
        if "." in name:  # a misspelled prefix before a per-instance name (cvip.parm.Speed)
            tail = name.rsplit(".", 1)[-1]
            candidates.extend(prefix + tail for prefix, _ in self._wildcards)
        matches = get_close_matches(name, candidates, n=1, cutoff=0.6)
        return matches[0] if matches else None

    def groups(self) -> Iterator[tuple[str, Sequence[FieldInfo]]]:
        """(group, fields) with the engine group first, then protocols by name; within a
        group, protocol names first, then fields in the order they were declared."""
        names = sorted(self._groups, key=lambda g: (g != ENGINE_GROUP, g))
        for name in names:
            fields = self._groups[name]
            yield name, tuple(sorted(fields, key=lambda info: info.type != PROTOCOL_TYPE))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.is_known(name)

    def __iter__(self) -> Iterator[FieldInfo]:
        for _, fields in self.groups():
            yield from fields

    def _suggestion_candidates(self) -> tuple[str, ...]:
        names = set(self._exact) | self._prefixes
        return tuple(sorted(names))


def load_protocol_specs() -> tuple[list[ProtocolSpec], list[str]]:
    """The ``ProtocolSpec`` of every importable protocol package, and what failed.

    Tries :func:`dissectors.registry` first; if that fails (one package missing takes the
    whole function down), falls back to importing each subpackage of :mod:`dissectors` on
    its own so one broken protocol does not hide the others.
    """
    import dissectors

    try:
        return list(dissectors.registry().values()), []
    except Exception as exc:  # any failure of a package being written must not stop us
        problems = [f"dissectors.registry() failed: {type(exc).__name__}: {exc}"]
    specs: list[ProtocolSpec] = []
    for module_info in pkgutil.iter_modules(dissectors.__path__):
        if not module_info.ispkg:
            continue
        name = f"dissectors.{module_info.name}"
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        spec = getattr(module, "PROTOCOL", None)
        if spec is None:
            problems.append(f"{name}: no PROTOCOL")
            continue
        specs.append(spec)
    return specs, problems


@cache
def default_registry() -> FieldRegistry:
    """The registry ``compile_filter`` uses when given none (built once per process)."""
    return FieldRegistry.from_dissectors()


def format_fields_listing(registry: FieldRegistry) -> str:
    """What ``cvipsniff fields`` prints, in the spirit of ``tshark -G fields``.

    One line per field: key, type, label and description separated by tabs. Fields are
    grouped by protocol, the engine's own fields first; each group starts with a comment
    line ``# <group>`` so a script can split on it or skip lines starting with ``#``.
    Load problems of protocol packages, if any, come last as ``# problem: ...`` lines.
    """
    lines: list[str] = []
    for group, fields in registry.groups():
        lines.append(f"# {group}")
        for info in fields:
            lines.append("\t".join(_clean(x) for x in (info.key, info.type, info.label,
                                                        info.description)))
    for problem in registry.problems:
        lines.append(f"# problem: {_clean(problem)}")
    return "\n".join(lines) + "\n"


def _clean(text: object) -> str:
    """One cell of the listing: no tabs or line breaks inside."""
    return " ".join(str(text).split())
