"""TreeView: the live view of a `ModuleSelector`: a collapsible module tree with a CSS box.

One state, two views: for ``l.moduleSelector`` the state is ``l.css``. Typing in the box sets
``l.css`` (after the browser's debounce, and only when it parses); setting ``l.css`` from Python
updates the box and the highlights. For a tree from ``select(model, css)`` (no learner) the box
re-selects that model locally; `TreeView.selector` is the current tree.

Editing during a run is safe: the box only stores the new CSS; callbacks read ``l.moduleSelector``
at ``startRun``, so hooks follow the new selection from the next run on (the view says so).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import traitlets

from k1widgets.selector import ModuleSelector, quietWarnings, select
from k1widgets.selector.css import SelectorSyntaxError, parse
from k1widgets.selector.state import hookedState, nodeDetails, propsState, treeState
from k1widgets.widgets.base import View, staticAsset

__all__ = ["TreeView"]

_RUN_NOTE = "The learner is running: hooks use the new CSS from the next run on."


class TreeView(View):
    """Collapsible module tree with props as coloured tags, a live CSS box and a filter box.

    Args:
        selector: any node of a tree from `k1widgets.selector.select` or ``l.moduleSelector``; the
            view shows the whole tree and opens it at that node.

    Synced traits (front-end contract): ``structure`` (columnar tree, see `treeState`), ``props``
    (prop -> node indices), ``cssText`` (the box, both ways), ``error`` (parse error with caret, or
    {}), ``warnings`` (rules that match nothing), ``note``, ``focus`` (clicked node, set by the
    browser), ``details`` (path, a rule selecting it, parameters; set by Python) and ``hooked``
    (``{"module": [...], "param": [...]}``: the places whose module the learner's `HookModule`
    records, or whose parameters its `HookParam` records; marked in the tree).
    """

    _esm = staticAsset("tree.js")
    _css = staticAsset("tree.css")

    structure = traitlets.Dict().tag(sync=True)
    props = traitlets.Dict().tag(sync=True)
    cssText = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Dict().tag(sync=True)
    warnings = traitlets.List(traitlets.Unicode()).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    focus = traitlets.Int(-1).tag(sync=True)
    details = traitlets.Dict().tag(sync=True)
    hooked = traitlets.Dict().tag(sync=True)

    def __init__(self, selector: ModuleSelector, **kwargs: Any) -> None:
        if not isinstance(selector, ModuleSelector):
            msg = (
                f"TreeView needs a ModuleSelector (from select(model, css) or l.moduleSelector), got {selector!r:.80}."
            )
            raise TypeError(msg)
        root = selector.root
        self._lock = threading.RLock()
        self._pushing = threading.local()  # set while this thread pushes: our own trait echoes are ignored
        self._sel = root
        learner = root.learner
        self._learnerRef = weakref.ref(learner) if learner is not None else None
        super().__init__(
            structure=treeState(root),
            props=propsState(root),
            cssText=root.css,
            warnings=root.warnings,
            focus=selector.idx if selector.idx else -1,
            **kwargs,
        )
        self.staticSource = selector
        if selector.idx:
            self.details = nodeDetails(root, selector.idx)
        self._hookKey: Any = None
        self._pushHooked()
        self.observe(self._onCssText, "cssText")
        self.observe(self._onFocus, "focus")
        if learner is not None:
            self.follow(learner.feed, self._refresh)

    # ------------------------------------------------------------------ state
    @property
    def selector(self) -> ModuleSelector:
        """The tree the view shows now (it follows ``l.css`` or the box)."""
        return self._sel

    @property
    def learner(self) -> Any:
        """The learner whose ``l.css`` this view edits, or None."""
        return self._learnerRef() if self._learnerRef else None

    def _show(self, sel: ModuleSelector, *, cssText: str | None = None) -> None:
        """Pushes a new selection (and the structure, when the model changed) in one message."""
        old = self._sel
        self._sel = sel
        traits: dict[str, Any] = {"props": propsState(sel), "warnings": sel.warnings, "error": {}}
        if sel.nn is not old.nn or sel._s.rec is not old._s.rec:
            traits["structure"] = treeState(sel)
            traits["focus"] = -1
            traits["details"] = {}
        elif self.focus >= 0:
            traits["details"] = nodeDetails(sel, self.focus)
        if cssText is not None:
            traits["cssText"] = cssText
        learner = self.learner
        traits["note"] = _RUN_NOTE if learner is not None and learner.status in ("running", "paused") else ""
        self._pushing.on = True
        try:
            self.push(**traits)
        finally:
            self._pushing.on = False

    def _hookCallbacks(self) -> list[Any]:
        learner = self.learner
        if learner is None:
            return []
        return [cb for cb in learner.cbs if callable(getattr(cb, "hookedModules", None))]

    def _pushHooked(self, force: bool = False) -> None:
        """Marks the places the learner's hook callbacks record (recomputed when their selection changes)."""
        cbs = self._hookCallbacks()
        key = (id(self._sel._s), tuple((id(cb), id(getattr(cb, "history", None))) for cb in cbs))
        if key == self._hookKey and not force:
            return
        self._hookKey = key
        groups: dict[str, list[Any]] = {}
        for cb in cbs:
            groups.setdefault(getattr(cb, "kind", "module"), []).extend(cb.hookedModules())
        self.push(hooked=hookedState(self._sel, groups) if groups else {})

    # ------------------------------------------------------------------ browser -> Python
    def _onCssText(self, change: dict[str, Any]) -> None:
        text = change["new"]
        if getattr(self._pushing, "on", False):
            return
        with self._lock:
            if text == self._sel.css:
                self.push(error={})
                return
            try:
                parse(text)
            except SelectorSyntaxError as e:
                self.push(
                    error={
                        "message": str(e),
                        "reason": e.reason,
                        "statement": e.statement,
                        "position": e.position,
                        "offset": e.offset,
                        "lineno": e.lineno,
                    }
                )
                return
            learner = self.learner
            with quietWarnings():  # the view lists the warnings itself
                if learner is not None and learner.model is self._sel.nn:
                    learner.css = text  # the one state; its feed flush may already have shown it
                    if self._sel.css == text and self._sel.nn is learner.model:
                        return
                    sel = learner.moduleSelector
                else:
                    sel = select(self._sel.nn, text, warn=False)
            self._show(sel)

    def _onFocus(self, change: dict[str, Any]) -> None:
        index = change["new"]
        if getattr(self._pushing, "on", False):
            return
        if 0 <= index < self._sel._s.rec.n:
            self.push(details=nodeDetails(self._sel, index))
        else:
            self.push(details={})

    # ------------------------------------------------------------------ Python -> browser
    def _refresh(self) -> None:
        """Feed callback (any thread, often the training loop's): cheap unless l.css or l.model changed."""
        learner = self.learner
        if learner is None:
            return
        if learner.css == self._sel.css and learner.model is self._sel.nn:
            note = _RUN_NOTE if self.note and learner.status in ("running", "paused") else ""
            if note != self.note:
                self.push(note=note)
            self._pushHooked()
            return
        if learner.model is None:
            return
        with self._lock, quietWarnings():
            css = learner.css
            sel = learner.moduleSelector
            self._show(sel, cssText=css)
            self._pushHooked(force=True)
