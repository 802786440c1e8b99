"""FinderView: the ParamFinder's curve (bqplot, log x axis), the suggestion, a range slider, "Use this lr".

- The fixed-batch loss against the swept value on a log axis (log y too when the loss is positive).
- A dashed red line at the suggestion and a green line at the value the ``lr`` slider holds (it starts
  at the suggestion); the title names both.
- A range slider (in decades) zooms the x axis.
- **Use this lr** sets the slider's value as that hyper-parameter of every optimizer param group through
  ``learner.setParam``: thread-safe, applied at once when the learner is idle and at the next batch
  boundary while it trains.
"""

from __future__ import annotations

import math
from typing import Any

import bqplot
import ipywidgets
import numpy as np

from k1widgets.plot.svg import COLORS, logTicks
from k1widgets.widgets.base import StaticFallback

__all__ = ["FinderView"]


class FinderView(StaticFallback, ipywidgets.VBox):
    """The view of a `k1widgets.callbacks.FinderPlot` (``l.ParamFinder.plot()`` in Jupyter).

    Args:
        plot: the finder's plot (its slice decides the part of the sweep shown).
    """

    def __init__(self, plot: Any) -> None:
        self.plot, self.finder = plot, plot.finder
        param = self.finder.param
        line = plot.data()[0][0]
        x = np.asarray(line.x if line.x is not None else line.xAt(np.arange(len(line.y))), dtype=np.float64)
        y = np.asarray(line.y, dtype=np.float64)
        ok = np.isfinite(y) & (x > 0)
        x, y = x[ok], y[ok]
        self.suggestion = plot.suggestion
        lo, hi = (float(x[0]), float(x[-1])) if len(x) > 1 else (1e-6, 1.0)
        logY = plot.panelOptions(0)["yscale"] == "log"
        self.xs = bqplot.LogScale(min=lo, max=hi)
        self.ys = bqplot.LogScale() if logY else bqplot.LinearScale()
        unit = bqplot.LinearScale(min=0.0, max=1.0)
        self.curve = bqplot.Lines(x=x, y=y, scales={"x": self.xs, "y": self.ys}, colors=[COLORS[0]], stroke_width=1.8)
        s = self.suggestion if self.suggestion is not None and math.isfinite(self.suggestion) else math.sqrt(lo * hi)
        vertical = {"x": np.array([s, s]), "y": np.array([0.0, 1.0]), "scales": {"x": self.xs, "y": unit}}
        self.suggested = bqplot.Lines(**vertical, colors=["#d62728"], line_style="dashed", stroke_width=1.5)
        self.chosen = bqplot.Lines(**vertical, colors=["#2ca02c"], stroke_width=2)
        self.xAxis = bqplot.Axis(scale=self.xs, label=param, tick_format=".0e", tick_values=np.array(logTicks(lo, hi)))
        yTicks = {"tick_values": np.array(logTicks(float(y.min()), float(y.max())))} if logY and len(y) else {}
        self.yAxis = bqplot.Axis(scale=self.ys, side="left", label="fixed-batch loss", tick_format=".3~g", **yTicks)
        self.fig = bqplot.Figure(
            marks=[self.curve, self.chosen, self.suggested],  # the dashed suggestion on top
            axes=[self.xAxis, self.yAxis],
            title=self._title(s),
            fig_margin={"top": 40, "bottom": 44, "left": 70, "right": 20},
            animation_duration=0,
            layout=ipywidgets.Layout(width="100%", height="320px"),
        )
        self.fig.add_class("k1w-finder-figure")
        e0, e1 = math.log10(lo), math.log10(hi)
        self.window = ipywidgets.FloatRangeSlider(
            value=[e0, e1], min=e0, max=e1, step=0.01, readout=False, description="range", continuous_update=True
        )
        self.window.add_class("k1w-finder-window")
        self.windowLabel = ipywidgets.Label(self._windowText())
        self.value = ipywidgets.FloatLogSlider(
            value=s, base=10, min=e0, max=e1, step=0.01, description=param, readout_format=".2e"
        )
        self.value.add_class("k1w-finder-value")
        self.chosenValue = s  # exact: the slider's front end rounds to its step, which is not a choice
        self.button = ipywidgets.Button(description=f"Use this {param}", button_style="primary", icon="check")
        self.button.add_class("k1w-finder-use")
        self.status = ipywidgets.HTML(self._statusText())
        self.status.add_class("k1w-finder-status")
        self.window.observe(self._onWindow, "value")
        self.value.observe(self._onValue, "value")
        self.button.on_click(self._onUse)
        rows = [
            self.fig,
            ipywidgets.HBox([self.window, self.windowLabel]),
            ipywidgets.HBox([self.value, self.button]),
            self.status,
        ]
        super().__init__(children=rows, layout=ipywidgets.Layout(width="100%", max_width="760px"))
        self.add_class("k1w-finder")

    def _title(self, chosen: float) -> str:
        s = self.suggestion
        sug = f"suggested {s:.3g}" if s is not None and math.isfinite(s) else "no suggestion"
        return f"ParamFinder: {self.finder.param}, {sug} (red), chosen {chosen:.3g} (green)"

    def _windowText(self) -> str:
        return f"{10 ** self.window.value[0]:.2e} … {10 ** self.window.value[1]:.2e}"

    def _statusText(self, note: str = "") -> str:
        f = self.finder
        head = f"Tried {f.tried} values; stopped: {f.stopReason}." if f.stopReason else ""
        return f'<span class="k1w-finder-note">{note or head}</span>'

    # ------------------------------------------------------------------ events (any thread)
    def _onWindow(self, change: dict[str, Any]) -> None:
        a, b = change["new"]
        if b <= a:
            b = a + 0.01
        with self.xs.hold_sync():
            self.xs.min, self.xs.max = 10.0**a, 10.0**b
        self.xAxis.tick_values = np.array(logTicks(10.0**a, 10.0**b))
        self.windowLabel.value = self._windowText()

    def _onValue(self, change: dict[str, Any]) -> None:
        v = float(change["new"])
        if abs(math.log10(v) - math.log10(self.chosenValue)) <= self.value.step / 2 + 1e-9:
            return  # the slider snapped to its step: keep the exact value
        self.chosenValue = v
        self.chosen.x = np.array([v, v])
        self.fig.title = self._title(v)

    def _onUse(self, button: Any = None) -> None:
        """Sets the chosen value on the optimizer through the learner (queued if it is training)."""
        v = float(self.chosenValue)
        learner = self.finder.learner
        try:
            self.finder.use(v)
        except Exception as e:  # shown in the view: a button click has no cell to raise into
            self.status.value = self._statusText(f"Could not set {self.finder.param}: {e}")
            return
        groups = len(learner.opt.param_groups) if learner is not None and learner.opt is not None else 0
        when = "at the next batch (the learner is training)" if learner is not None and learner._running else "now"
        note = f"Set {self.finder.param} = {v:.3g} on {groups} param group{'s' * (groups != 1)}, {when}."
        self.status.value = self._statusText(note)
