"""Turn a syntax tree into one Python closure, and the public :class:`Filter`.

Compile once, evaluate a million times: every constant is converted, every regex
compiled, every operator resolved when the filter is compiled, so evaluating a message
is a chain of plain function calls with no per-evaluation allocation (no generators,
no temporary lists) beyond what the item itself returns. That is why the loops below are
written out instead of ``any(...)``/``all(...)`` over a generator (ruff SIM110): the
generator costs an allocation per call and measured twice as slow on this hot path.

Quantifiers over multi-valued fields (Wireshark's semantics; docs/FILTERS.md):

* ``==``, ``<`` … ``>=``, ``contains``, ``matches``, ``in``: true if **any** value passes;
* ``!=`` and ``not in``: the field is present and **no** value equals (Wireshark's modern
  ``!=``, i.e. ``all_ne``); ``!(f == x)`` is the form that also matches a missing field;
* ``===``: present and **all** values equal; ``!==``: **some** value differs (``any_ne``);
* every comparison with a missing field is false.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cvipsniff.filter.parser import parse
from cvipsniff.filter.registry import ORDERED_VALUES, FieldRegistry, default_registry
from cvipsniff.filter.source import FieldSource
from cvipsniff.filter.syntax import (
    NUMBER,
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
)
from cvipsniff.filter.values import (
    ORDERING,
    Test,
    compare_values,
    compile_pattern,
    contains,
    equals,
    matches,
    number_of,
    ordered,
    ranked,
)

Predicate = Callable[[FieldSource], bool]


class Filter:
    """A compiled display filter.

    ``matches(item)`` is the compiled predicate itself (an attribute, not a method, to
    save a call per item when filtering a million messages). ``fields`` lists the field
    names the filter reads, so a caller can skip computing what is not needed; ``tree``
    is the syntax tree and ``str(filter)`` its canonical, fully parenthesised text.
    """

    __slots__ = ("fields", "matches", "text", "tree")

    text: str
    tree: Node
    fields: frozenset[str]
    matches: Predicate

    def __init__(self, text: str, tree: Node) -> None:
        self.text = text
        self.tree = tree
        self.fields = frozenset(_names(tree))
        self.matches = _compile(tree)

    @property
    def is_empty(self) -> bool:
        """True for the empty filter, which matches everything."""
        return isinstance(self.tree, MatchAll)

    def __str__(self) -> str:
        return str(self.tree)

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"


def compile_filter(text: str, registry: FieldRegistry | None = None) -> Filter:
    """Parse, check and compile ``text``.

    Raises :class:`~cvipsniff.filter.errors.FilterError` (with ``.position``) for any
    mistake, including unknown field names; ``registry`` defaults to the engine's fields
    plus every loadable protocol's (:func:`default_registry`). Whitespace-only text gives
    a filter that matches everything.
    """
    if not isinstance(text, str):
        raise TypeError(f"filter text must be str, not {type(text).__name__}")
    tree = parse(text, registry if registry is not None else default_registry())
    return Filter(text, tree)


# ---- compilation -----------------------------------------------------------------------


def _always(item: FieldSource) -> bool:
    return True


def _compile(node: Node) -> Predicate:
    if isinstance(node, MatchAll):
        return _always
    if isinstance(node, Exists):
        return _exists(node.name)
    if isinstance(node, Not):
        return _not(_compile(node.operand))
    if isinstance(node, And):
        return _all([_compile(o) for o in node.operands])
    if isinstance(node, Or):
        return _any([_compile(o) for o in node.operands])
    if isinstance(node, Membership):
        test = _set_test(node.elements)
        return _none(node.field, test) if node.negated else _some(node.field, test)
    if isinstance(node, Compare):
        if isinstance(node.value, FieldRef):
            return _field_pair(node.field, node.op, node.value.name)
        return _comparison(node.field, node.op, node.value)
    raise TypeError(f"not a filter node: {node!r}")


def _comparison(key: str, op: str, literal: Literal) -> Predicate:
    if op == "==":
        return _some(key, equals(literal))
    if op == "!=":
        return _none(key, equals(literal))
    if op == "===":
        return _every(key, equals(literal))
    if op == "!==":
        return _some_not(key, equals(literal))
    if op in ORDERING:
        levels = ORDERED_VALUES.get(key)
        if levels is not None:
            rank = {level: i for i, level in enumerate(levels)}
            return _some(key, ranked(op, rank, rank[str(literal.value)]))
        return _some(key, ordered(op, literal))
    if op == "contains":
        return _some(key, contains(str(literal.value)))
    if op == "matches":
        return _some(key, matches(compile_pattern(str(literal.value))))
    raise ValueError(f"unknown operator {op}")


def _set_test(elements: Sequence[Literal | Range]) -> Test:
    """One test for a whole set: a fast path for sets of numbers, otherwise any element."""
    if all(
        (e.kind == NUMBER if isinstance(e, Literal) else e.low.kind == NUMBER) for e in elements
    ):
        numbers = frozenset(e.value for e in elements if isinstance(e, Literal))
        spans = tuple((e.low.value, e.high.value) for e in elements if isinstance(e, Range))

        def number_in_set(value: object) -> bool:
            x = number_of(value)
            if x is None:
                return False
            if x in numbers:
                return True
            for low, high in spans:  # noqa: SIM110 (no generator on the hot path)
                if low <= x <= high:  # type: ignore[operator]
                    return True
            return False

        return number_in_set

    tests: list[Test] = []
    for element in elements:
        if isinstance(element, Range):
            tests.append(_both(ordered(">=", element.low), ordered("<=", element.high)))
        else:
            tests.append(equals(element))
    tests_tuple = tuple(tests)

    def in_set(value: object) -> bool:
        for test in tests_tuple:  # noqa: SIM110 (no generator on the hot path)
            if test(value):
                return True
        return False

    return in_set


def _both(first: Test, second: Test) -> Test:
    def test(value: object) -> bool:
        return first(value) and second(value)

    return test


# ---- quantifiers over a field's values -------------------------------------------------


def _some(key: str, test: Test) -> Predicate:
    def predicate(item: FieldSource) -> bool:
        for value in item.values(key):  # noqa: SIM110 (no generator on the hot path)
            if test(value):
                return True
        return False

    return predicate


def _none(key: str, test: Test) -> Predicate:
    def predicate(item: FieldSource) -> bool:
        values = item.values(key)
        if not values:
            return False
        for value in values:  # noqa: SIM110 (no generator on the hot path)
            if test(value):
                return False
        return True

    return predicate


def _every(key: str, test: Test) -> Predicate:
    def predicate(item: FieldSource) -> bool:
        values = item.values(key)
        if not values:
            return False
        for value in values:  # noqa: SIM110 (no generator on the hot path)
            if not test(value):
                return False
        return True

    return predicate


def _some_not(key: str, test: Test) -> Predicate:
    def predicate(item: FieldSource) -> bool:
        for value in item.values(key):  # noqa: SIM110 (no generator on the hot path)
            if not test(value):
                return True
        return False

    return predicate


def _field_pair(left: str, op: str, right: str) -> Predicate:
    """``left op right`` for two fields, over every pair of their values."""
    positive = "==" if op in ("!=", "===", "!==") else op

    def pairs(item: FieldSource) -> tuple[Sequence[object], Sequence[object]]:
        return item.values(left), item.values(right)

    def some_pair(item: FieldSource) -> bool:
        lefts, rights = pairs(item)
        for a in lefts:
            for b in rights:
                if compare_values(positive, a, b):
                    return True
        return False

    def no_pair(item: FieldSource) -> bool:
        lefts, rights = pairs(item)
        return bool(lefts) and bool(rights) and not some_pair(item)

    def every_pair(item: FieldSource) -> bool:
        lefts, rights = pairs(item)
        if not lefts or not rights:
            return False
        for a in lefts:
            for b in rights:
                if not compare_values(positive, a, b):
                    return False
        return True

    def some_pair_differs(item: FieldSource) -> bool:
        lefts, rights = pairs(item)
        for a in lefts:
            for b in rights:
                if not compare_values(positive, a, b):
                    return True
        return False

    if op == "!=":
        return no_pair
    if op == "===":
        return every_pair
    if op == "!==":
        return some_pair_differs
    return some_pair


# ---- logic -----------------------------------------------------------------------------


def _exists(name: str) -> Predicate:
    def predicate(item: FieldSource) -> bool:
        return item.has_prefix(name)

    return predicate


def _not(inner: Predicate) -> Predicate:
    def predicate(item: FieldSource) -> bool:
        return not inner(item)

    return predicate


def _all(parts: list[Predicate]) -> Predicate:
    if len(parts) == 2:
        first, second = parts

        def both(item: FieldSource) -> bool:
            return first(item) and second(item)

        return both
    chain = tuple(parts)

    def every(item: FieldSource) -> bool:
        for part in chain:  # noqa: SIM110 (no generator on the hot path)
            if not part(item):
                return False
        return True

    return every


def _any(parts: list[Predicate]) -> Predicate:
    if len(parts) == 2:
        first, second = parts

        def either(item: FieldSource) -> bool:
            return first(item) or second(item)

        return either
    chain = tuple(parts)

    def some(item: FieldSource) -> bool:
        for part in chain:  # noqa: SIM110 (no generator on the hot path)
            if part(item):
                return True
        return False

    return some


def _names(node: Node) -> set[str]:
    """Field names a tree reads (iterative: trees can be wide)."""
    names: set[str] = set()
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Exists):
            names.add(current.name)
        elif isinstance(current, Compare):
            names.add(current.field)
            if isinstance(current.value, FieldRef):
                names.add(current.value.name)
        elif isinstance(current, Membership):
            names.add(current.field)
        elif isinstance(current, Not):
            stack.append(current.operand)
        elif isinstance(current, And | Or):
            stack.extend(current.operands)
    return names
