"""Pratt (precedence-climbing) parser: tokens in, a checked syntax tree out.

Grammar, loosest binding first::

    filter     := expression? END
    expression := expression ("||" | "or") expression       (binding power 10)
                | expression ("&&" | "and") expression      (binding power 20)
                | ("!" | "not") expression                  (operand binds at 30)
                | "(" expression ")"
                | term
    term       := NAME                                      existence test
                | NAME compare-op value                     comparison
                | NAME ["not"] "in" "{" element ([","] element)* [","] "}"
    value      := NUMBER | STRING | BOOL | ADDRESS | NAME (another field)
    element    := literal [".." literal]

Comparisons are terms, so they bind tighter than ``!``, ``&&`` and ``||`` and cannot be
chained (``a == 1 == 2`` is an error, as in Wireshark). ``&&``/``||`` chains are built as
one n-ary node each, iteratively, so a filter of thousands of terms neither recurses
deeply here nor when evaluated. Nesting (parentheses and ``!``) is capped at
:data:`MAX_DEPTH` so hostile input gets a :class:`FilterError`, not a RecursionError.

Field names are checked against a :class:`FieldRegistry` while parsing, because only
here is the position known for the "unknown field ... did you mean" message.
"""

from __future__ import annotations

import ipaddress

from cvipsniff.filter.errors import FilterError
from cvipsniff.filter.registry import ORDERED_VALUES, FieldRegistry
from cvipsniff.filter.syntax import (
    ADDRESS,
    BOOL,
    NUMBER,
    STRING,
    And,
    Compare,
    Exists,
    FieldRef,
    Literal,
    MatchAll,
    Membership,
    Node,
    Not,
    Or,
    Range,
    quote,
)
from cvipsniff.filter.tokenizer import (
    AND,
    COMMA,
    COMPARE,
    END,
    IN,
    LBRACE,
    LPAREN,
    NAME,
    NOT,
    OR,
    RANGE,
    RBRACE,
    RPAREN,
    Token,
    at,
    suggest_keyword,
    tokenize,
)
from cvipsniff.filter.values import ORDERING, compile_pattern

MAX_DEPTH = 100
"""Deepest nesting of parentheses and negations."""

_BINDING = {OR: 10, AND: 20}
_NOT_BINDING = 30
_LITERALS = {NUMBER, STRING, BOOL, ADDRESS}
_NETWORKS = (ipaddress.IPv4Network, ipaddress.IPv6Network)


def parse(text: str, registry: FieldRegistry) -> Node:
    """The syntax tree of ``text`` (:class:`MatchAll` for an empty filter)."""
    return _Parser(tokenize(text), registry).parse()


class _Parser:
    def __init__(self, tokens: list[Token], registry: FieldRegistry) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.registry = registry

    # ---- token stream -----------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        if token.kind != END:
            self.index += 1
        return token

    def previous(self) -> Token | None:
        return self.tokens[self.index - 1] if self.index > 0 else None

    # ---- expressions ------------------------------------------------------------------

    def parse(self) -> Node:
        if self.peek().kind == END:
            return MatchAll()
        node = self.expression(0)
        token = self.peek()
        if token.kind != END:
            raise self.unexpected_after_term(token, node, in_group=False)
        return node

    def expression(self, min_binding: int) -> Node:
        left = self.prefix()
        while True:
            operator = self.peek()
            binding = _BINDING.get(operator.kind)
            if binding is None or binding <= min_binding:
                return left
            operands = [left]
            while self.peek().kind == operator.kind:
                self.advance()
                operands.append(self.expression(binding))
            left = _combine(operator.kind, operands)

    def prefix(self) -> Node:
        token = self.advance()
        if token.kind == NOT:
            self.enter(token)
            operand = self.expression(_NOT_BINDING)
            self.depth -= 1
            return Not(operand)
        if token.kind == LPAREN:
            self.enter(token)
            if self.peek().kind == RPAREN:
                raise FilterError(f"empty parentheses {at(token.position)}", token.position, 2)
            inner = self.expression(0)
            closing = self.peek()
            if closing.kind != RPAREN:
                if closing.kind == END:
                    raise FilterError(
                        f"unclosed '(' {at(token.position)}; expected ')' before the end "
                        "of the filter",
                        token.position,
                    )
                raise self.unexpected_after_term(closing, inner, in_group=True)
            self.advance()
            self.depth -= 1
            return inner
        if token.kind == NAME:
            return self.term(token)
        raise self.expected_term(token)

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(
                f"filter nested too deeply {at(token.position)}: more than {MAX_DEPTH} "
                "levels of parentheses and negations",
                token.position,
            )

    # ---- terms ------------------------------------------------------------------------

    def term(self, name: Token) -> Node:
        field = str(name.value)
        following = self.peek()
        if following.kind == COMPARE:
            self.check_comparable(name)
            self.advance()
            value = self.value_operand(following)
            self.check_operator(field, following, value)
            return Compare(field, str(following.value), value, name.position)
        negated = following.kind == NOT and self.peek(1).kind == IN
        if following.kind == IN or negated:
            self.check_comparable(name)
            self.advance()
            if negated:
                self.advance()
            elements = self.set_elements(self.previous() or following)
            return Membership(field, elements, negated, name.position)
        if not self.registry.is_known(field):
            raise self.unknown_field(name)
        return Exists(field, name.position)

    def value_operand(self, operator: Token) -> Literal | FieldRef:
        token = self.advance()
        if token.kind in _LITERALS:
            if self.peek().kind == RANGE:
                dots, high = self.peek(), self.peek(1)
                span = f"{token.text}..{high.text if high.kind in _LITERALS else ''}"
                raise FilterError(
                    f"a range is only allowed inside a set {at(dots.position)}: write "
                    f"'in {{{span}}}' instead of '{operator.text} {span}'",
                    dots.position,
                    2,
                )
            return Literal(token.kind, token.value, token.position)  # type: ignore[arg-type]
        if token.kind == NAME:
            word = str(token.value)
            if self.registry.is_comparable(word):
                return FieldRef(word, token.position)
            if "." in word:
                raise self.unknown_field(token)
            raise FilterError(
                f"unquoted string '{word}' {at(token.position)}; did you mean {quote(word)}?",
                token.position,
                len(token.text),
            )
        if token.kind == LBRACE:
            raise FilterError(
                f"a set needs 'in' {at(operator.position)}: write 'field in {{...}}'",
                operator.position,
                len(operator.text),
            )
        if token.kind == END:
            raise FilterError(
                f"expected a value after '{operator.text}' {at(operator.position)}, found "
                "end of filter",
                operator.position,
                len(operator.text),
            )
        raise FilterError(
            f"expected a value after '{operator.text}' {at(token.position)}, found "
            f"{token.describe()}",
            token.position,
            len(token.text),
        )

    def set_elements(self, keyword: Token) -> tuple[Literal | Range, ...]:
        opening = self.advance()
        if opening.kind != LBRACE:
            raise FilterError(
                f"expected '{{' after '{keyword.text}' {at(opening.position)}, found "
                f"{opening.describe()}",
                opening.position,
                len(opening.text),
            )
        elements: list[Literal | Range] = []
        while True:
            token = self.peek()
            if token.kind == RBRACE:
                self.advance()
                break
            if token.kind == END:
                raise FilterError(
                    f"unclosed '{{' {at(opening.position)}; expected '}}' before the end of "
                    "the filter",
                    opening.position,
                )
            low = self.set_literal()
            if self.peek().kind == RANGE:
                self.advance()
                high = self.set_literal()
                elements.append(_checked_range(low, high))
            else:
                elements.append(low)
            if self.peek().kind == COMMA:
                self.advance()
        if not elements:
            raise FilterError(
                f"empty set {at(opening.position)}", opening.position, self.previous_end(opening)
            )
        return tuple(elements)

    def previous_end(self, start: Token) -> int:
        last = self.previous()
        return (last.end - start.position) if last is not None else 1

    def set_literal(self) -> Literal:
        token = self.advance()
        if token.kind in _LITERALS:
            return Literal(token.kind, token.value, token.position)  # type: ignore[arg-type]
        if token.kind == NAME:
            raise FilterError(
                f"unquoted string '{token.text}' in a set {at(token.position)}; did you mean "
                f"{quote(token.text)}?",
                token.position,
                len(token.text),
            )
        if token.kind == END:
            raise FilterError(
                f"expected a value {at(token.position)}, found end of filter", token.position
            )
        raise FilterError(
            f"expected a value or '}}' in a set {at(token.position)}, found {token.describe()}",
            token.position,
            len(token.text),
        )

    # ---- checks -----------------------------------------------------------------------

    def check_comparable(self, name: Token) -> None:
        field = str(name.value)
        if self.registry.is_comparable(field):
            return
        if self.registry.is_known(field):
            raise FilterError(
                f"'{field}' {at(name.position)} is a protocol or group of fields, not a "
                f"field with a value; compare one of its fields ({field}.…) or test it alone",
                name.position,
                len(name.text),
            )
        raise self.unknown_field(name)

    def check_operator(self, field: str, operator: Token, value: Literal | FieldRef) -> None:
        op = str(operator.value)
        if isinstance(value, FieldRef):
            if op == "matches":
                raise FilterError(
                    f"'matches' needs a quoted regular expression {at(value.position)}, not "
                    f"the field '{value.name}'",
                    value.position,
                    len(value.name),
                )
            return
        where = at(value.position)
        if op in ORDERING:
            if value.kind == BOOL:
                raise FilterError(
                    f"'{operator.text}' cannot order booleans {where}; use == or !=",
                    value.position,
                )
            if value.kind == ADDRESS and isinstance(value.value, _NETWORKS):
                raise FilterError(
                    f"'{operator.text}' needs a single address {where}, not a network",
                    value.position,
                )
            levels = ORDERED_VALUES.get(field)
            if levels is not None and not (value.kind == STRING and value.value in levels):
                raise FilterError(
                    f"{field} is ordered {' < '.join(levels)}; compare it with one of those "
                    f"{where}",
                    value.position,
                )
        elif op == "contains" and value.kind != STRING:
            raise FilterError(
                f"'contains' needs a quoted string {where}; did you mean "
                f"{quote(str(value))}?",
                value.position,
            )
        elif op == "matches":
            if value.kind != STRING:
                raise FilterError(
                    f"'matches' needs a quoted regular expression {where}", value.position
                )
            try:
                compile_pattern(str(value.value))
            except ValueError as exc:
                raise FilterError(f"{exc} {where}", value.position) from None

    # ---- error messages ---------------------------------------------------------------

    def unknown_field(self, name: Token) -> FilterError:
        field = str(name.value)
        message = f"unknown field '{field}' {at(name.position)}"
        suggestion = self.registry.suggest(field)
        if suggestion is not None and suggestion != field:
            message += f"; did you mean '{suggestion}'?"
        return FilterError(message, name.position, len(name.text))

    def expected_term(self, token: Token) -> FilterError:
        where = at(token.position)
        if token.kind == END:
            before = self.previous()
            if before is not None and before.kind != END:
                return FilterError(
                    f"expected a field name after '{before.text}' {at(before.position)}, "
                    "found end of filter",
                    before.position,
                    len(before.text),
                )
        if token.kind == RPAREN:
            return FilterError(
                f"unexpected ')' {where}; expected a field name", token.position
            )
        if token.kind in _LITERALS:
            return FilterError(
                f"expected a field name {where}, found {token.describe()}; a comparison is "
                "written 'field == value'",
                token.position,
                len(token.text),
            )
        return FilterError(
            f"unexpected {token.describe()} {where}; expected a field name, '(' or '!'",
            token.position,
            len(token.text),
        )

    def unexpected_after_term(self, token: Token, node: Node, *, in_group: bool) -> FilterError:
        where = at(token.position)
        expected = "'&&', '||' or ')'" if in_group else "'&&', '||' or the end of the filter"
        length = len(token.text) or 1
        if token.kind == NAME:
            keyword = suggest_keyword(token.text)
            if keyword is not None:
                return FilterError(
                    f"unexpected {token.describe()} {where}; did you mean '{keyword}'?",
                    token.position,
                    length,
                )
        if token.kind == COMPARE:
            if isinstance(node, Compare | Membership):
                return FilterError(
                    f"unexpected '{token.text}' {where}; comparisons cannot be chained, "
                    "join them with '&&'",
                    token.position,
                    length,
                )
            return FilterError(
                f"unexpected '{token.text}' {where}; a comparison starts with a field name",
                token.position,
                length,
            )
        if token.kind == RANGE:
            return FilterError(
                f"a range is only allowed inside a set {where}: write 'field in {{a..b}}'",
                token.position,
                length,
            )
        if token.kind == RPAREN and not in_group:
            return FilterError(f"unexpected ')' {where}; no '(' to close", token.position)
        if token.kind == IN:
            return FilterError(
                f"unexpected 'in' {where}; 'in' follows a field name: 'field in {{...}}'",
                token.position,
                length,
            )
        return FilterError(
            f"unexpected {token.describe()} {where}; expected {expected}",
            token.position,
            length,
        )


def _combine(kind: str, operands: list[Node]) -> Node:
    node_type = And if kind == AND else Or
    flat: list[Node] = []
    for operand in operands:
        if isinstance(operand, node_type):
            flat.extend(operand.operands)
        else:
            flat.append(operand)
    return node_type(tuple(flat))


def _checked_range(low: Literal, high: Literal) -> Range:
    where = at(low.position)
    kinds_ok = low.kind == high.kind and low.kind in (NUMBER, STRING, ADDRESS)
    if kinds_ok and low.kind == ADDRESS:
        kinds_ok = (
            not isinstance(low.value, _NETWORKS)
            and not isinstance(high.value, _NETWORKS)
            and low.value.version == high.value.version  # type: ignore[union-attr]
        )
    if not kinds_ok:
        raise FilterError(
            f"range {low}..{high} {where} must join two numbers, two strings or two "
            "addresses of one family",
            low.position,
        )
    if low.value > high.value:  # type: ignore[operator]
        raise FilterError(
            f"empty range {low}..{high} {where}: the start is greater than the end",
            low.position,
        )
    return Range(low, high)

