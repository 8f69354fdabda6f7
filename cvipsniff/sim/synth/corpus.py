"""The bundled capture corpus (``captures/``), regenerated deterministically.

``build_corpus(out_dir)`` writes, from the reference peers' scenarios:

* ``demo.pcapng`` — both protocols on one timeline (discovery pings, CVIP sessions,
  ImageServer browse and live, a handful of deliberate violations);
* ``scenarios/NAME.pcapng`` — every clean scenario on its own, no impairments;
* ``impairments/FAMILY.*`` — one capture per impairment family, laid out on a mix of a
  CVIP session, an ImageServer session and discovery pings;
* ``violations/NAME.pcapng`` — every violation scenario;
* ``field/NAME.pcapng`` — shapes real peers send that the specs do not foresee (from a
  producer's optional ``build_field_scenarios(seed)``);
* a ``.truth.json`` beside each capture and ``manifest.json`` listing them all.

Recorded captures (``loopback-real.pcapng``, written by ``scripts/record_loopback.py``)
are not reproducible; their manifest entries are carried over from the existing
manifest unchanged except for the checksum, and ``check`` compares only what it
generates.

Everything here is deterministic for a seed: the same code writes byte-identical files.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cvipsniff.sim.synth.output import truth_path_for, write_capture
from cvipsniff.sim.transcript import Conversation, Scenario, WireMessage

DEFAULT_SEED = 1  # the scenario producers' own default
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "cvipsniff-captures/1"
SIZE_BUDGET = 10 * 1024 * 1024

# Where the scenario producers live: module → (clean builder, violation builder).
PRODUCERS = (
    "cvipsniff.sim.cvip.scenarios",
    "cvipsniff.sim.imageserver.scenarios",
    "cvipsniff.sim.framing",  # framing decided on evidence (issue 12): field shapes only
)


class CorpusError(RuntimeError):
    """The corpus cannot be built (a scenario producer is missing or misbehaves)."""


@dataclass(slots=True)
class CaptureSpec:
    """One capture of the corpus: what to lay out and how."""

    path: str  # relative to the corpus directory
    group: str  # "demo", "scenario", "impairment", "violation", "field"
    scenario: Scenario
    description: str
    impairments: str = ""
    per_conversation: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class Sources:
    """The producers' scenarios for one seed."""

    clean: list[Scenario]
    violations: list[Scenario]
    field_shapes: list[Scenario] = field(default_factory=list)

    def find(self, name: str) -> Scenario | None:
        for scenario in (*self.clean, *self.violations, *self.field_shapes):
            if scenario.name == name:
                return scenario
        return None


def load_sources(seed: int = DEFAULT_SEED) -> Sources:
    """Ask each protocol's peers for its scenarios (clean, then violations)."""
    clean: list[Scenario] = []
    violations: list[Scenario] = []
    shapes: list[Scenario] = []
    for module_name in PRODUCERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise CorpusError(f"scenario producer {module_name} is not available: {exc}") from None
        clean.extend(_scenarios(module, "build_scenarios", seed))
        violations.extend(_scenarios(module, "build_violation_scenarios", seed))
        if hasattr(module, "build_field_scenarios"):  # optional
            shapes.extend(_scenarios(module, "build_field_scenarios", seed))
    names = Counter(s.name for s in (*clean, *violations, *shapes))
    duplicated = sorted(name for name, n in names.items() if n > 1)
    if duplicated:
        raise CorpusError(f"scenario names used twice: {', '.join(duplicated)}")
    return Sources(clean, violations, shapes)


def _scenarios(module: Any, attribute: str, seed: int) -> list[Scenario]:
    builder: Callable[[int], Iterable[Scenario]] | None = getattr(module, attribute, None)
    if builder is None:
        raise CorpusError(f"{module.__name__} has no {attribute}(seed)")
    scenarios = list(builder(seed))
    for s in scenarios:
        if not isinstance(s, Scenario):
            raise CorpusError(f"{module.__name__}.{attribute} returned {type(s).__name__}")
    return scenarios


# ---- composing scenarios ---------------------------------------------------------------


def merge_scenarios(name: str, description: str, parts: Sequence[tuple[Scenario, float]],
                    ) -> Scenario:
    """Several scenarios on one timeline, each shifted by its offset (ms).

    Scenarios are written independently, so two may use the same client address and port
    towards the same server; the client port of a later conversation is moved to the next
    free port so every TCP connection and UDP exchange keeps its own flow. Message bytes
    are untouched.
    """
    used: set[tuple[str, tuple[str, int], tuple[str, int]]] = set()
    conversations: list[Conversation] = []
    notes: dict[str, Any] = {"parts": []}
    for scenario, offset in parts:
        first = len(conversations)
        for conv in scenario.conversations:
            client = conv.client
            while (conv.transport, client, conv.server) in used:
                client = (client[0], 1024 + (client[1] - 1024 + 1) % (65536 - 1024))
            used.add((conv.transport, client, conv.server))
            messages = [_shifted(m, offset, conv.client, client) for m in conv.messages]
            conversations.append(Conversation(conv.transport, client, conv.server, messages))
        notes["parts"].append({
            "scenario": scenario.name,
            "description": scenario.description,
            "offset_ms": offset,
            "conversations": list(range(first, len(conversations))),
            "notes": scenario.notes,
        })
    return Scenario(name, description, conversations, notes)


def _shifted(message: WireMessage, offset: float, old_client: tuple[str, int],
             new_client: tuple[str, int]) -> WireMessage:
    src = new_client if message.src is not None and tuple(message.src) == tuple(old_client) \
        else message.src
    dst = new_client if message.dst is not None and tuple(message.dst) == tuple(old_client) \
        else message.dst
    return replace(message, t_ms=message.t_ms + offset, src=src, dst=dst)


def _protocols(scenario: Scenario) -> list[str]:
    return sorted({m.truth.protocol for c in scenario.conversations for m in c.messages})


def _message_count(scenario: Scenario) -> int:
    return sum(len(c.messages) for c in scenario.conversations)


def _bytes(scenario: Scenario) -> int:
    return sum(len(m.data) for c in scenario.conversations for m in c.messages)


def _by_protocol(scenarios: Iterable[Scenario], protocol: str) -> list[Scenario]:
    return [s for s in scenarios if protocol in _protocols(s)]


def _pick(scenarios: Sequence[Scenario], key: Callable[[Scenario], Any]) -> Scenario | None:
    return max(scenarios, key=key) if scenarios else None


# ---- the corpus plan -------------------------------------------------------------------------

# Impairment families: file name → (impairment list, what the capture shows).
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("split-header.pcapng", "split-header",
     "every message's first segment ends inside its first 9 bytes"),
    ("coalesce.pcapng", "coalesce=4",
     "runs of same-direction messages share segments, boundaries mid-message"),
    ("reorder.pcapng", "reorder=2", "data segments swapped with the next of their direction"),
    ("duplicate.pcapng", "duplicate=2", "data segments and datagrams captured twice"),
    ("retransmit.pcapng", "retransmit=2",
     "repacketized retransmissions overlapping old and new data, bytes consistent"),
    ("conflict.pcapng", "conflict=1",
     "an overlapping retransmission whose overlapping bytes differ (first copy is truth)"),
    ("loss.pcapng", "loss=1", "one data segment per connection and one datagram missing"),
    ("late.pcapng", "late=1",
     "one data segment per connection captured after the peer's ACK for it (no gap)"),
    ("wrap.pcapng", "wrap", "sequence numbers cross 2**32 in every connection"),
    ("midstream.pcapng", "midstream=3",
     "the capture starts after each handshake and three more packets"),
    ("ipv6.pcapng", "ipv6", "everything over IPv6"),
    ("vlan.pcapng", "vlan=100", "802.1Q tagged frames"),
    ("qinq.pcapng", "qinq=300:100", "stacked 802.1ad/802.1Q tags"),
    ("sll.pcap", "sll", "Linux cooked capture v1 link layer (classic pcap)"),
    ("sll2.pcap", "sll2", "Linux cooked capture v2 link layer (classic pcap)"),
    ("snaplen.pcap", "snaplen=300",
     "every frame cut to 300 bytes: small messages whole, larger ones cut (classic pcap)"),
    ("ipfrag.pcapng", "ipfrag=576", "IP datagrams fragmented to a 576-byte MTU"),
    ("combined.pcap.gz", "split-header,coalesce=3,reorder,duplicate,retransmit,loss,ipv6,"
     "vlan=42", "several impairments at once, gzip-compressed classic pcap"),
)


def transport_mix(sources: Sources) -> Scenario:
    """The scenario the impairment families are laid out on: the discovery scenario
    (pings over UDP and TCP), the CVIP session with the most messages within 40 kB, and
    an ImageServer session with multi-segment images around 40 kB, on one timeline.
    Sizes are bounded because seventeen captures repeat this mix."""
    cvip = [s for s in _by_protocol(sources.clean, "cvip") if _bytes(s) <= 40_000
            and not any(c.transport == "udp" for c in s.conversations)]
    imageserver = _by_protocol(sources.clean, "imageserver")
    pings = _by_protocol(sources.clean, "cvip-ping")
    parts: list[tuple[Scenario, float]] = []
    for chosen in (_pick(pings, _ping_score), _pick(cvip, _message_count),
                   _pick(imageserver, _image_score)):
        if chosen is not None and all(chosen is not p for p, _ in parts):
            parts.append((chosen, 5.0 * len(parts)))
    if not parts:
        raise CorpusError("the scenario producers returned no scenarios")
    names = ", ".join(p.name for p, _ in parts)
    return merge_scenarios("transport-mix", f"transport impairment base: {names}", parts)


def _ping_score(scenario: Scenario) -> tuple[int, int]:
    """The scenario with the most ping messages, the smallest one on a tie."""
    pings = sum(1 for c in scenario.conversations for m in c.messages
                if m.truth.protocol == "cvip-ping")
    return pings, -_bytes(scenario)


def _image_score(scenario: Scenario) -> tuple[bool, int]:
    """Prefer sessions whose images span several segments, but small enough that
    seventeen copies keep the corpus small: the closest to 40 kB of payload."""
    size = _bytes(scenario)
    return (size >= 8_000, -abs(size - 40_000))


def demo_scenario(sources: Sources, violations: int = 5) -> Scenario:
    """Both protocols on one timeline: every clean scenario, staggered, plus the first
    few violation scenarios of each protocol."""
    chosen = list(sources.clean)
    for protocol in ("cvip", "imageserver"):
        chosen.extend(_by_protocol(sources.violations, protocol)[: (violations + 1) // 2])
    parts = [(s, 40.0 * i) for i, s in enumerate(chosen)]
    return merge_scenarios(
        "demo",
        "CVIPv2 and ImageServer on one network: discovery pings over UDP, CVIP sessions, "
        "ImageServer browse and live, and a handful of deliberate violations",
        parts,
    )


def plan(sources: Sources) -> list[CaptureSpec]:
    """Every reproducible capture of the corpus, in manifest order."""
    specs = [CaptureSpec("demo.pcapng", "demo", demo_scenario(sources),
                         "demo: both protocols with deliberate violations "
                         "(the default capture of ./run.sh)")]
    for s in sources.clean:
        specs.append(CaptureSpec(f"scenarios/{s.name}.pcapng", "scenario", s, s.description))
    mix = transport_mix(sources)
    for filename, impairments, what in FAMILIES:
        specs.append(CaptureSpec(f"impairments/{filename}", "impairment", mix,
                                 f"{what} ({mix.description})", impairments))
    for s in sources.violations:
        specs.append(CaptureSpec(f"violations/{s.name}.pcapng", "violation", s, s.description))
    for s in sources.field_shapes:
        specs.append(CaptureSpec(f"field/{s.name}.pcapng", "field", s, s.description))
    return specs


# ---- building ------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_summary(truth: dict[str, Any]) -> dict[str, Any]:
    """What an analyser should find in a capture, counted from its truth file."""
    txns = truth["transactions"]
    return {
        "messages": len(truth["messages"]),
        "lost_messages": sum(1 for m in truth["messages"] if m.get("lost")),
        "transactions": len(txns),
        "unanswered": sum(1 for t in txns if not t["answered"]),
        "violations": dict(sorted(Counter(v["rule"] for v in truth["violations"]).items())),
        "transport": dict(sorted(Counter(f["kind"]
                                         for f in truth["transport_findings"]).items())),
    }


def _entry(spec: CaptureSpec, out_dir: Path, truth: dict[str, Any]) -> dict[str, Any]:
    capture = out_dir / spec.path
    truth_file = truth_path_for(capture)
    return {
        "file": spec.path,
        "truth": truth_file.relative_to(out_dir).as_posix(),
        "group": spec.group,
        "description": spec.description,
        "scenario": spec.scenario.name,
        "protocols": _protocols(spec.scenario),
        "impairments": [item for item in spec.impairments.split(",") if item],
        "reproducible": True,
        "frames": truth["frame_count"],
        "expected": expected_summary(truth),
        "size": capture.stat().st_size,
        "sha256": sha256(capture),
        "truth_sha256": sha256(truth_file),
    }


def build_corpus(out_dir: str | Path, seed: int = DEFAULT_SEED,
                 preserved_from: str | Path | None = None,
                 sources: Sources | None = None) -> list[dict[str, Any]]:
    """Write every reproducible capture and the manifest into ``out_dir``.

    Recorded (non-reproducible) entries are carried over from the manifest in
    ``preserved_from`` (default: ``out_dir``'s own) when their file is there. Returns the
    manifest's entries.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = sources or load_sources(seed)
    entries = []
    for spec in plan(sources):
        path = out / spec.path
        path.parent.mkdir(parents=True, exist_ok=True)
        truth = write_capture(spec.scenario, path, impairments=spec.impairments,
                              per_conversation=spec.per_conversation, seed=seed)
        entries.append(_entry(spec, out, truth))
    entries.extend(_preserved(Path(preserved_from) if preserved_from else out, out))
    write_manifest(out, seed, entries)
    return entries


def write_manifest(out_dir: Path, seed: int | None, entries: list[dict[str, Any]]) -> None:
    """``manifest.json``: generated captures in plan order, recorded ones after them."""
    ordered = ([e for e in entries if e.get("reproducible", True)]
               + [e for e in entries if not e.get("reproducible", True)])
    manifest = {"format": MANIFEST_FORMAT, "seed": seed, "captures": ordered}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")


def _preserved(source_dir: Path, out_dir: Path) -> list[dict[str, Any]]:
    """Entries of recorded captures, kept across regenerations (files copied over when
    building into another directory, so the manifest there is complete)."""
    manifest = source_dir / MANIFEST
    if not manifest.is_file():
        return []
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    kept = []
    for entry in old.get("captures", []):
        if entry.get("reproducible", True):
            continue
        files = [entry["file"], *([entry["truth"]] if entry.get("truth") else [])]
        if not all((source_dir / f).is_file() for f in files):
            continue
        if source_dir.resolve() != out_dir.resolve():
            for f in files:
                (out_dir / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source_dir / f, out_dir / f)
        entry = dict(entry)
        entry["size"] = (out_dir / entry["file"]).stat().st_size
        entry["sha256"] = sha256(out_dir / entry["file"])
        if entry.get("truth"):
            entry["truth_sha256"] = sha256(out_dir / entry["truth"])
        kept.append(entry)
    return kept


def check_corpus(corpus_dir: str | Path, seed: int = DEFAULT_SEED,
                 sources: Sources | None = None) -> list[str]:
    """Regenerate into a temporary directory and list every difference from
    ``corpus_dir`` (missing, extra or differing files); empty when identical."""
    corpus = Path(corpus_dir)
    with tempfile.TemporaryDirectory(prefix="cvipsniff-captures-") as tmp:
        fresh = Path(tmp)
        entries = build_corpus(fresh, seed, preserved_from=corpus, sources=sources)
        problems = []
        expected = {MANIFEST} | {e["file"] for e in entries} | {e["truth"] for e in entries
                                                                if e.get("truth")}
        for name in sorted(expected):
            mine, theirs = fresh / name, corpus / name
            if not theirs.is_file():
                problems.append(f"missing: {name}")
            elif theirs.read_bytes() != mine.read_bytes():
                problems.append(f"differs: {name}")
        for path in sorted(corpus.rglob("*")):
            name = path.relative_to(corpus).as_posix()
            if path.is_file() and _is_generated_kind(name) and name not in expected:
                problems.append(f"not generated (stale?): {name}")
        return problems


def _is_generated_kind(name: str) -> bool:
    return name.endswith((".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz", ".truth.json"))


def corpus_size(corpus_dir: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(corpus_dir).rglob("*") if p.is_file())
