"""CSS module selection: the seeds' selector grammar and the `ModuleSelector` tree.

``l.css = "..."`` (or ``select(model, css)``) gives every module of a model a set of *props*; callbacks
ask the tree which modules and parameters carry theirs (``HookModule``, ``HookParam``...).

Grammar (one rule per statement; statements are split by newlines or ``;``)::

    statement := selector ("," selector)* [":" props]
    selector  := compound (combinator compound)*
    compound  := ClassName | "#" name | "*"        (type(module).__name__, the attribute name, anything)
    combinator:= " " (descendant, any depth) | ">" (direct child)
    props     := prop (("," | " ") prop)*           (a statement without props gets the prop "all")

``a, b: p`` applies ``p`` to both selectors; props from several statements accumulate. A node
answers ``prop in node`` for its own props and for ``all``. Bad syntax raises `SelectorSyntaxError`
with a caret under the problem. When the model is known (`select`), a rule that matches nothing, or
that names a class or a name the model does not have, is reported with `SelectorWarning` naming the
closest real class or name.

Matching runs on cached per-model records (one walk of the model, re-done only when its structure
changes) with one vectorised pass per rule, so re-selecting a 5,000-module model takes about a
millisecond. Nodes mirror the model *per place*: a module instance used at two places is two nodes,
and the module-level answers (`ModuleSelector.named_modules`, `named_parameters`) map nodes to
modules by identity, de-duplicated as torch does.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import torch
from torch import nn

__all__ = [
    "DEFAULT_PROP",
    "ModuleSelector",
    "Rule",
    "SelectorSyntaxError",
    "SelectorWarning",
    "UnknownModuleError",
    "parse",
    "quietWarnings",
    "select",
    "treeState",
]

DEFAULT_PROP = "all"
"""The prop of a statement written without ``: props``; every node that has it has every prop."""

_MAX_NODES = 2_000_000
_CLASS_START = re.compile(r"[A-Za-z_]")
_CLASS_CHARS = re.compile(r"[A-Za-z0-9_]*")
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


class SelectorWarning(UserWarning):
    """A CSS rule that selects nothing in the model it was applied to (a typo, most of the time)."""


class UnknownModuleError(KeyError):
    """``mS["x"]`` for a child or parameter that does not exist (prints its message without quotes)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_quiet = threading.local()


@contextlib.contextmanager
def quietWarnings() -> Iterator[None]:
    """Within this block, on this thread only, `select` records warnings without emitting them.

    Views use it: they list the warnings themselves. Thread-local, unlike `warnings.catch_warnings`.
    """
    before = getattr(_quiet, "on", False)
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = before


def _userStacklevel() -> int:
    """The stacklevel of the first frame outside k1widgets, so a warning points at the user's code."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("k1widgets"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


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
    if _CLASS_START.match(ch):
        end = _CLASS_CHARS.match(s, pos + 1).end()  # type: ignore[union-attr]
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


# ---------------------------------------------------------------------------------------------- records
_generation = 0  # bumped whenever torch registers a submodule anywhere (so cached records re-check)
_hookLock = threading.Lock()
_hookHandle: Any = None
_cache: weakref.WeakKeyDictionary[nn.Module, _Records] = weakref.WeakKeyDictionary()
_cacheLock = threading.Lock()


def _onRegister(module: nn.Module, name: str, submodule: Any) -> None:
    global _generation
    _generation += 1


def _ensureHook() -> None:
    global _hookHandle
    with _hookLock:
        if _hookHandle is None:
            register = getattr(torch.nn.modules.module, "register_module_module_registration_hook", None)
            _hookHandle = register(_onRegister) if register is not None else False


class _Records:
    """One walk of a model: per place (node, pre-order) its module, name, class, parent, subtree end."""

    def __init__(self, model: nn.Module) -> None:
        self.generation = _generation
        mods: list[nn.Module | None] = []
        names: list[str] = []
        parents: list[int] = []
        depths: list[int] = []
        ends: list[int] = []
        onPath: set[int] = set()

        def visit(m: nn.Module, name: str, parent: int, depth: int) -> None:
            i = len(mods)
            if i >= _MAX_NODES:
                msg = f"the model has more than {_MAX_NODES} module places (shared submodules counted per place)."
                raise ValueError(msg)
            mods.append(m)
            names.append(name)
            parents.append(parent)
            depths.append(depth)
            ends.append(0)
            onPath.add(id(m))
            for childName, child in m._modules.items():
                if child is not None and id(child) not in onPath:
                    visit(child, childName, i, depth + 1)
            onPath.discard(id(m))
            ends[i] = len(mods)

        visit(model, "root", -1, 0)
        n = self.n = len(mods)
        self.rootRef = weakref.ref(model)
        mods[0] = None  # the cache is keyed weakly by the root: never hold it strongly
        self.mods = mods
        self.names = names
        self.classes = [type(m).__name__ for m in mods]
        self.classes[0] = type(model).__name__
        self.parent = np.array(parents, dtype=np.int64)
        self.parent[0] = n  # a sentinel index that is never selected
        self.end = np.array(ends, dtype=np.int64)
        self.depth = np.array(depths, dtype=np.int64)
        self.classIndex: dict[str, int] = {}
        self.classIds = np.array([self.classIndex.setdefault(c, len(self.classIndex)) for c in self.classes])
        self.nameIndex: dict[str, int] = {}
        self.nameIds = np.array([self.nameIndex.setdefault(c, len(self.nameIndex)) for c in names])
        self.children: list[list[int]] = [[] for _ in range(n)]
        for i in range(1, n):
            self.children[parents[i]].append(i)
        self.internal = [mods[i] for i in range(1, n) if self.children[i]]  # the root is checked apart
        self.internalLens = [len(m._modules) for m in self.internal]  # type: ignore[union-attr]
        self.rootLen = len(model._modules)
        self._masks: dict[str, np.ndarray | None] = {}
        self._paths: list[str] | None = None

    def module(self, i: int) -> nn.Module:
        return self.mods[i] if i else self.rootRef()  # type: ignore[return-value]

    def fresh(self) -> bool:
        """Still describes the model: nothing registered since, and no container grew or shrank."""
        if self.generation != _generation or _hookHandle is False:
            return False
        root = self.rootRef()
        if root is None or len(root._modules) != self.rootLen:
            return False
        return [len(m._modules) for m in self.internal] == self.internalLens  # type: ignore[union-attr]

    @property
    def paths(self) -> list[str]:
        """Dotted torch-style path of every node (``""`` for the root)."""
        if self._paths is None:
            paths = [""] * self.n
            for i in range(1, self.n):
                p = paths[self.parent[i]] if self.parent[i] else ""
                paths[i] = f"{p}.{self.names[i]}" if p else self.names[i]
            self._paths = paths
        return self._paths

    def compoundMask(self, compound: str) -> np.ndarray | None:
        """Which nodes a compound matches, or None when the model has no such class or name."""
        mask = self._masks.get(compound, False)
        if mask is False:
            if compound == "*":
                mask = np.ones(self.n, dtype=bool)
            elif compound.startswith("#"):
                k = self.nameIndex.get(compound[1:])
                mask = None if k is None else self.nameIds == k
            else:
                k = self.classIndex.get(compound)
                mask = None if k is None else self.classIds == k
            self._masks[compound] = mask
        return mask  # type: ignore[return-value]

    def descendantsOf(self, mask: np.ndarray) -> np.ndarray:
        """Nodes strictly inside the subtree of any node in ``mask``."""
        starts = np.flatnonzero(mask)
        if not len(starts):
            return np.zeros(self.n, dtype=bool)
        delta = np.bincount(starts + 1, minlength=self.n + 1) - np.bincount(self.end[starts], minlength=self.n + 1)
        return np.cumsum(delta[: self.n]) > 0

    def ruleMask(self, compounds: tuple[str, ...], combinators: tuple[str, ...]) -> np.ndarray | None:
        """Which nodes a selector matches (None when a compound names nothing in the model)."""
        mask = self.compoundMask(compounds[0])
        if mask is None:
            return None
        for comb, comp in zip(combinators, compounds[1:], strict=True):
            right = self.compoundMask(comp)
            if right is None:
                return None
            if not mask.any():
                return mask
            if comb == ">":
                ext = np.zeros(self.n + 1, dtype=bool)
                ext[: self.n] = mask
                mask = ext[self.parent] & right
            else:
                mask = self.descendantsOf(mask) & right
        return mask


def _records(model: nn.Module) -> _Records:
    _ensureHook()
    with _cacheLock:
        rec = _cache.get(model)
    if rec is None or not rec.fresh():
        rec = _Records(model)
        with _cacheLock:
            _cache[model] = rec
    return rec


# ---------------------------------------------------------------------------------------------- selection
class _Selection:
    """Everything one `select` call produced: records, rules, prop masks, warnings, node objects."""

    def __init__(self, rec: _Records, css: str, rules: list[Rule]) -> None:
        self.rec, self.css, self.rules = rec, css, rules
        self.root = rec.module(0)  # holds the model alive as long as the tree is
        self.propMasks: dict[str, np.ndarray] = {}
        self.warnings: list[str] = []
        self.warned = False
        self.learnerRef: Callable[[], Any] | None = None
        self.nodes: list[ModuleSelector | None] = [None] * rec.n
        for rule in rules:
            mask = rec.ruleMask(rule.compounds, rule.combinators)
            if mask is None or not mask.any():
                self.warnings.append(self._explain(rule))
                continue
            for prop in rule.props:
                old = self.propMasks.get(prop)
                self.propMasks[prop] = mask if old is None else (old | mask)
        self.allMask = self.propMasks.get(DEFAULT_PROP)
        self.anyMask = np.zeros(rec.n, dtype=bool)
        for mask in self.propMasks.values():
            self.anyMask |= mask

    def _explain(self, rule: Rule) -> str:
        rec = self.rec
        head = f"CSS rule {str(rule)!r} matches no module"
        for comp in rule.compounds:
            if rec.compoundMask(comp) is not None:
                continue
            if comp.startswith("#"):
                close = difflib.get_close_matches(comp[1:], list(rec.nameIndex), n=1)
                hint = f" (did you mean '#{close[0]}'?)" if close else ""
                return f"{head}: no module is named {comp[1:]!r}{hint}."
            close = difflib.get_close_matches(comp, list(rec.classIndex), n=1)
            if not close:
                lower = {c.lower(): c for c in rec.classIndex}
                close = [lower[comp.lower()]] if comp.lower() in lower else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"{head}: the model has no module of class {comp!r}{hint}."
        if ">" in rule.combinators:
            loose = rec.ruleMask(rule.compounds, tuple(" " for _ in rule.combinators))
            if loose is not None and loose.any():
                relaxed = " ".join(rule.compounds)
                count = int(loose.sum())
                return f"{head} (with descendants instead of direct children, {relaxed!r} would select {count})."
        return f"{head} in this model."

    def emitWarnings(self) -> None:
        if self.warned or getattr(_quiet, "on", False):
            return
        self.warned = True
        for w in self.warnings:
            warnings.warn(w, SelectorWarning, stacklevel=_userStacklevel())

    def node(self, i: int) -> ModuleSelector:
        node = self.nodes[i]
        if node is None:
            node = self.nodes[i] = ModuleSelector(self, i)
        return node

    def props(self, i: int) -> tuple[str, ...]:
        return tuple(p for p, m in self.propMasks.items() if m[i])

    def has(self, i: int, prop: str) -> bool:
        mask = self.propMasks.get(prop)
        return bool((mask is not None and mask[i]) or (self.allMask is not None and self.allMask[i]))


def select(model: nn.Module, css: str = "*", *, warn: bool = True) -> ModuleSelector:
    """Builds the `ModuleSelector` tree of ``model`` with the props that ``css`` assigns.

    Args:
        model: any `torch.nn.Module`.
        css: selector rules (see the module docstring); the default ``"*"`` gives every module ``all``.
        warn: emit a `SelectorWarning` for each rule that matches nothing (always listed in
            ``mS.warnings``). Views pass False, or use `quietWarnings`.

    Returns:
        The root node (``name == "root"``).

    Raises:
        SelectorSyntaxError: ``css`` breaks the grammar.

    Example:
        >>> mS = select(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), "Linear: HookParam")
        >>> "HookParam" in mS["0"], "HookParam" in mS["1"]
        (True, False)
    """
    if not isinstance(model, nn.Module):
        msg = f"select() needs a torch.nn.Module, got {type(model).__name__}: {model!r:.80}."
        raise TypeError(msg)
    rules = parse(css)
    sel = _Selection(_records(model), css, rules)
    if warn:
        sel.emitWarnings()
    return sel.node(0)


# ---------------------------------------------------------------------------------------------- the tree
class ModuleSelector:
    """One place in a model, with the props the CSS gave it. Built by `select` or ``l.moduleSelector``.

    ``mS.bulk`` / ``mS["0"]`` / ``mS[0]`` go to a child by name; ``.nn`` is the module; ``.name``,
    ``.parent``, ``.depth``, ``.path``, ``.props``; ``"HookModule" in mS`` is True for that prop or
    ``all``. ``named_modules(prop)`` / ``modules(prop)`` / ``named_parameters(prop)`` walk the
    subtree the way torch does (each module once, by identity). ``repr`` prints the seed's tree.
    """

    __slots__ = ("__weakref__", "_i", "_s")

    def __init__(self, selection: _Selection, index: int) -> None:
        self._s, self._i = selection, index

    # -- identity and place
    @property
    def nn(self) -> nn.Module:
        """The `torch.nn.Module` at this place."""
        return self._s.rec.module(self._i)

    @property
    def name(self) -> str:
        """The attribute name in the parent (``"root"`` for the root)."""
        return self._s.rec.names[self._i]

    @property
    def idx(self) -> int:
        """Position of this node in the tree, pre-order (the root is 0)."""
        return self._i

    @property
    def path(self) -> str:
        """Dotted torch path from the root (``"bulk.2.seq.0"``; ``""`` for the root)."""
        return self._s.rec.paths[self._i]

    @property
    def parent(self) -> ModuleSelector | None:
        """The parent node (None for the root)."""
        return self._s.node(int(self._s.rec.parent[self._i])) if self._i else None

    @property
    def root(self) -> ModuleSelector:
        """The root node of this tree."""
        return self._s.node(0)

    @property
    def depth(self) -> int:
        """Depth from the root (the root is 0)."""
        return int(self._s.rec.depth[self._i])

    @property
    def deepestDepth(self) -> int:
        """How many levels the subtree has below this node (0 for a leaf)."""
        rec, i = self._s.rec, self._i
        return int(rec.depth[i : rec.end[i]].max()) - int(rec.depth[i])

    @property
    def props(self) -> tuple[str, ...]:
        """The props given to this node, in the order the CSS first names them."""
        return self._s.props(self._i)

    def __contains__(self, prop: str) -> bool:
        return self._s.has(self._i, prop)

    # -- the CSS that built the tree
    @property
    def css(self) -> str:
        """The CSS text this tree was selected with."""
        return self._s.css

    @property
    def rules(self) -> list[Rule]:
        """The parsed rules of `css`."""
        return list(self._s.rules)

    @property
    def warnings(self) -> list[str]:
        """One line per rule that matched nothing (with the closest real class or name)."""
        return list(self._s.warnings)

    @property
    def stale(self) -> bool:
        """Whether the model's structure changed since this tree was built (select again)."""
        return not self._s.rec.fresh()

    @property
    def learner(self) -> Any:
        """The `Learner` whose ``l.moduleSelector`` this is, or None for a tree from `select`."""
        ref = self._s.learnerRef
        return ref() if ref is not None else None

    def _attachLearner(self, learner: Any) -> None:
        self._s.learnerRef = weakref.ref(learner)

    def _emitWarnings(self) -> None:
        self._s.emitWarnings()

    # -- children and walks
    def named_children(self, prop: str | None = None) -> Iterator[tuple[str, ModuleSelector]]:
        """``(name, node)`` for each direct child (only those with ``prop`` if given)."""
        s = self._s
        for j in s.rec.children[self._i]:
            if prop is None or s.has(j, prop):
                yield s.rec.names[j], s.node(j)

    def children(self, prop: str | None = None) -> Iterator[ModuleSelector]:
        """Each direct child node (only those with ``prop`` if given)."""
        return (node for _, node in self.named_children(prop))

    def named_modules(self, prop: str | None = None) -> Iterator[tuple[str, ModuleSelector]]:
        """``(path, node)`` for this node and every descendant, like `torch.nn.Module.named_modules`.

        Paths are relative to this node (``""`` for itself). Each module instance appears once: at
        its first place, or with ``prop`` at its first place that has ``prop`` (a shared module
        carries a prop if any of its places does).
        """
        s, rec, i = self._s, self._s.rec, self._i
        if prop is None:
            idxs: Any = range(i, int(rec.end[i]))
        else:
            mask = s.propMasks.get(prop)
            if s.allMask is not None:
                mask = s.allMask if mask is None else (mask | s.allMask)
            if mask is None:
                return
            idxs = (np.flatnonzero(mask[i : rec.end[i]]) + i).tolist()
        paths, cut = rec.paths, len(rec.paths[i]) + (1 if i else 0)
        seen: set[int] = set()
        for j in idxs:
            key = id(rec.module(j))
            if key in seen:
                continue
            seen.add(key)
            yield paths[j][cut:], s.node(j)

    def modules(self, prop: str | None = None) -> Iterator[ModuleSelector]:
        """Each node of `named_modules` (use ``.nn`` for the module)."""
        return (node for _, node in self.named_modules(prop))

    def named_parameters(self, prop: str | None = None) -> Iterator[tuple[str, nn.Parameter]]:
        """``(path, parameter)`` for the parameters owned by the modules of ``named_modules(prop)``.

        Paths are relative to this node, as `torch.nn.Module.named_parameters` gives them; each
        parameter appears once.
        """
        seen: set[int] = set()
        for path, node in self.named_modules(prop):
            for name, p in node.nn._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{path}.{name}" if path else name), p

    def parameters(self, prop: str | None = None) -> Iterator[nn.Parameter]:
        """Each parameter of `named_parameters`."""
        return (p for _, p in self.named_parameters(prop))

    @property
    def directParams(self) -> dict[str, nn.Parameter]:
        """The parameters directly under this module (not its children's)."""
        return dict(self.nn.named_parameters(recurse=False))

    def apply(self, f: Callable[[ModuleSelector], Any]) -> ModuleSelector:
        """Calls ``f(node)`` on this node and every descendant, pre-order; returns self."""
        for j in range(self._i, int(self._s.rec.end[self._i])):
            f(self._s.node(j))
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the module: ``mS(x)`` is ``mS.nn(x)``."""
        return self.nn(*args, **kwargs)

    # -- look-ups
    def _childIndex(self, name: str) -> int | None:
        rec = self._s.rec
        for j in rec.children[self._i]:
            if rec.names[j] == name:
                return j
        return None

    def _missing(self, key: str) -> str:
        rec = self._s.rec
        names = [rec.names[j] for j in rec.children[self._i]] + list(self.directParams)
        close = difflib.get_close_matches(key, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        where = f"{self.name!r} ({rec.classes[self._i]})"
        return f"{where} has no child or parameter {key!r}. It has: {', '.join(names) or '(nothing)'}.{hint}"

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        j = self._childIndex(attr)
        if j is not None:
            return self._s.node(j)
        params = self.directParams
        if attr in params:
            return params[attr]
        raise AttributeError(self._missing(attr), name=attr, obj=None)  # obj=None: our hint only

    def __getitem__(self, key: str | int) -> Any:
        j = self._childIndex(str(key))
        if j is not None:
            return self._s.node(j)
        params = self.directParams
        if str(key) in params:
            return params[str(key)]
        raise UnknownModuleError(self._missing(str(key)))

    def __dir__(self) -> list[str]:
        rec = self._s.rec
        return [*super().__dir__(), *(rec.names[j] for j in rec.children[self._i])]

    # -- display
    def __repr__(self) -> str:
        rec, s, i = self._s.rec, self._s, self._i
        base = int(rec.depth[i])
        lines = ["ModuleSelector:"]
        for j in range(i, int(rec.end[i])):
            leaf = not rec.children[j]
            props = ", ".join(s.props(j))
            indent = "    " * (int(rec.depth[j]) - base)
            lines.append(f"{indent}{rec.names[j]}: {rec.classes[j]}{' ' * 21}{props}{'    ' if leaf else ''}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        rec, s, i = self._s.rec, self._s, self._i
        base = int(rec.depth[i])
        rows = []
        for j in range(i, int(rec.end[i])):
            props = " ".join(f"<b>{html.escape(p)}</b>" for p in s.props(j))
            pad = "    " * (int(rec.depth[j]) - base)
            rows.append(f"{pad}{html.escape(rec.names[j])}: {html.escape(rec.classes[j])}  {props}")
        return '<pre class="k1w-tree-static">ModuleSelector:\n' + "\n".join(rows) + "</pre>"

    def widget(self) -> Any:
        """The live tree view of this tree (`k1widgets.widgets.tree.TreeView`)."""
        from k1widgets.widgets.tree import TreeView

        return TreeView(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The tree view in a widget front-end, plus the text tree (and HTML) everywhere."""
        from k1widgets import display

        return display.mimebundle(self, include, exclude)


# ---------------------------------------------------------------------------------------------- view data
def treeState(mS: ModuleSelector) -> dict[str, Any]:
    """The plain data a tree view shows: structure and parameter counts (independent of the CSS).

    Columnar, for size: ``names``/``classes`` are string tables that ``name``/``cls`` index; ``parent``
    is -1 for the root; ``nParams`` counts the parameters in each subtree (per place).
    """
    s = mS._s
    rec = s.rec
    direct = np.zeros(rec.n, dtype=np.int64)
    for j in range(rec.n):
        direct[j] = sum(p.numel() for p in rec.module(j)._parameters.values() if p is not None)
    total = direct.copy()
    parent = rec.parent
    for j in range(rec.n - 1, 0, -1):
        total[parent[j]] += total[j]
    parents = parent.tolist()
    parents[0] = -1
    return {
        "n": rec.n,
        "names": list(rec.nameIndex),
        "name": rec.nameIds.tolist(),
        "classes": list(rec.classIndex),
        "cls": rec.classIds.tolist(),
        "parent": parents,
        "nParams": total.tolist(),
    }


def propsState(mS: ModuleSelector) -> dict[str, Any]:
    """Which nodes carry which prop: ``{"names": [prop, ...], "nodes": [[index, ...], ...]}``."""
    masks = mS._s.propMasks
    return {"names": list(masks), "nodes": [np.flatnonzero(m).tolist() for m in masks.values()]}


def ruleFor(node: ModuleSelector) -> tuple[str, int]:
    """The shortest name chain (``"#2 > #seq > #0"``) that selects exactly this place, and its match count."""
    rec, i = node._s.rec, node._i
    if i == 0:
        return "#root", int((rec.nameIds == rec.nameIndex["root"]).sum())
    chain: list[str] = []
    j = i
    count = 0
    while j:
        chain.insert(0, f"#{rec.names[j]}")
        j = int(rec.parent[j])
        mask = rec.ruleMask(tuple(chain), tuple(">" for _ in chain[1:]))
        count = int(mask.sum()) if mask is not None else 0
        if count == 1:
            break
    else:
        chain.insert(0, "#root")
        mask = rec.ruleMask(tuple(chain), tuple(">" for _ in chain[1:]))
        count = int(mask.sum()) if mask is not None else 0
    return " > ".join(chain), count


def nodeDetails(mS: ModuleSelector, index: int) -> dict[str, Any]:
    """What a view shows for a clicked node: path, a rule selecting it, its class rule, its parameters."""
    rec = mS._s.rec
    node = mS._s.node(index)
    rule, count = ruleFor(node)
    cls = rec.classes[index]
    params = [[name, list(p.shape), int(p.numel())] for name, p in node.directParams.items()]
    module = node.nn
    places = sum(1 for m in rec.mods[1:] if m is module) if index else 1
    return {
        "index": index,
        "path": node.path or "(root)",
        "cls": cls,
        "rule": rule,
        "ruleCount": count,
        "classCount": int((rec.classIds == rec.classIndex[cls]).sum()),
        "params": params,
        "props": list(node.props),
        "places": places,
    }
