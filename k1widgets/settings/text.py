"""How a `Settings` reads as text: redaction, cut values, close-match hints, the repr and the HTML table.

Plain functions of strings and of the plain data `settingsform.settingsTree` builds; nothing here
imports `k1widgets.settings`, so `Settings` can use them while its module is still loading. The
``Settings`` methods ``__repr__`` and ``_repr_html_`` gather the rows and call `_alignedText` and
`_htmlTable`.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Sequence
from typing import Any

__all__: list[str] = []  # internal to k1widgets.settings and its views

REDACTED = "<redacted>"


def _limitChars(s: str, n: int) -> str:
    """``s`` cut to at most ``n`` characters, ending in ``...`` when cut (k1lib's ``limitChars``)."""
    if len(s) <= n:
        return s
    return s[: max(n - 3, 0)] + "..."


def _oneLine(s: str) -> str:
    return s.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def _closeHint(name: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _valueText(v: Any, cutoff: int | None = 200) -> str:
    if isinstance(v, float):
        return repr(v)
    text = str(v)
    return text if cutoff is None else _limitChars(text, cutoff)


def _alignedText(rows: list[tuple[str, str, str]]) -> str:
    """The seed's aligned text of ``(key = value, env, docs)`` rows, under a ``Settings:`` line."""
    if not rows:
        return "Settings:"
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    lines = []
    for a, b, c in rows:
        line = f"{a.ljust(w1)} {b.ljust(w2)} {c}" if w2 else f"{a.ljust(w1)} {c}"
        lines.append(line.rstrip())
    return "Settings:\n" + "\n".join(lines)


def _htmlTable(tree: list[dict[str, Any]]) -> str:
    """A static HTML table of a `settingsTree` (the fallback for exports and GitHub); sub-settings indented."""
    rows = []

    def walk(nodes: list[dict[str, Any]], depth: int) -> None:
        for node in nodes:
            pad = f"padding-left:{0.4 + 1.2 * depth:.1f}em"
            env = f"<code>{html.escape(node['env'])}</code>" if node["env"] else ""
            value = "" if node["kind"] == "settings" else html.escape(node["text"])
            key = html.escape(node["key"])
            key = f"<b>{key}</b>" if node["kind"] == "settings" else key
            rows.append(
                f'<tr><td style="{pad};text-align:left">{key}</td>'
                f'<td style="text-align:left"><code>{value}</code></td>'
                f'<td style="text-align:left">{env}</td>'
                f'<td style="text-align:left">{html.escape(node["docs"])}</td></tr>'
            )
            if node["kind"] == "settings":
                walk(node["children"], depth + 1)

    walk(tree, 0)
    head = "<tr><th>key</th><th>value</th><th>env</th><th>docs</th></tr>"
    return f'<table class="k1w-settings-static">{head}{"".join(rows)}</table>'
