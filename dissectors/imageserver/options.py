"""Strictness settings and caps of the ImageServer dissector (``dissect(..., options=)``).

Where reasonable readers of the document differ, the choice is a setting here, with the
default documented in ``DECISIONS.md``. Options arrive from the engine as a plain mapping
(``PipelineConfig.dissector_options["imageserver"]``). The engine checks the user's
mapping once before reading a capture (:func:`check_options`: an unknown key or a value of
the wrong type is a usage error); ``dissect`` itself never raises, so a bad mapping passed
to it directly becomes a ``dissector_error`` problem naming the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dissectors.base import Severity
from dissectors.options import OptionsReader

from .rules import FIELD_SHAPES

PROFILES = ("default", "strict")

# 1990-01-01T00:00:00Z and 2100-01-01T00:00:00Z in milliseconds.
_TIME_MIN_MS = 631_152_000_000
_TIME_MAX_MS = 4_102_444_800_000


@dataclass(frozen=True, slots=True)
class DissectOptions:
    """
    * ``reveal_secrets``: show passwords and connection tokens unmasked (in ``value`` and
      ``display`` alike). Off by default so a shared report never leaks credentials.
    * ``strict_yesno``: accept only the exact lowercase ``yes``/``no``. When off, other
      letter cases are accepted, and in *attributes* also ``true``/``false`` (the
      document's own ``motiononly="true"`` example).
    * ``time_min_ms``/``time_max_ms``: millisecond timestamps outside this window are
      reported as implausible (a warning: the usual cause is seconds sent for ms).
    * ``report_recommended``: report an absent "(Recommended)" element (info).
    * ``strict_image_headers``: the document lists Restriction, Prev and Next in the one
      header layout it gives for live and browse alike, without saying they may be left
      out; their absence is a warning by default and an error when this is on.
    * ``profile``: ``"default"`` grades the shapes real peers send that the document does
      not foresee (connect without ``<cameraid>`` or without ``<connectparam>``,
      ``errorreason`` "Success" with ``connected=yes``, an empty-database answer, a
      response without requestid) by what the document requires and what the field does
      (warning or info); ``"strict"`` makes each of them an error (DECISIONS.md item 28).
      In a config file: ``[imageserver] profile = "strict"``.
    * caps bounding the work done on one message: XML size, nesting depth and element
      count; header lines; multipart parts.
    * ``tree``: build the Field tree. Batch reports pass False (lean mode, set by the
      engine from ``PipelineConfig.tree``, not a reading of the document): kind, txn,
      method, info, attrs and problems are exactly those of full mode, ``fields`` stays
      empty and no display text is formatted. A plain, conformant XML message is then
      read from lxml's tree without offsets (:mod:`.xmlplain`); anything reported, and
      every other document, goes through the offset-keeping scanner, so a problem's
      offsets are the same in both modes.
    """

    reveal_secrets: bool = False
    strict_yesno: bool = False
    time_min_ms: int = _TIME_MIN_MS
    time_max_ms: int = _TIME_MAX_MS
    report_recommended: bool = False
    strict_image_headers: bool = False
    profile: str = "default"
    max_xml_bytes: int = 1 << 20
    max_xml_depth: int = 32
    max_xml_elements: int = 10_000
    max_header_lines: int = 128
    max_parts: int = 4096
    tree: bool = True

    @classmethod
    def from_any(cls, options: DissectOptions | Mapping[str, Any] | None) -> DissectOptions:
        """Options from what the caller passed (a mapping is read by
        :class:`dissectors.options.OptionsReader`, which remembers the last one and raises
        :class:`~dissectors.options.OptionError` on a bad entry)."""
        if isinstance(options, DissectOptions):
            return options
        if not isinstance(options, Mapping):
            return DEFAULT_OPTIONS
        return _READER(options)

    @property
    def strict(self) -> bool:
        return self.profile == "strict"

    def graded(self, rule: str) -> Severity | None:
        """The severity a rule is reported with: an error under the strict profile for
        the field shapes (``FIELD_SHAPES`` of the rules module), else the rule's default (None)."""
        return "error" if self.strict and rule in FIELD_SHAPES else None


DEFAULT_OPTIONS = DissectOptions()
_READER = OptionsReader(DEFAULT_OPTIONS, choices={"profile": PROFILES})  # numbers may be 0


def check_options(options: Mapping[str, Any]) -> None:
    """Raise :class:`~dissectors.options.OptionError` for a bad ``[imageserver]`` entry."""
    _READER.check(options)
