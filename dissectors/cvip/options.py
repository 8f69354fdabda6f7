"""Settings for the contested readings of the CVIPv2 document.

``dissect(data, transport, options=...)`` takes a plain mapping (as it comes from
``[cvip]`` in cvipsniff.toml); :func:`parse_options` turns it into :class:`Options`.
An unknown key or a value of the wrong kind is an ``OptionError``: the engine checks the
user's mapping once before reading a capture (:func:`check_options`), so a typo in a config
file is a usage error rather than a default the user thinks they changed. DECISIONS.md
explains each default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dissectors.options import OptionsReader

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Options:
    # Which acknowledge code table names an ack code (NOTES 4): "auto" picks by the field
    # that carries it (ErrorCode → §3.1 table, AckReturnCode → cviEvent.ack table);
    # "response" / "event" force one table; "either" accepts a code from both.
    ack_table: str = "auto"
    # Method, service and field names only as the document spells them (NOTES 10).
    strict_spelling: bool = False
    # Service instances only as the service table enumerates them (cviVideo.01..08).
    strict_instances: bool = False
    # Ping response message type (NOTES 2): "spec" accepts only 0x01 as printed;
    # "either" also 0x02, the reading that calls the printed 0x01 a copy error.
    ping_response_type: str = "either"
    # GUID strings (NOTES 13): "spec" 8-4-4-13 as printed, "rfc4122" 8-4-4-4-12, "either".
    guid_format: str = "either"
    # Packet Size counts the 9-byte header (the document says so; NOTES 5).
    size_includes_header: bool = True
    # Caps against hostile bodies (DESIGN.md: bounded memory).
    xml_size_cap: int = 8 * MIB
    xml_depth_cap: int = 64
    # CVIP bodies are small (list responses are paged: IsLastPage); 50 000 elements is
    # ~12 000 parameters, and bounds the work a hostile body can cause.
    xml_element_cap: int = 50_000
    # Build the Field tree (and find the bytes of every value). Batch reports pass False
    # (lean mode): the record's kind, txn, method, info, attrs and problems are exactly the
    # same, ``fields`` stays empty and problem offsets may be -1. Not a reading of the
    # document: the engine sets it (PipelineConfig.tree).
    tree: bool = True
    # Build the record's attributes (``Record.attrs``: the header's fields, the parameters
    # as plain values, the method's section...). Batch reports pass False: no analysis
    # reads a CVIP message's attributes (only people do: ``read``, the TUI's details,
    # display filters), and making them was a tenth of a lean dissection. Kind, txn,
    # method, info, fields and problems are the same either way; ping records keep
    # theirs (their info is made from them). Not a reading of the document: the engine
    # sets it (PipelineConfig.attrs).
    attrs: bool = True
    # Show passwords (cviUser.login PassWord, updateuser UserPassword) unmasked in fields,
    # attributes and messages (dissectors/secrets.py); off: masked to their length.
    reveal_secrets: bool = False


DEFAULT_OPTIONS = Options()

_CHOICES: dict[str, tuple[str, ...]] = {
    "ack_table": ("auto", "response", "event", "either"),
    "ping_response_type": ("spec", "either"),
    "guid_format": ("spec", "rfc4122", "either"),
}


_READER = OptionsReader(DEFAULT_OPTIONS, int_minimum=1, choices=_CHOICES)


def parse_options(options: Mapping[str, object] | Options | None) -> Options:
    """Options from a mapping (:class:`dissectors.options.OptionsReader`; caps must be
    positive); a bad or unknown entry raises ``OptionError``."""
    if options is None:
        return DEFAULT_OPTIONS
    if isinstance(options, Options):
        return options
    return _READER(options)


def check_options(options: Mapping[str, object]) -> None:
    """Raise :class:`~dissectors.options.OptionError` for a bad ``[cvip]`` entry."""
    _READER.check(options)
