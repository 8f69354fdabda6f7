"""Tokenizer of the display-filter language: text in, a list of :class:`Token` out.

Hand-written on purpose: the filter text comes from a person (or a script) and is never
handed to Python's own parser, so nothing in it can run code. Each token keeps its
position, so every later error can point at the column that caused it.

Lexical decisions that are easy to get wrong:

* Field names start with a letter or ``_``; later dot-separated parts may start with a
  digit (``cvip.param.0``) and any part may contain ``-`` (``cvip-ping``). There is no
  subtraction, so ``-`` is never an operator; a ``-`` before a digit starts a negative
  number.
* A word that starts with a digit is read whole (``10.0.0.1``, ``0x10``, ``1.5e3``,
  ``7``) and then classified, except that a dot not followed by a letter or digit ends
  it: ``7..9`` is ``7``, ``..``, ``9``.
* Any word containing ``:`` is an IPv6 address (field names never contain ``:``), which
  is how ``fe80::1`` is told from a field name.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from difflib import get_close_matches

from cvipsniff.filter.errors import FilterError

MAX_FILTER_CHARS = 65_536
"""Longest filter accepted: far beyond any hand-written one (a set of a few thousand
frame numbers fits), small enough that tokenizing it is instantaneous."""

# Token kinds.
NAME = "name"  # a field name or protocol prefix
NUMBER = "number"
STRING = "string"
ADDRESS = "address"  # an IPv4/IPv6 address or network
BOOL = "bool"
COMPARE = "compare"  # value is the canonical operator: == != === !== < <= > >= contains matches
AND = "and"
OR = "or"
NOT = "not"
IN = "in"
LPAREN = "("
RPAREN = ")"
LBRACE = "{"
RBRACE = "}"
COMMA = ","
RANGE = ".."
END = "end"


@dataclass(slots=True, frozen=True)
class Token:
    kind: str
    text: str  # the source text of the token
    value: object  # canonical operator, parsed literal or field name
    position: int  # 0-based offset in the filter text

    @property
    def end(self) -> int:
        return self.position + len(self.text)

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind == END:
            return "end of filter"
        if self.kind == NAME:
            return f"name '{self.text}'"
        if self.kind == NUMBER:
            return f"number {self.text}"
        if self.kind == STRING:
            return f"string {self.text}"
        if self.kind == ADDRESS:
            return f"address {self.text}"
        return f"'{self.text}'"


# Word operators, matched case-insensitively. Wireshark's any_/all_ spellings are accepted
# so that filters copied from Wireshark keep their meaning.
KEYWORDS: dict[str, tuple[str, object]] = {
    "and": (AND, "&&"),
    "or": (OR, "||"),
    "not": (NOT, "!"),
    "in": (IN, "in"),
    "eq": (COMPARE, "=="),
    "any_eq": (COMPARE, "=="),
    "ne": (COMPARE, "!="),
    "all_ne": (COMPARE, "!="),
    "all_eq": (COMPARE, "==="),
    "any_ne": (COMPARE, "!=="),
    "lt": (COMPARE, "<"),
    "le": (COMPARE, "<="),
    "gt": (COMPARE, ">"),
    "ge": (COMPARE, ">="),
    "contains": (COMPARE, "contains"),
    "matches": (COMPARE, "matches"),
    "true": (BOOL, True),
    "false": (BOOL, False),
}

# Symbol operators, longest first so that "===" wins over "==".
SYMBOLS: tuple[tuple[str, str, object], ...] = (
    ("===", COMPARE, "==="),
    ("!==", COMPARE, "!=="),
    ("==", COMPARE, "=="),
    ("!=", COMPARE, "!="),
    ("<=", COMPARE, "<="),
    (">=", COMPARE, ">="),
    ("&&", AND, "&&"),
    ("||", OR, "||"),
    ("..", RANGE, ".."),
    ("<", COMPARE, "<"),
    (">", COMPARE, ">"),
    ("!", NOT, "!"),
    ("~", COMPARE, "matches"),
    ("(", LPAREN, "("),
    (")", RPAREN, ")"),
    ("{", LBRACE, "{"),
    ("}", RBRACE, "}"),
    (",", COMMA, ","),
)

# Spellings from other languages, each with what to write instead.
MISTAKES: tuple[tuple[str, str], ...] = (
    ("=~", "matches"),
    ("<>", "!="),
    ("&", "&&"),
    ("|", "||"),
    ("=", "=="),
)

# Names and numbers are ASCII: a Unicode digit or letter is an unexpected character.
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
MAX_NUMBER_CHARS = 64
"""Longest number literal: far more digits than any field holds, and well below the
point where converting the digits gets slow (Python caps int() at 4300 digits)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)*")
_NUMERIC_WORD = re.compile(
    r"[0-9](?:[eE][+-](?=[0-9])|[0-9A-Za-z_]|\.(?=[0-9A-Za-z_]))*(?:/[0-9]+)?"
)
_IPV6_WORD = re.compile(
    r"[0-9A-Fa-f]*:[0-9A-Fa-f:]*(?:\.[0-9]+)*(?:%[A-Za-z0-9_.\-]+)?(?:/[0-9]+)?"
)
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:/[0-9]{1,2})?")
_DECIMAL = re.compile(r"[0-9]+")
_RADIX = re.compile(r"0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+")
_FLOAT = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

_SIMPLE_ESCAPES = {
    "\\": "\\",
    '"': '"',
    "'": "'",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def at(position: int) -> str:
    """The ``at column N`` phrase every message uses (columns count from 1)."""
    return f"at column {position + 1}"


def tokenize(text: str) -> list[Token]:
    """Split filter text into tokens, ending with an ``END`` token.

    Raises :class:`FilterError` for text that is not a token of the language.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(
            f"filter too long: {len(text)} characters, at most {MAX_FILTER_CHARS} allowed",
            MAX_FILTER_CHARS,
        )
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'" or (ch in "rR" and i + 1 < n and text[i + 1] in "\"'"):
            token = _string(text, i)
        elif ch == "-" and i + 1 < n and text[i + 1] in _DIGITS:
            token = _number_or_address(text, i + 1, negative=True)
        elif ch in _DIGITS or ch == ":" or (ch in "abcdefABCDEF" and _IPV6_WORD.match(text, i)):
            token = _number_or_address(text, i, negative=False)
        elif ch in _NAME_START:
            token = _name(text, i)
        else:
            token = _symbol(text, i)
        tokens.append(token)
        i = token.end
    tokens.append(Token(END, "", None, n))
    return tokens


def _symbol(text: str, i: int) -> Token:
    # Two-character mistakes first ("<>" is not "<" then ">"), then the operators, then
    # the one-character mistakes ("&" only when it is not "&&").
    for spelling, instead in MISTAKES:
        if len(spelling) == 2 and text.startswith(spelling, i):
            raise _mistake(spelling, instead, i)
    for spelling, kind, value in SYMBOLS:
        if text.startswith(spelling, i):
            return Token(kind, spelling, value, i)
    for spelling, instead in MISTAKES:
        if text.startswith(spelling, i):
            raise _mistake(spelling, instead, i)
    ch = text[i]
    if ch == ".":
        raise FilterError(
            f"unexpected '.' {at(i)}; a field name cannot start or end with '.'", i
        )
    shown = ch if ch.isprintable() else repr(ch)
    raise FilterError(f"unexpected character '{shown}' {at(i)}", i)


def _mistake(spelling: str, instead: str, i: int) -> FilterError:
    return FilterError(
        f"unexpected token '{spelling}' {at(i)}; did you mean '{instead}'?", i, len(spelling)
    )


def _name(text: str, i: int) -> Token:
    match = _NAME.match(text, i)
    assert match is not None  # the caller saw a letter or underscore
    word = match.group()
    end = match.end()
    if text.startswith(".", end) and not text.startswith("..", end):
        raise FilterError(
            f"incomplete field name '{text[i:end + 1]}' {at(i)}; a name cannot end with '.'",
            i,
            end + 1 - i,
        )
    keyword = KEYWORDS.get(word.lower())
    if keyword is not None:
        kind, value = keyword
        return Token(kind, word, value, i)
    return Token(NAME, word, word, i)


def _number_or_address(text: str, i: int, *, negative: bool) -> Token:
    """A word starting with a digit, a hex digit followed by ``:``, or ``:``."""
    start = i - 1 if negative else i
    v6 = _IPV6_WORD.match(text, i)
    if v6 is not None and not negative:
        word = v6.group()
        trailing = _NAME.match(text, v6.end())
        if trailing is not None:
            word = text[i:trailing.end()]
            raise FilterError(f"invalid IPv6 address '{word}' {at(i)}", i, len(word))
        return Token(ADDRESS, word, _parse_address(word, i), i)
    match = _NUMERIC_WORD.match(text, i)
    if match is None:  # a lone ':' or a hex letter not forming an address
        raise FilterError(f"unexpected character '{text[i]}' {at(i)}", i)
    word = match.group()
    source = text[start:match.end()]
    if len(word) > MAX_NUMBER_CHARS:
        raise FilterError(
            f"number too long {at(start)}: {len(word)} characters, at most {MAX_NUMBER_CHARS}",
            start,
            len(source),
        )
    if _IPV4.fullmatch(word):
        if negative:
            raise FilterError(f"invalid address '{source}' {at(start)}", start, len(source))
        return Token(ADDRESS, word, _parse_address(word, i), i)
    value: int | float
    if _DECIMAL.fullmatch(word):
        value = int(word, 10)
    elif _RADIX.fullmatch(word) and not word.endswith("_"):
        try:
            value = int(word, 0)
        except ValueError:
            raise FilterError(
                f"invalid number '{source}' {at(start)}", start, len(source)
            ) from None
    elif _FLOAT.fullmatch(word):
        value = float(word)
    else:
        hint = ""
        if word.count(".") in (1, 2, 4) and all(p.isdigit() for p in word.split(".")):
            hint = "; an IPv4 address has four numbers (a.b.c.d)"
        raise FilterError(f"invalid number '{source}' {at(start)}{hint}", start, len(source))
    return Token(NUMBER, source, -value if negative else value, start)


def _parse_address(
    word: str, i: int
) -> (
    ipaddress.IPv4Address
    | ipaddress.IPv6Address
    | ipaddress.IPv4Network
    | ipaddress.IPv6Network
):
    try:
        if "/" in word:
            return ipaddress.ip_network(word, strict=False)
        return ipaddress.ip_address(word)
    except ValueError:
        kind = "IPv6" if ":" in word else "IPv4"
        raise FilterError(f"invalid {kind} address '{word}' {at(i)}", i, len(word)) from None


def _string(text: str, i: int) -> Token:
    """A quoted string; ``r"..."`` is raw (backslashes kept, handy for regexes)."""
    raw = text[i] in "rR"
    quote_at = i + 1 if raw else i
    quote = text[quote_at]
    out: list[str] = []
    j = quote_at + 1
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == quote:
            return Token(STRING, text[i:j + 1], "".join(out), i)
        if ch != "\\":
            out.append(ch)
            j += 1
            continue
        if j + 1 >= n:
            break
        nxt = text[j + 1]
        if raw:
            out.append(ch + nxt)
            j += 2
            continue
        simple = _SIMPLE_ESCAPES.get(nxt)
        if simple is not None:
            out.append(simple)
            j += 2
            continue
        digits = _HEX_ESCAPES.get(nxt)
        if digits is not None:
            hex_text = text[j + 2:j + 2 + digits]
            if len(hex_text) == digits and all(c in "0123456789abcdefABCDEF" for c in hex_text):
                code = int(hex_text, 16)
                if code <= 0x10FFFF:
                    out.append(chr(code))
                    j += 2 + digits
                    continue
            raise FilterError(
                f"invalid escape '\\{nxt}{hex_text}' {at(j)}; '\\{nxt}' takes "
                f"{digits} hex digits",
                j,
                2 + len(hex_text),
            )
        raise FilterError(
            f"invalid escape '\\{nxt}' {at(j)}; write '\\\\{nxt}' for a backslash, "
            f'or use a raw string r"..."',
            j,
            2,
        )
    raise FilterError(f"unterminated string starting {at(i)}", i, n - i)


def suggest_keyword(word: str) -> str | None:
    """The operator keyword closest to a misspelled one (``contain`` → ``contains``)."""
    lowered = word.lower()
    matches = get_close_matches(lowered, list(KEYWORDS), n=1, cutoff=0.75)
    return matches[0] if matches else None
