"""StatsTable: a small live table (a title, optional column headers, rows of text) used by several views."""

from __future__ import annotations

from typing import Any

import traitlets

from k1widgets.widgets.base import View, staticAsset

__all__ = ["StatsTable", "keyValueRows"]


def keyValueRows(values: dict[str, Any]) -> list[list[str]]:
    """``{"last train loss": 0.123456}`` → ``[["last train loss", "0.1235"]]`` (numbers to 4 digits, NaN as "-")."""
    from k1widgets.report.fallback import fmtNumber

    return [[k, fmtNumber(v)] for k, v in values.items()]


class StatsTable(View):
    """A titled table of text cells. Without ``columns`` it reads as label/value pairs.

    Traits (synced): ``title``, ``columns`` (header cells, may be empty), ``rows`` (lists of strings).
    """

    _esm = staticAsset("stats.js")
    _css = staticAsset("stats.css")
    title = traitlets.Unicode("").tag(sync=True)
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    rows: traitlets.List[list[str]] = traitlets.List().tag(sync=True)
