"""CSS module selection: the `ModuleSelector` tree that `select` builds from a model and CSS text.

``l.css = "..."`` (or ``select(model, css)``) gives every module of a model a set of *props*; callbacks
ask the tree which modules and parameters carry theirs (``HookModule``, ``HookParam``...).

The grammar and `parse` live in `k1widgets.selector.css` (``a, b: p`` applies ``p`` to both selectors;
props from several statements accumulate; bad syntax raises `SelectorSyntaxError` with a caret under
the problem); the cached model records and the vectorised matching in `k1widgets.selector.index`;
the view data (`treeState`, `nodeDetails`...) in `k1widgets.selector.state`. `k1widgets.selector`
re-exports them all.

A node answers ``prop in node`` for its own props and for ``all``. When a rule matches nothing, or
names a class or a name the model does not have, `select` reports it with `SelectorWarning` naming
the closest real class or name. Nodes mirror the model *per place*: a module instance used at two
places is two nodes, and the module-level answers (`ModuleSelector.named_modules`,
`named_parameters`) map nodes to modules by identity, de-duplicated as torch does.
"""

from __future__ import annotations

import contextlib
import difflib
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from k1widgets import display
from k1widgets.selector.css import Rule, parse
from k1widgets.selector.index import _cache as _cache  # bench/selector.py clears it for cold timings
from k1widgets.selector.index import _Records, _records, _Selection
from k1widgets.userframe import userStacklevel

__all__ = ["ModuleSelector", "SelectorWarning", "UnknownModuleError", "quietWarnings", "select"]


# ---------------------------------------------------------------------------------------------- errors
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


# ---------------------------------------------------------------------------------------------- selection
class _Tree(_Selection):
    """A `_Selection` with its node objects, the learner it belongs to, and its warnings emitted once."""

    def __init__(self, rec: _Records, css: str, rules: list[Rule]) -> None:
        super().__init__(rec, css, rules)
        self.warned = False
        self.learnerRef: Callable[[], Any] | None = None
        self.nodes: list[ModuleSelector | None] = [None] * rec.n

    def emitWarnings(self) -> None:
        if self.warned or getattr(_quiet, "on", False):
            return
        self.warned = True
        for w in self.warnings:
            warnings.warn(w, SelectorWarning, stacklevel=userStacklevel())

    def node(self, i: int) -> ModuleSelector:
        node = self.nodes[i]
        if node is None:
            node = self.nodes[i] = ModuleSelector(self, i)
        return node


def select(model: nn.Module, css: str = "*", *, warn: bool = True) -> ModuleSelector:
    """Builds the `ModuleSelector` tree of ``model`` with the props that ``css`` assigns.

    Args:
        model: any `torch.nn.Module`.
        css: selector rules (grammar in `k1widgets.selector.css`); the default ``"*"`` gives every module ``all``.
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
    sel = _Tree(_records(model), css, rules)
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

    def __init__(self, selection: _Tree, index: int) -> None:
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

    def named_parameters(self, prop: str | None = None) -> Iterator[tuple[str, torch.nn.Parameter]]:
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

    def parameters(self, prop: str | None = None) -> Iterator[torch.nn.Parameter]:
        """Each parameter of `named_parameters`."""
        return (p for _, p in self.named_parameters(prop))

    @property
    def directParams(self) -> dict[str, torch.nn.Parameter]:
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
        rows = []
        for j in range(i, int(rec.end[i])):
            indent = "    " * (int(rec.depth[j]) - base)
            rows.append((f"{indent}{rec.names[j]}: {rec.classes[j]}", ", ".join(s.props(j))))
        width = max(len(head) for head, _ in rows)  # the props line up in one column
        return "\n".join(["ModuleSelector:", *(f"{head.ljust(width)}    {props}".rstrip() for head, props in rows)])

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
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The tree view in a widget front-end, plus the text tree (and HTML) everywhere."""
        return display.mimebundle(self, include, exclude)
