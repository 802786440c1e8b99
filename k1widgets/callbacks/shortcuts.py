"""``cbs.withX(...)``: a shortcut for every bundled callback class, found in a registry.

Every `Callback` subclass defined inside k1widgets joins `REGISTRY` when its class statement runs
(`Callback.__init_subclass__`), so `Callbacks` never imports the callback modules: ``cbs.withLoss()``
looks ``Loss`` up, builds it with the arguments given, appends it and returns the `Callbacks`, so calls
chain: ``l.cbs.withModifyBatch(f).withDType(torch.float32)``. A ``name=`` keyword names the callback.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from k1widgets.callbacks.callback import Callback, Callbacks

__all__ = ["REGISTRY", "register", "shortcut", "shortcutNames"]

REGISTRY: dict[str, type[Callback]] = {}
"""Bundled callback classes by class name (the first definition of a name wins)."""


def register(cls: type[Callback]) -> None:
    """Adds a bundled callback class to the registry (called by `Callback.__init_subclass__`)."""
    if cls.__module__.startswith("k1widgets.") and not cls.__name__.startswith("_"):
        REGISTRY.setdefault(cls.__name__, cls)


def shortcutNames() -> list[str]:
    """``withX`` for every registered class, sorted."""
    return sorted(f"with{name}" for name in REGISTRY)


def shortcut(cbs: Callbacks, attr: str) -> Any:
    """The bound ``cbs.withX`` for ``attr == "withX"``, or None when no bundled class X exists."""
    if not attr.startswith("with"):
        return None
    cls = REGISTRY.get(attr[4:])
    if cls is None:
        return None

    def withX(*args: Any, name: str | None = None, **kwargs: Any) -> Callbacks:
        return cbs.append(cls(*args, **kwargs), name)

    withX.__name__ = withX.__qualname__ = attr
    first = (inspect.getdoc(cls) or "").split("\n", 1)[0]
    withX.__doc__ = f"Adds a `{cls.__name__}` built with these arguments; returns the Callbacks.\n\n{first}"
    params = [p for p in inspect.signature(cls).parameters.values() if p.kind is not p.VAR_KEYWORD]
    params.append(inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None))
    withX.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return withX
