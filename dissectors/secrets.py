"""Secrets (passwords, connection tokens) kept out of everything a record shows.

A capture report is often pasted into a ticket. Both protocols carry credentials: the
ImageServer ``<password>`` and the ``connectiontoken`` of a ``<connectparam>``, CVIP's
``cviUser.login`` ``PassWord`` and ``cviUser.updateuser`` ``UserPassword``. Masking only
the value where the well-formed document puts it is not enough: a hostile or broken peer
sends ``<password value="…"><x>…</x></password>``, or a mismatched end tag that leaves the
``<connectparam>`` inside an unclosed ``<password>``. So a record is scrubbed as a whole,
after it is built, by element *and* by value:

* a field named like a secret (``password``, ``PassWord (#3)``, ``connectiontoken``) and
  everything inside it (attributes, children) is masked;
* a ``key=value`` pair with a secret key is masked in any text (a ``connectiontoken``
  wherever it appears: element text, attribute, message, summary);
* the values found secret (the password a login carries) are masked wherever else they
  appear: other fields, the record's attributes, problem messages, the summary line.

``reveal_secrets`` (a dissector setting) skips all of it. What is shown instead of a secret
is its length only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from dissectors.accel import accelerated
from dissectors.base import Field, Record

SECRET_WORDS = ("token", "password", "passwd", "pwd", "secret")
# key=value with a secret key, in text (a connectparam, a query string, a header).
_PAIR = re.compile(r"(?i)\b([\w.-]*(?:token|password|passwd|pwd|secret)[\w.-]*)(\s*=\s*)"
                   r"(?!<masked)([^&\s<>\"';,]+)")
_MASKED = re.compile(r"<masked, \d+ chars>")
_MIN_SUBSTRING = 3  # shorter secrets are masked where they are a whole value only
# Bytes without any of these (in any ASCII letter case) cannot hold a secret-named
# element, key or member.
_SECRET_FRAGMENTS = (b"token", b"passw", b"pwd", b"secret")


def _may_hold_secrets(data: bytes) -> bool:
    """A cheap pre-check on a message's bytes (most messages hold no credential).

    The verdict of a case-insensitive search for the fragments; done as ASCII lowering
    (C, one pass) and four substring searches, about 6x faster than the equivalent
    ``re.IGNORECASE`` search, which tries every position in Python's regex engine
    (``tests/test_secrets_precheck.py`` holds them equal). The compiled twin
    (``accel/src/secrets.rs``) does it in one pass without the copy."""
    lowered = data.lower()
    token, passw, pwd, secret = _SECRET_FRAGMENTS
    return token in lowered or passw in lowered or pwd in lowered or secret in lowered


may_hold_secrets: Callable[[bytes], bool] = accelerated("may_hold_secrets", _may_hold_secrets)


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether an element, member, attribute or key name names a credential (any of
    :data:`SECRET_WORDS` in it, in any letter case). Cached: the same few names come
    with every message."""
    lowered = name.lower()
    return ("token" in lowered or "password" in lowered or "passwd" in lowered
            or "pwd" in lowered or "secret" in lowered)


def mask(text: str) -> str:
    """What is shown instead of a secret: its length only."""
    return f"<masked, {len(text)} chars>"


def mask_pairs(text: str) -> str:
    """``text`` with the value of every secret ``key=value`` masked."""
    if "=" not in text:
        return text
    return _PAIR.sub(lambda m: m.group(1) + m.group(2) + mask(m.group(3)), text)


class Scrubber:
    """Masks the secrets of one record (see the module docstring)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: set[str] = {s for s in secrets if s and not _MASKED.fullmatch(s)}

    def record(self, rec: Record) -> Record:
        """Mask ``rec``'s secrets in place (fields, summary, problems, attributes)."""
        self._collect(rec.fields, inside=False)
        self._collect_attrs(rec.attrs)
        self._fields(rec.fields, inside=False)
        rec.info = self.text(rec.info)
        for p in rec.problems:
            p.message = self.text(p.message)
        rec.attrs = self.value(rec.attrs)
        return rec

    def text(self, text: str) -> str:
        text = mask_pairs(text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= _MIN_SUBSTRING and secret in text:
                text = text.replace(secret, mask(secret))
        return text

    def value(self, obj: Any, key: str = "") -> Any:
        """Record attributes: secret keys masked, secret values masked, recursively."""
        if isinstance(obj, str):
            if obj in self.secrets or (key and is_secret_name(key)):
                return mask(obj)
            return self.text(obj)
        if isinstance(obj, dict):
            return {k: self.value(v, str(k)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.value(v) for v in obj)
        if key and is_secret_name(key) and obj is not None and not isinstance(obj, bool):
            return mask(str(obj))
        return obj

    def _collect_attrs(self, obj: Any, key: str = "") -> None:
        """Values the record's attributes name as secret (a login's ``PassWord`` bound by
        position: lean mode has no fields to find it in)."""
        if isinstance(obj, dict):
            for k, v in obj.items():
                self._collect_attrs(v, str(k))
        elif isinstance(obj, list | tuple):
            for v in obj:
                self._collect_attrs(v, key)
        elif isinstance(obj, str) and obj and key and is_secret_name(key):
            self.secrets.add(obj)

    # ---- fields ---------------------------------------------------------------------------

    def _collect(self, fields: list[Field], inside: bool) -> None:
        """The values of secret fields, to be masked wherever else they appear."""
        for f in fields:
            secret = inside or is_secret_name(f.label)
            if (secret and isinstance(f.value, str) and f.value
                    and not _MASKED.search(f.value)):
                self.secrets.add(f.value)
            self._collect(f.children, secret)

    def _fields(self, fields: list[Field], inside: bool) -> None:
        for f in fields:
            secret = inside or is_secret_name(f.label) or (
                isinstance(f.value, str) and f.value in self.secrets)
            if secret:
                self._mask_field(f)
            else:
                if isinstance(f.value, str):
                    f.value = self.text(f.value)
                if f.display is not None:
                    f.display = self.text(f.display)
            self._fields(f.children, secret)

    @staticmethod
    def _mask_field(f: Field) -> None:
        value = f.value
        if isinstance(value, str) and _MASKED.search(value):
            shown = value  # masked already (by the dissector)
        elif value is None or isinstance(value, bool):
            return  # a container or a presence flag: nothing secret in itself
        else:
            shown = mask(value if isinstance(value, str) else str(value))
        f.value = shown
        if f.display is not None and not _MASKED.search(f.display):
            f.display = shown
