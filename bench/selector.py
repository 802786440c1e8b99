"""Selector benchmark: parse + match four CSS rules over a 5,122-module model, ours vs k1lib 1.8.1.

Model: ``nn.TransformerEncoder`` with 512 ``TransformerEncoderLayer``s (d_model 16; 10 modules per
layer). Rows (median of N runs, same process, same model):

- ours, cached records: ``select(model, css)`` when the model's records are cached (the normal case:
  the records are rebuilt only when the model's structure changes). Target: <= 2 ms.
- ours, cold: the same after dropping the cache (one walk of the model + matching).
- k1lib 1.8.1 ``select``: ``k1lib.selector.select(model, css)`` (k1lib walks and matches every time).

It also checks that both select the same places, and prints the size of the tree view's initial
state for this model (target < 1 MB). Run with ``./run bench bench/selector.py`` (k1lib installed) or
``.venv/bin/python bench/selector.py`` (prints "k1lib not installed" for that row).
"""

from __future__ import annotations

import gc
import json
import statistics
import time

import torch
from torch import nn

CSS = """Linear: HookParam
TransformerEncoderLayer > Linear: direct
#layers #self_attn: HookModule
TransformerEncoder LayerNorm: norms"""
RUNS = 50


def makeModel(layers: int = 512) -> nn.Module:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def median(f, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def selected(pairs) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path, props in pairs:
        for p in props:
            out.setdefault(p, set()).add(path)
    return out


def benchOurs(model: nn.Module) -> tuple[float, float, dict[str, set[str]]]:
    from k1widgets import selector

    selector.select(model, CSS)  # warm: builds and caches the records
    warm = median(lambda: selector.select(model, CSS))

    def cold() -> None:
        selector._cache.clear()
        selector.select(model, CSS)

    coldMs = median(cold, 10)
    root = selector.select(model, CSS)
    sel = selected((node.path, node.props) for node in _allPlaces(root))
    return warm, coldMs, sel


def _allPlaces(root):
    out = []
    root.apply(out.append)
    return out


def benchK1lib(model: nn.Module) -> tuple[float, dict[str, set[str]]] | None:
    try:
        import k1lib  # noqa: F401  (k1lib patches torch and numpy on import: only here)
        from k1lib import selector as k1selector
    except ImportError:
        return None
    ms = median(lambda: k1selector.select(model, CSS), 10)
    root = k1selector.select(model, CSS)
    pairs = []

    def walk(node, path: str) -> None:
        pairs.append((path, node.props))
        for name, child in node.named_children():
            walk(child, f"{path}.{name}" if path else name)

    walk(root, "")
    return ms, selected(pairs)


def stateSize(model: nn.Module) -> int:
    from k1widgets.selector import select
    from k1widgets.widgets.tree import TreeView

    view = TreeView(select(model, CSS))
    try:
        state = view.get_state()
        return len(json.dumps(state, default=str).encode())
    finally:
        view.close()


def main() -> None:
    model = makeModel()
    n = sum(1 for _ in model.modules())
    print(f"model: TransformerEncoder, 512 layers, {n} modules; 4 rules; median of {RUNS} (cold: 10) runs")
    gc.collect()
    warm, cold, ours = benchOurs(model)
    print(f"  k1widgets select, cached records : {warm:8.3f} ms   (target <= 2 ms: {'OK' if warm <= 2 else 'MISSED'})")
    print(f"  k1widgets select, cold (walk)    : {cold:8.3f} ms")
    size = stateSize(model)
    verdict = "OK" if size < 1e6 else "MISSED"
    print(f"  tree view initial state          : {size / 1024:8.1f} KiB (target < 1 MB: {verdict})")
    k1 = benchK1lib(model)
    if k1 is None:
        print("  k1lib 1.8.1 select               : k1lib not installed")
        return
    k1ms, theirs = k1
    ratios = f"{k1ms / warm:.0f}x ours cached, {k1ms / cold:.1f}x ours cold"
    print(f"  k1lib 1.8.1 select               : {k1ms:8.3f} ms   ({ratios})")
    same = ours == theirs
    print(
        f"  same places selected as k1lib    : {same} ({', '.join(f'{p}: {len(v)}' for p, v in sorted(ours.items()))})"
    )


if __name__ == "__main__":
    main()
