"""The CSS selector grammar: `parse` turns selector text into `Rule`s, with positioned errors.

Pure text, no model and no torch: `k1widgets.selector.index` matches the rules against a model, and
`k1widgets.selector` builds the `ModuleSelector` tree from them.

Grammar (one rule per statement; statements are split by newlines or ``;``)::

    statement := selector ("," selector)* [":" props]
    selector  := compound (combinator compound)*
    compound  := ClassName | "#" name | "*"        (type(module).__name__, the attribute name, anything;
                                                     class names are Python identifiers, non-ASCII too)
    combinator:= " " (descendant, any depth) | ">" (direct child)
    props     := prop (("," | " ") prop)*           (a statement without props gets the prop "all")

``a, b: p`` applies ``p`` to both selectors; props from several statements accumulate. Bad syntax
raises `SelectorSyntaxError` with a caret under the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NoReturn

__all__ = ["DEFAULT_PROP", "Rule", "SelectorSyntaxError", "parse"]

DEFAULT_PROP = "all"
"""The prop of a statement written without ``: props``; every node that has it has every prop."""

_NAME_CHARS = re.compile(r"[^\s>,:;#*.+~\[\]()]*")
_DIGITS = re.compile(r"[0-9]+")
_GRAMMAR = "a class name (Linear), a module name (#bulk) or *"


# ---------------------------------------------------------------------------------------------- errors
class SelectorSyntaxError(ValueError):
    """A CSS selector that does not follow the grammar.

    The message shows the statement with a caret under the problem::

        expected a property name after ':'
          conv > linear:
                        ^

    Attributes:
        reason: what was wrong, in one line.
        css: the whole CSS text that was parsed.
        statement: the statement (one line or ``;``-separated part) holding the problem, stripped.
        position: index of the problem in ``statement``.
        offset: index of the problem in ``css`` (for editors).
        lineno: 1-based line of ``css`` holding the problem.
        caretLine: ``" " * position + "^"``.
    """

    def __init__(self, reason: str, css: str, statement: str, position: int, offset: int) -> None:
        self.reason, self.css, self.statement = reason, css, statement
        self.position, self.offset = position, offset
        self.lineno = css.count("\n", 0, offset) + 1
        self.caretLine = " " * position + "^"
        super().__init__(f"{reason}\n  {statement}\n  {self.caretLine}")


# ---------------------------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class Rule:
    """One selector with its props, as parsed from a statement (``a, b: p`` gives two rules).

    Attributes:
        compounds: the compounds, left to right (``"Linear"``, ``"#0"``, ``"*"``).
        combinators: ``" "`` or ``">"`` between consecutive compounds (one fewer than compounds).
        props: the props it assigns, in order (``("all",)`` when the statement named none).
        statement: the statement it came from, stripped.
        offset: where that statement starts in the CSS text.
    """

    compounds: tuple[str, ...]
    combinators: tuple[str, ...]
    props: tuple[str, ...]
    statement: str = ""
    offset: int = 0

    @property
    def selector(self) -> str:
        """The selector, normalised: ``"#bulk > Linear"``."""
        out = self.compounds[0]
        for comb, comp in zip(self.combinators, self.compounds[1:], strict=True):
            out += f" {comp}" if comb == " " else f" > {comp}"
        return out

    def __str__(self) -> str:
        return f"{self.selector}: {' '.join(self.props)}"


def _splitStatements(css: str) -> Iterator[tuple[str, int]]:
    start = 0
    for m in re.finditer(r"[\n;]", css):
        yield css[start : m.start()], start
        start = m.end()
    yield css[start:], start


def parse(css: str) -> list[Rule]:
    r"""Parses CSS selector text into rules (no model needed).

    Args:
        css: statements separated by newlines or ``;``, e.g. ``"#bulk > Linear: a\\nSkipBlock LeakyReLU"``.

    Returns:
        One `Rule` per selector (``a, b: p`` gives two), in order.

    Raises:
        SelectorSyntaxError: the text breaks the grammar; the message has a caret under the problem.

    Example:
        >>> [str(r) for r in parse("#bulk > Linear: a; SkipBlock LeakyReLU")]
        ['#bulk > Linear: a', 'SkipBlock LeakyReLU: all']
    """
    if not isinstance(css, str):
        msg = f"CSS must be a string, got {type(css).__name__}: {css!r:.80}."
        raise TypeError(msg)
    rules: list[Rule] = []
    for raw, start in _splitStatements(css):
        text = raw.strip()
        if text:
            rules.extend(_parseStatement(css, text, start + (len(raw) - len(raw.lstrip()))))
    return rules


def _parseStatement(css: str, s: str, offset: int) -> list[Rule]:
    def fail(reason: str, pos: int) -> NoReturn:
        raise SelectorSyntaxError(reason, css, s, pos, offset + pos)

    colon = s.find(":")
    selPart = s if colon < 0 else s[:colon]
    props: tuple[str, ...] = (DEFAULT_PROP,)
    if colon >= 0:
        found: list[str] = []
        for m in re.finditer(r"[^\s,]+", s[colon + 1 :]):
            token, pos = m.group(), colon + 1 + m.start()
            if ":" in token:
                msg = "unexpected ':' among the props (a statement has one ':'; split statements with ';')"
                fail(msg, pos + token.index(":"))
            found.append(token)
        if not found:
            fail("expected a property name after ':'", len(s))
        props = tuple(dict.fromkeys(found))

    selectors: list[tuple[list[str], list[str]]] = []
    compounds: list[str] = []
    combinators: list[str] = []
    pending: str | None = None  # combinator waiting for its right-hand compound
    pos, n = 0, len(selPart)
    while True:
        ws = pos
        while pos < n and selPart[pos].isspace():
            pos += 1
        spaced = pos > ws
        if pos >= n or selPart[pos] == ",":
            where = "':'" if pos >= n and colon >= 0 else ("','" if pos < n else "the end")
            if pending == ">":
                fail(f"expected {_GRAMMAR} after '>'", pos)
            if not compounds:
                fail(f"expected {_GRAMMAR} before {where}", pos)
            selectors.append((compounds, combinators))
            compounds, combinators, pending = [], [], None
            if pos >= n:
                break
            pos += 1
            continue
        ch = selPart[pos]
        if ch == ">":
            if not compounds:
                fail(f"'>' needs {_GRAMMAR} on its left, as in 'Sequential > Linear'", pos)
            if pending == ">":
                fail(f"expected {_GRAMMAR} after '>', got a second '>'", pos)
            pending = ">"
            pos += 1
            continue
        if compounds and pending is None:
            if not spaced:
                if ch == "*":
                    fail("partial wildcards like 'Lin*' are not supported; '*' alone selects every module", pos)
                prev = compounds[-1]
                msg = (
                    f"a compound is one of {_GRAMMAR}; {prev!r} is followed directly by {ch!r}: "
                    "separate them with ' ' (descendant) or '>' (child)"
                )
                fail(msg, pos)
            pending = " "
        compound, pos = _readCompound(selPart, pos, fail)
        if pending is not None:
            combinators.append(pending)
        compounds.append(compound)
        pending = None

    return [Rule(tuple(c), tuple(b), props, s, offset) for c, b in selectors]


def _readCompound(s: str, pos: int, fail: Callable[[str, int], NoReturn]) -> tuple[str, int]:
    ch = s[pos]
    if ch == "*":
        if pos + 1 < len(s) and (s[pos + 1].isalnum() or s[pos + 1] in "_#"):
            fail("'*' stands alone: partial wildcards like '*Norm' are not supported", pos + 1)
        return "*", pos + 1
    if ch == "#":
        end = _NAME_CHARS.match(s, pos + 1).end()  # type: ignore[union-attr]
        if end == pos + 1:
            fail("expected a module name after '#', as in '#bulk' or '#0'", pos + 1)
        if end < len(s) and s[end] == ".":
            msg = "'.' is not part of a name: select one level at a time, e.g. '#bulk > #2' for bulk.2"
            fail(msg, end)
        return s[pos:end], end
    if ch.isidentifier():  # class names are Python identifiers: Ébloc and Größe too
        end = pos + 1
        while end < len(s) and ("_" + s[end]).isidentifier():
            end += 1
        if end < len(s) and s[end] == ".":
            msg = "'.' is not part of a class name: write the bare class name, e.g. 'Linear' for nn.Linear"
            fail(msg, end)
        return s[pos:end], end
    if ch.isdigit():
        digits = _DIGITS.match(s, pos).group()  # type: ignore[union-attr]
        fail(f"{digits!r} is not a class name; select a module by its name with '#{digits}'", pos)
    if ch in "+~":
        fail(f"the sibling combinator {ch!r} is not supported; use ' ' (descendant) or '>' (child)", pos)
    if ch == ".":
        fail(f"'.' starts nothing here; expected {_GRAMMAR}", pos)
    fail(f"unexpected {ch!r}; expected {_GRAMMAR}", pos)
