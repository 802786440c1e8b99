"""Static HTML (and SVG) pictures of the learner, callbacks, data and losses: the display fallbacks.

A widget needs a live kernel; an exported notebook (nbconvert), GitHub or a terminal-less viewer
shows the ``text/html`` entry of the display bundle instead. These functions build that HTML from
the plain data of `k1widgets.report.summary` and the SVG snapshots of `k1widgets.plot.svg`: inline
styles only (exports carry no stylesheet), every text escaped, one root ``k1w-static`` element.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "barsSvg",
    "callbacksHtml",
    "dataHtml",
    "epochLossHtml",
    "fmtNumber",
    "fmtSeconds",
    "learnerHtml",
    "loaderHtml",
    "lossHtml",
    "timingsHtml",
]

_ROOT = (
    'class="k1w-static {cls}" style="font-family: sans-serif; font-size: 12px; color: #222; '
    'display: flex; flex-direction: column; align-items: flex-start; gap: 8px; max-width: 980px"'
)
_TABLE = 'style="border-collapse: collapse; font-size: 12px"'
_TD = 'style="padding: 2px 10px 2px 0; vertical-align: top; text-align: left"'
_TH = 'style="padding: 2px 10px 2px 0; text-align: left; color: #555; font-weight: 600"'
_H = 'style="font-weight: 600; margin: 4px 0 0 0"'
_MONO = "font-family: monospace"


def _e(x: Any) -> str:
    return html.escape(str(x))


def fmtSeconds(s: float) -> str:
    """``1.234 s``, ``12.3 ms``, ``45.6 us``."""
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"


def fmtNumber(v: Any) -> str:
    """Numbers for tables: 4 significant digits, thousands separators for counts, "-" for None/NaN."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return "-" if not math.isfinite(v) else f"{v:.4g}"
    if isinstance(v, list | tuple):
        return "(" + ", ".join(fmtNumber(x) for x in v) + ")"
    return str(v)


def _root(cls: str, body: str) -> str:
    return f"<div {_ROOT.format(cls=cls)}>{body}</div>"


def _keyValues(pairs: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th {_TH}>{_e(k)}</th><td {_TD}>{_e(v)}</td></tr>" for k, v in pairs)
    return f"<table {_TABLE}>{rows}</table>"


def _grid(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, mono: bool = False) -> str:
    head = "".join(f"<th {_TH}>{_e(c)}</th>" for c in columns)
    style = f' style="padding: 2px 10px 2px 0; {_MONO}"' if mono else f" {_TD}"
    body = "".join("<tr>" + "".join(f"<td{style}>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table {_TABLE}><tr>{head}</tr>{body}</table>"


def _section(title: str, body: str) -> str:
    return f"<div><div {_H}>{_e(title)}</div>{body}</div>"


def barsSvg(items: Sequence[tuple[str, float]], *, width: int = 460, unit: str = "s") -> str:
    """A horizontal bar chart: one labelled bar per ``(label, value)``, longest = full width."""
    if not items:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    labelW, rowH, valueW = 120, 18, 80
    top = max(v for _, v in items) or 1.0
    barW = width - labelW - valueW
    parts = []
    for i, (label, v) in enumerate(items):
        y = i * rowH
        w = max(1.0, barW * v / top) if v > 0 else 0.0
        text = fmtSeconds(v) if unit == "s" else fmtNumber(v)
        parts.append(
            f'<text x="{labelW - 6}" y="{y + 13}" text-anchor="end">{_e(label)}</text>'
            f'<rect x="{labelW}" y="{y + 3}" width="{w:.1f}" height="{rowH - 6}" fill="#1f77b4"/>'
            f'<text x="{labelW + w + 4:.1f}" y="{y + 13}">{_e(text)}</text>'
        )
    h = rowH * len(items)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
        f'font-family="sans-serif" font-size="11">{"".join(parts)}</svg>'
    )


def timingsHtml(timings: Sequence[tuple[str, float]]) -> str:
    """Time per checkpoint as a bar chart, slowest first (``timings``: ``(checkpoint, seconds)`` pairs)."""
    if not timings:
        return _root("k1w-timings-static", "<div>Timings: nothing timed yet</div>")
    total = sum(v for _, v in timings)
    head = f"<div {_H}>Time per checkpoint (total {_e(fmtSeconds(total))})</div>"
    return _root("k1w-timings-static", head + barsSvg(timings))


def callbacksHtml(rows: Sequence[dict[str, Any]], timings: Sequence[tuple[str, float]]) -> str:
    """The callbacks in dispatch order (name, class, order, checkpoints, suspended) and the timing bars."""
    table = _grid(
        ["#", "name", "class", "order", "checkpoints", "state"],
        [
            (
                i,
                r["name"],
                r["cls"],
                fmtNumber(r["order"]),
                ", ".join(r["checkpoints"]) or "-",
                "suspended" if r["suspended"] else "active",
            )
            for i, r in enumerate(rows)
        ],
    )
    body = _section(f"Callbacks ({len(rows)}, in dispatch order)", table)
    if timings:
        body += _section("Time per checkpoint", barsSvg(timings))
    return _root("k1w-callbacks-static", body)


def _batchText(batch: Sequence[dict[str, Any]]) -> str:
    parts = []
    for b in batch:
        shape = "×".join(str(s) for s in b.get("shape", [])) or "scalar"
        parts.append(f"{b['name']}: {shape} {b.get('dtype', '')}".strip())
    return "; ".join(parts) or "-"


def loaderHtml(summary: dict[str, Any], *, title: str = "DataLoader") -> str:
    """A loader's batch count, batch size, a batch's shapes and dtypes, and its first samples."""
    return _root("k1w-data-static", _loaderBody(summary, title))


def _loaderBody(summary: dict[str, Any], title: str) -> str:
    if not summary:
        return _section(title, "<div>(none)</div>")
    pairs = [
        ("batches", fmtNumber(summary.get("batches"))),
        ("batch size", fmtNumber(summary.get("batchSize"))),
        ("samples", fmtNumber(summary.get("samples"))),
        ("a batch", _batchText(summary.get("batch", []))),
    ]
    body = _keyValues(pairs)
    sample = summary.get("sample") or {}
    if sample.get("rows"):
        note = f"first {len(sample['rows'])} of {sample['total']} samples"
        body += f"<div style='color: #555'>{_e(note)}</div>" + _grid(sample["columns"], sample["rows"], mono=True)
    elif summary.get("note"):
        body += f"<div style='color: #555'>{_e(summary['note'])}</div>"
    return _section(title, body)


def dataHtml(summary: dict[str, Any]) -> str:
    """``Data``: its train and valid loaders side by side."""
    cols = "".join(
        f"<div style='flex: 1 1 0'>{_loaderBody(summary.get(k, {}), f'.{k}')}</div>" for k in ("train", "valid")
    )
    return _root("k1w-data-static", f"<div style='display: flex; gap: 24px'>{cols}</div>")


def lossHtml(last: dict[str, Any], svg: str) -> str:
    """``l.Loss``: the last losses and a snapshot of the loss plot."""
    pairs = [(k, fmtNumber(v)) for k, v in last.items()]
    return _root("k1w-loss-static", _keyValues(pairs) + svg)


def epochLossHtml(train: Sequence[float], valid: Sequence[float], svg: str) -> str:
    """``l.Loss.epoch``: a table of per-epoch average losses and their plot."""
    n = max(len(train), len(valid))
    rows = [
        (i, fmtNumber(train[i] if i < len(train) else None), fmtNumber(valid[i] if i < len(valid) else None))
        for i in range(n)
    ]
    table = _grid(["epoch", "train", "valid"], rows) if rows else "<div>no epoch finished yet</div>"
    return _root(
        "k1w-epoch-static", f"<div style='display: flex; gap: 24px; align-items: flex-start'>{table}{svg}</div>"
    )


def learnerHtml(summary: dict[str, Any], *, lossSvg: str = "", callbacks: Sequence[str] = ()) -> str:
    """The dashboard's header (model, data, optimizer, loss function, status) and the loss plot."""
    model, opt, data = summary.get("model") or {}, summary.get("opt") or {}, summary.get("data") or {}
    cards = []
    if model:
        cards.append(
            _section(
                f"Model: {model['class']}",
                _keyValues(
                    [
                        ("parameters", f"{fmtNumber(model['parameters'])} ({fmtNumber(model['trainable'])} trainable)"),
                        ("device / dtype", f"{model['device']} / {model['dtype']}"),
                        ("modules", fmtNumber(model["modules"])),
                    ]
                ),
            )
        )
    if data:
        pairs = []
        for k in ("train", "valid"):
            d = data.get(k) or {}
            pairs.append((k, f"{fmtNumber(d.get('batches'))} batches; {_batchText(d.get('batch', []))}"))
        cards.append(_section("Data", _keyValues(pairs)))
    if opt:
        rows = []
        for i, g in enumerate(opt.get("groups", [])):
            rows.append((f"group {i}", ", ".join(f"{k}={fmtNumber(v)}" for k, v in g["values"].items())))
        cards.append(_section(f"Optimizer: {opt['class']}", _keyValues(rows)))
    status = summary.get("status", "idle")
    message = summary.get("message") or ""
    cards.append(
        _section(
            "Run",
            _keyValues(
                [
                    ("loss function", summary.get("lossF", "-")),
                    ("status", f"{status}{': ' + message if message else ''}"),
                    ("progress", f"{summary.get('progress', 0) * 100:.0f}%"),
                ]
            ),
        )
    )
    missing = summary.get("missing") or []
    head = "".join(f"<div style='flex: 1 1 220px'>{c}</div>" for c in cards)
    body = f"<div style='display: flex; flex-wrap: wrap; gap: 8px 24px'>{head}</div>"
    if missing:
        body += f"<div style='color: #b00'>Not set yet: {_e(', '.join('l.' + m for m in missing))}</div>"
    if callbacks:
        body += _section("Callbacks", f"<div>{_e(', '.join(callbacks))}</div>")
    if lossSvg:
        body += _section("Loss", lossSvg)
    return _root("k1w-dashboard-static", body)
