"""DataView: what ``l.data`` and ``l.data.train`` show in Jupyter: counts, shapes, dtypes and samples.

One card per loader (two for a `Data`): batch count, batch size, sample count, each batch item's
shape and dtype, and a table of the first samples of a batch. ◀ / ▶ step through the batches of
loaders that can be iterated again (a one-shot iterator is never consumed by the view).
"""

from __future__ import annotations

import threading
from typing import Any

import traitlets

from k1widgets.data import Data
from k1widgets.report import loaderSummary, nthBatch
from k1widgets.widgets.base import View, staticAsset

__all__ = ["DataView"]


class DataView(View):
    """A view of a `Data` (train and valid cards) or of one `DataLoader`.

    Traits (synced): ``loaders`` (per card: ``title`` and the `loaderSummary` fields, plus ``index``,
    the batch shown). Messages from the browser: ``{"action": "batch", "loader": i, "index": n}``.
    """

    _esm = staticAsset("data.js")
    _css = staticAsset("data.css")
    loaders: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)

    def __init__(self, data: Any) -> None:
        if isinstance(data, Data):
            self._sources = [(".train", data.train), (".valid", data.valid)]
        else:
            self._sources = [("DataLoader", data)]
        self.data = data
        self._lock = threading.Lock()
        super().__init__(loaders=[self._card(i, 0) for i in range(len(self._sources))])
        self.on_msg(self._onMsg)

    def _card(self, i: int, index: int) -> dict[str, Any]:
        title, loader = self._sources[i]
        batch = nthBatch(loader, index) if index > 0 else None
        card = loaderSummary(loader, batch=batch) if batch is not None else loaderSummary(loader)
        if batch is None:
            index = 0
        card.update(title=title, index=index, canStep=card.get("sample", {}).get("total", 0) > 0)
        return card

    def show(self, loader: int, index: int) -> None:
        """Shows batch ``index`` of card ``loader`` (what ◀ / ▶ do); an index past the end is clamped."""
        if not 0 <= loader < len(self._sources):
            return
        count = self.loaders[loader].get("batches")
        index = max(0, int(index))
        if isinstance(count, int):
            index = min(index, max(count - 1, 0))
        with self._lock:
            cards = list(self.loaders)
            cards[loader] = self._card(loader, index)
            self.push(loaders=cards)

    def _onMsg(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("action") == "batch":
            loader, index = content.get("loader"), content.get("index")
            if isinstance(loader, int) and isinstance(index, int):
                self.show(loader, index)
