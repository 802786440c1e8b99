"""LossView (``l.Loss``): the latest losses above the live loss plot; EpochLossView (``l.Loss.epoch``).

Both follow the learner's feed: the table and the plot grow while a run trains (a blocking run or a
background one), at most ``settings.live.hz`` times a second, and end on the exact final values.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets

from k1widgets.callbacks.loss import EpochLosses, Loss
from k1widgets.live import Feed
from k1widgets.report.fallback import fmtNumber
from k1widgets.widgets.base import StaticFallback
from k1widgets.widgets.plot import PlotView
from k1widgets.widgets.stats import StatsTable, keyValueRows

__all__ = ["EpochLossView", "LossView"]


class LossView(StaticFallback, ipywidgets.VBox):
    """``l.Loss`` in Jupyter: batch counts and the latest train/valid and epoch losses, then the loss plot.

    Args:
        loss: the `Loss` callback (``l.Loss``); attached to a learner, the view grows live.
    """

    def __init__(self, loss: Loss) -> None:
        if not isinstance(loss, Loss):
            msg = f"LossView shows a k1widgets Loss callback (l.Loss), got {type(loss).__name__}."
            raise TypeError(msg)
        self.loss = loss
        self.stats = StatsTable(title="Loss", rows=keyValueRows(loss.lastValues()))
        self.plotView = PlotView(loss.plot())
        super().__init__(children=[self.stats, self.plotView], layout=ipywidgets.Layout(width="100%"))
        self.add_class("k1w-loss")
        feed = self.feed
        if feed is not None:
            self.stats.follow(feed, self.refreshStats)

    @property
    def feed(self) -> Feed | None:
        """The learner's feed (None for a `Loss` that is not attached)."""
        learner = self.loss.learner
        return learner.feed if learner is not None else None

    def refreshStats(self) -> None:
        """Pushes the latest values (the plot refreshes itself from the same feed)."""
        self.stats.push(rows=keyValueRows(self.loss.lastValues()))

    def releaseFeed(self, feed: Feed) -> list[Callable[[], None]]:
        """Stops following ``feed``; returns the refresh functions of the table and the plot."""
        return [*self.stats.releaseFeed(feed), *self.plotView.control.releaseFeed(feed)]

    def close(self) -> None:
        """Closes the table and the plot."""
        for part in (getattr(self, "stats", None), getattr(self, "plotView", None)):  # None: __init__ failed
            if part is not None:
                part.close()
        super().close()


class EpochLossView(StaticFallback, ipywidgets.HBox):
    """``l.Loss.epoch`` in Jupyter: a table of per-epoch average losses next to their plot.

    Args:
        epochs: ``l.Loss.epoch`` (an `EpochLosses`).
    """

    def __init__(self, epochs: EpochLosses) -> None:
        if not isinstance(epochs, EpochLosses):
            msg = f"EpochLossView shows l.Loss.epoch (EpochLosses), got {type(epochs).__name__}."
            raise TypeError(msg)
        self.epochs = epochs
        self.table = StatsTable(title="Epoch losses", columns=["epoch", "train", "valid"], rows=self._rows())
        self.plotView = PlotView(epochs.plot(feed=epochs.feed))
        self.plotView.layout.flex = "1 1 0%"
        super().__init__(children=[self.table, self.plotView], layout=ipywidgets.Layout(width="100%"))
        self.add_class("k1w-epoch-losses")
        if epochs.feed is not None:
            self.table.follow(epochs.feed, self.refreshTable)

    def _rows(self) -> list[list[str]]:
        t, v = self.epochs.train.tolist(), self.epochs.valid.tolist()
        n = max(len(t), len(v))
        return [
            [str(i), fmtNumber(t[i] if i < len(t) else None), fmtNumber(v[i] if i < len(v) else None)] for i in range(n)
        ]

    def refreshTable(self) -> None:
        """Pushes the table (the plot refreshes itself from the same feed)."""
        self.table.push(rows=self._rows())

    def releaseFeed(self, feed: Feed) -> list[Callable[[], None]]:
        """Stops following ``feed``; returns the refresh functions of the table and the plot."""
        return [*self.table.releaseFeed(feed), *self.plotView.control.releaseFeed(feed)]

    def close(self) -> None:
        """Closes the table and the plot."""
        for part in (getattr(self, "table", None), getattr(self, "plotView", None)):  # None: __init__ failed
            if part is not None:
                part.close()
        super().close()
