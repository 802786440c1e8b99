"""The cached per-model records a CSS selection matches against, and the matching itself.

`_records` walks a model once into `_Records` (per place, pre-order: module, name, class, parent,
subtree end) and caches them weakly per model; a torch registration hook and a length check on every
container tell when the structure changed and the walk must be re-done. `_Selection` matches parsed
`Rule`s against the records with one vectorised pass per rule, so re-selecting a 5,000-module model
takes about a millisecond, and explains each rule that matches nothing, naming the closest real class
or name. The `ModuleSelector` tree of `k1widgets.selector` is a view onto a `_Selection`.
"""

from __future__ import annotations

import difflib
import threading
import weakref
from typing import Any

import numpy as np
import torch
from torch import nn

from k1widgets.selector.css import DEFAULT_PROP, Rule

__all__: list[str] = []  # internal to k1widgets.selector and its views

_MAX_NODES = 2_000_000


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
    """What one `select` call matched: records, rules, prop masks, and a warning per rule that matched nothing."""

    def __init__(self, rec: _Records, css: str, rules: list[Rule]) -> None:
        self.rec, self.css, self.rules = rec, css, rules
        self.root = rec.module(0)  # holds the model alive as long as the tree is
        self.propMasks: dict[str, np.ndarray] = {}
        self.warnings: list[str] = []
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

    def props(self, i: int) -> tuple[str, ...]:
        return tuple(p for p, m in self.propMasks.items() if m[i])

    def has(self, i: int, prop: str) -> bool:
        mask = self.propMasks.get(prop)
        return bool((mask is not None and mask[i]) or (self.allMask is not None and self.allMask[i]))
