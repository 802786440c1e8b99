"""DashboardView: the live dashboard of a `Learner` (what ``l`` shows in Jupyter, or ``l.widget()``).

A header (model, data, optimizer, loss function, status), controls (Run N epochs in the background,
Pause/Resume, Cancel batch/epoch/run, Save to a file, editable hyper-parameters) and tabs: Progress,
Loss (with earlier runs to compare), Hooks, Model (the module tree with its CSS box), Callbacks,
Finder, Landscape, Settings.

- **Only enqueue.** Every control goes through the learner's thread-safe controls: ``l.pause()``,
  ``l.cancel(scope)``, ``l.setParam(...)`` (applied at the next batch boundary and shown once the
  loop applied it), ``l.atBatchBoundary(...)``. Runs, saves and the Finder/Landscape computations
  run on one worker thread of the dashboard, never on the kernel's event loop.
- **Lazy tabs, one feed.** A tab's views are built when the tab is first opened. The dashboard
  subscribes once to the learner's feed: each notification refreshes the header and the tab on
  screen only, at a rate that keeps the kernel under ``settings.live.messages`` comm messages a
  second; hidden tabs cost nothing and catch up when shown again.
- **Closing** (``view.close()``) unsubscribes everything and closes every view it built.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets
import traitlets

from k1widgets import display
from k1widgets.learner import Learner
from k1widgets.live import Subscription
from k1widgets.report import EDITABLE_HYPERS, dataSummary, functionName, jsonValue, modelSummary, optimizerSummary
from k1widgets.selector import quietWarnings
from k1widgets.settings import settings
from k1widgets.widgets.base import ShownTracking, StaticFallback, View, staticAsset
from k1widgets.widgets.dashtabs import COMPUTE_TABS, ComputeTab, LossTab, TabContent, ViewsTab, note

__all__ = ["TABS", "DashboardHeader", "DashboardView"]

TABS = ("Progress", "Loss", "Hooks", "Model", "Callbacks", "Finder", "Landscape", "Settings")
_SCOPES = ("batch", "epoch", "run")


class DashboardHeader(View):
    """The dashboard's header and controls (an anywidget; `DashboardView` fills it).

    Traits (synced): ``header`` (model, data, optimizer, loss function: changes rarely), ``run`` (status,
    its message, progress, epoch, batch: small, sent every update), ``hypers``
    (``{"keys": [...], "groups": [{"index", "values"}]}``, the editable hyper-parameters), ``pending``
    (``{"<group>.<name>": value}`` edits not applied yet), ``notice`` (``{"seq", "kind", "text"}``:
    what the last action did), ``busy`` (the worker's current job, or ""). Messages from the browser:
    ``{"action": "run", "epochs"}``, ``pause``, ``resume``, ``{"action": "cancel", "scope"}``,
    ``{"action": "save", "fileName"}``, ``{"action": "hyper", "group", "name", "value"}``.
    """

    _esm = staticAsset("dashboard.js")
    _css = staticAsset("dashboard.css")
    header = traitlets.Dict().tag(sync=True)
    run = traitlets.Dict().tag(sync=True)
    hypers = traitlets.Dict().tag(sync=True)
    pending = traitlets.Dict().tag(sync=True)
    notice = traitlets.Dict().tag(sync=True)
    busy = traitlets.Unicode("").tag(sync=True)


class DashboardView(ShownTracking, StaticFallback, ipywidgets.VBox):
    """The live dashboard of a learner.

    Args:
        learner: the `Learner` to show and steer.
        tab: the tab opened first (one of `TABS`).

    Example:
        >>> from k1widgets import Learner
        >>> l = Learner.sample()
        >>> d = l.widget(tab="Loss")   # what displaying ``l`` shows in JupyterLab, here opened on Loss
        >>> d.tabs.titles[:3], d.openedTabs   # tabs are built when first opened
        (('Progress', 'Loss', 'Hooks'), ['Loss'])
        >>> d.close()
    """

    def __init__(self, learner: Learner, *, tab: str = "Progress") -> None:
        if not isinstance(learner, Learner):
            msg = f"DashboardView shows a k1widgets Learner, got {type(learner).__name__}."
            raise TypeError(msg)
        if tab not in TABS:
            msg = f"tab must be one of {', '.join(TABS)}; got {tab!r}."
            raise ValueError(msg)
        self.learner = learner
        self._lock = threading.RLock()
        self._closed = False
        self._tabs: dict[str, TabContent] = {}
        self._current: TabContent | None = None
        self._pending: dict[str, Any] = {}
        self._noticeSeq = 0
        self._runError = ""
        self._job: threading.Thread | None = None
        self._modelKey: Any = None
        self._modelSummary: dict[str, Any] = {}
        self._dataKey: Any = None
        self._dataSummary: dict[str, Any] = {}
        self._lossKey: tuple[Any, str] | None = None
        self.header = DashboardHeader(header=self._headerState(), run=self._runState(), hypers=self._hyperState())
        self.header.on_msg(self._onMsg)
        self.tabs = ipywidgets.Tab(children=[ipywidgets.VBox() for _ in TABS], titles=TABS)
        self.tabs.add_class("k1w-dashboard-tabs")
        super().__init__(children=[self.header, self.tabs], layout=ipywidgets.Layout(width="100%"))
        self.add_class("k1w-dashboard")
        self._sub: Subscription | None = learner.feed.subscribe(self.refresh)
        self.tabs.selected_index = TABS.index(tab)
        self._openTab(TABS.index(tab))
        self.tabs.observe(self._onTab, "selected_index")

    # ------------------------------------------------------------------ header
    def _headerState(self) -> dict[str, Any]:
        l = self.learner
        status = l.status
        modelKey = (id(l.model), status)
        if modelKey != self._modelKey:  # parameter counts and devices change rarely: not every refresh
            self._modelSummary, self._modelKey = modelSummary(l.model), modelKey
        if id(l.data) != self._dataKey:
            self._dataSummary, self._dataKey = _shortData(dataSummary(l.data)), id(l.data)
        return {
            "model": self._modelSummary,
            "data": self._dataSummary,
            "opt": optimizerSummary(l.opt),
            "lossF": self._lossName(),
            "missing": l._missing(),
        }

    def _runState(self) -> dict[str, Any]:
        """The part of the header that changes every update (small: sent up to settings.live.hz times a second)."""
        l = self.learner
        status = l.status
        message = l._statusMessage()
        if status == "error" and not message:
            message = self._runError
        return {
            "status": status,
            "message": message,
            "running": bool(l._running),
            "progress": float(l.progress or 0.0),
            "epoch": int(l.epoch),
            "epochs": int(l.epochs),
            "batch": int(l.batch),
            "batches": int(l.batches or 0),
        }

    def _lossName(self) -> str:
        f = self.learner.lossF
        if self._lossKey is None or self._lossKey[0] is not f:  # reading a lambda's source is not free
            self._lossKey = (f, functionName(f))
        return self._lossKey[1]

    def _hyperState(self) -> dict[str, Any]:
        opt = self.learner.opt
        if opt is None:
            return {"keys": [], "groups": []}
        groups = opt.param_groups
        keys = [k for k in EDITABLE_HYPERS if any(k in g for g in groups)]
        return {
            "keys": keys,
            "groups": [
                {"index": i, "values": {k: jsonValue(g[k]) for k in keys if k in g}} for i, g in enumerate(groups)
            ],
        }

    def _pendingState(self, hypers: dict[str, Any]) -> dict[str, Any]:
        """Edits not applied yet: an entry goes once the optimizer holds its value."""
        with self._lock:
            for key, value in list(self._pending.items()):
                group, name = key.split(".", 1)
                groups = hypers["groups"]
                now = groups[int(group)]["values"].get(name) if int(group) < len(groups) else None
                if now is None or _same(now, value):
                    del self._pending[key]
            return dict(self._pending)

    def refresh(self) -> None:
        """The learner's feed fired: pushes the header, and lets the tab on screen refresh (throttled).

        Skipped (and done when shown again) while the dashboard was displayed once but no front end
        shows it now, e.g. after its cell was re-run: forgotten dashboards cost nothing during training.
        """
        if self._closed:
            return
        if self.hidden():
            return
        hypers = self._hyperState()
        self.header.push(
            header=self._headerState(), run=self._runState(), hypers=hypers, pending=self._pendingState(hypers)
        )
        current = self._current
        if current is not None:
            current.changed()

    def _notify(self, kind: str, text: str) -> None:
        with self._lock:
            self._noticeSeq += 1
            seq = self._noticeSeq
        self.header.push(notice={"seq": seq, "kind": kind, "text": text})

    # ------------------------------------------------------------------ tabs
    def _build(self, name: str) -> TabContent:
        l = self.learner
        cbs = l.cbs._byName
        if name == "Loss":
            return LossTab(l)
        if name in COMPUTE_TABS:
            return ComputeTab(l, name, self.compute)
        widgets: list[Any]
        if name == "Progress":
            pb = cbs.get("ProgressBar")
            widgets = [display.view(pb)] if pb is not None else [note("This learner has no ProgressBar callback.")]
        elif name == "Hooks":
            widgets = [_viewOrText(cbs[n]) for n in ("HookModule", "HookParam") if n in cbs]
            if not widgets:
                widgets = [note("This learner has no HookModule or HookParam callback: nothing is hooked.")]
        elif name == "Model":
            if l.model is None:
                widgets = [note("Set l.model = ... to see its modules here.")]
            else:
                with quietWarnings():
                    widgets = [display.view(l.moduleSelector)]
        elif name == "Callbacks":
            widgets = [display.view(l.cbs)]
        else:  # Settings
            widgets = [display.view(settings)]
        return ViewsTab(l, widgets)

    def _openTab(self, index: int) -> TabContent:
        name = TABS[index]
        with self._lock:
            tab = self._tabs.get(name)
            if tab is None:
                tab = self._tabs[name] = self._build(name)
                children = list(self.tabs.children)
                old = children[index]
                children[index] = tab.box
                self.tabs.children = tuple(children)
                old.close()
            self._current = tab
        tab.refresh()  # catch up: a hidden tab was not refreshed
        return tab

    def _onTab(self, change: dict[str, Any]) -> None:
        index = change["new"]
        if isinstance(index, int) and 0 <= index < len(TABS) and not self._closed:
            self._openTab(index)

    def select(self, name: str) -> TabContent:
        """Opens tab ``name`` (as a click on it does); returns its content."""
        if name not in TABS:
            msg = f"No tab {name!r}; the tabs are {', '.join(TABS)}."
            raise ValueError(msg)
        self.tabs.selected_index = TABS.index(name)
        return self._openTab(TABS.index(name))

    @property
    def openedTabs(self) -> list[str]:
        """Tabs whose views exist (opened at least once)."""
        return [n for n in TABS if n in self._tabs]

    # ------------------------------------------------------------------ controls (browser -> Python)
    def _onMsg(self, widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") in ("rendered", "removed"):
            if self.trackShown(content):
                self.refresh()
                if self._current is not None:
                    self._current.refresh()
            return
        action = content.get("action")
        l = self.learner
        if action == "pause":
            l.pause()
        elif action == "resume":
            l.resume()
        elif action == "cancel" and content.get("scope") in _SCOPES:
            l.cancel(content["scope"])
        elif action == "run":
            self.run(content.get("epochs"))
        elif action == "save":
            self.save(content.get("fileName"))
        elif action == "hyper":
            self.setParam(content.get("group"), content.get("name"), content.get("value"))

    def _startJob(self, kind: str, fn: Callable[[], None]) -> bool:
        """Runs ``fn`` on the dashboard's worker thread, if it is free (one job at a time)."""
        with self._lock:
            if self._job is not None and self._job.is_alive():
                self._notify("error", f"Busy: wait for the {self.header.busy or 'current job'} to finish.")
                return False

            def target() -> None:
                try:
                    fn()
                finally:
                    self.header.push(busy="")
                    self.refresh()

            self._job = threading.Thread(target=target, name=f"k1widgets-dashboard-{kind}", daemon=True)
            self.header.push(busy=kind)
            self._job.start()
            return True

    def run(self, epochs: Any) -> bool:
        """Starts ``l.run(epochs)`` on the worker thread (the Run button); False if it could not start."""
        l = self.learner
        if isinstance(epochs, str) and epochs.strip().isdigit():
            epochs = int(epochs)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            self._notify("error", f"Epochs must be a whole number >= 1, got {epochs!r}.")
            return False
        if l._running:
            self._notify("error", "The learner is already running: pause or cancel that run first.")
            return False
        missing = l._missing()
        if missing:
            self._notify("error", f"The learner cannot run: set {', '.join('l.' + m for m in missing)} first.")
            return False

        def job() -> None:
            self._runError = ""
            try:
                with display.suppressed():  # this dashboard shows the run: no extra progress view or text
                    l.run(epochs)
            except Exception as e:
                self._runError = f"{type(e).__name__}: {e}"
                self._notify("error", f"The run stopped with an error: {self._runError}")
            else:
                self._notify("ok", f"Run of {epochs} epoch{'s' if epochs != 1 else ''} ended: {l.status}.")

        return self._startJob("run", job)

    def save(self, fileName: Any) -> bool:
        """Saves the learner on the worker thread (the Save button); the notice says where, or the error."""
        if not isinstance(fileName, str) or not fileName.strip():
            self._notify("error", "Type a file name to save to, e.g. run1 (writes run1.pth and run1.model.pth).")
            return False
        base = os.path.abspath(os.path.expanduser(fileName.strip()))
        base = base[: -len(".pth")] if base.endswith(".pth") else base

        def job() -> None:
            try:
                self.learner.save(base, quiet=True)
            except Exception as e:
                self._notify("error", f"Not saved: {type(e).__name__}: {e}")
            else:
                self._notify("ok", f"Saved to {base}.pth and {base}.model.pth")

        return self._startJob("save", job)

    def setParam(self, group: Any, name: Any, value: Any) -> bool:
        """Sets a hyper-parameter with ``l.setParam`` (applied at the next batch); the header shows it once applied."""
        if not isinstance(name, str) or not (group is None or isinstance(group, int)):
            return False
        try:
            self.learner.setParam(name, value, group=group)
        except Exception as e:
            self._notify("error", str(e))
            return False
        opt = self.learner.opt
        indices = list(range(len(opt.param_groups))) if group is None and opt is not None else [group]
        with self._lock:
            for i in indices:
                self._pending[f"{i}.{name}"] = _parsed(value)
        self.refresh()
        return True

    def compute(self, tab: str) -> bool:
        """Runs the Finder or Landscape computation on the worker thread (their buttons)."""
        content = self._tabs.get(tab)
        if not isinstance(content, ComputeTab) or content.cb is None:
            return False
        if self.learner._running:
            self._notify("error", "The learner is running: compute after the run (or cancel it).")
            return False

        def job() -> None:
            content.setStatus("computing… 0%", computing=True)
            try:
                with display.suppressed():
                    result = content.compute()
            except Exception as e:
                content.setStatus(f"failed: {type(e).__name__}: {e}", computing=False)
                self._notify("error", f"{content.cbName} failed: {type(e).__name__}: {e}")
            else:
                content.setStatus("done", computing=False)
                content.show(result)
                content.refresh()

        return self._startJob(tab.lower(), job)

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Unsubscribes from the learner's feed and closes every tab's views and the header."""
        if not hasattr(self, "tabs"):  # __init__ failed: nothing was built
            super().close()
            return
        with self._lock:
            self._closed = True
            sub, self._sub = self._sub, None
            tabs, self._tabs = list(self._tabs.values()), {}
            self._current = None
        if sub is not None:
            sub.remove()
        for tab in tabs:
            tab.close()
        self.header.close()
        for box in self.tabs.children:
            box.close()
        self.tabs.close()
        super().close()


def _viewOrText(obj: Any) -> Any:
    if display.viewClass(obj) is not None:
        return display.view(obj)
    import html

    return ipywidgets.HTML(f"<pre class='k1w-dashboard-text'>{html.escape(repr(obj))}</pre>")


def _shortData(summary: dict[str, Any]) -> dict[str, Any]:
    """The header's part of a data summary: counts, shapes and dtypes (the sample table stays in the data view)."""
    return {
        k: {kk: v.get(kk) for kk in ("batches", "batchSize", "samples", "batch", "note")} for k, v in summary.items()
    }


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        parts = [p for p in value.replace("(", " ").replace(")", " ").replace(",", " ").split() if p]
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            return value
        return nums[0] if len(nums) == 1 else nums
    return jsonValue(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))
    return bool(a == b)
