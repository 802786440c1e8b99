"""What the tree view shows of a `ModuleSelector`, as plain data: pure functions, testable without a browser.

`treeState` (structure and parameter counts), `propsState` (which nodes carry which prop),
`ruleFor` (the shortest name chain selecting one place), `nodeDetails` (a clicked node's panel) and
`hookedState` (which places hold a module the hook callbacks record).
`k1widgets.widgets.tree.TreeView` stores their output in its traitlets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from k1widgets.selector.tree import ModuleSelector

__all__ = ["hookedState", "nodeDetails", "propsState", "ruleFor", "treeState"]


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


def hookedState(mS: ModuleSelector, groups: dict[str, list[Any]]) -> dict[str, list[int]]:
    """Node indices of every place holding one of the given modules, per group (by identity).

    Args:
        mS: any node of the tree.
        groups: a name (``"module"``, ``"param"``) → the modules recorded under it (`HookModule`'s
            modules, the owners of `HookParam`'s parameters).
    """
    rec = mS._s.rec
    out: dict[str, list[int]] = {}
    for name, modules in groups.items():
        ids = {id(m) for m in modules}
        out[name] = [j for j in range(rec.n) if id(rec.module(j)) in ids]
    return out
