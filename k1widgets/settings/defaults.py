"""The global `settings` of k1widgets: every key here is read somewhere in the package.

`k1widgets.live` reads its feeds' default rate through the function registered here
(``settings.live.hz``), so `live` never imports settings; `k1widgets.persist.checkpoint` reads
``settings.cache.folder`` the same way. ``settings.hooks`` configures `HookModule` and `HookParam`
(`k1widgets.callbacks.hooks`).
"""

from __future__ import annotations

from k1widgets import live
from k1widgets.persist.checkpoint import defaultCacheFolder, useDefaultFolder
from k1widgets.settings.core import Settings, nameRoot
from k1widgets.settings.values import _atLeast

__all__ = ["settings"]

settings = Settings()
"""The settings of k1widgets itself. Every key here is read somewhere in the package."""
nameRoot(settings, "settings")
settings.add("displayCutoff", 50, "cutoff length when displaying a Settings object", _atLeast("displayCutoff", 4))
settings.add(
    "cancelRun_newLine",
    True,
    "whether to add a new line character at the end of the cancel run/epoch/batch message",
)
settings.add("live", Settings(), "live views: how often training updates reach the widgets")
settings.live.add(
    "hz",
    10.0,
    "most updates per second each live view sends (Learner feeds, plots, progress, this panel)",
    _atLeast("hz", 0, strict=True),
    env="K1W_LIVE_HZ",
)
settings.live.add(
    "messages",
    100,
    "most comm messages per second a Learner dashboard sends in all (its visible tab refreshes less often to fit)",
    _atLeast("messages", 1),
    env="K1W_LIVE_MESSAGES",
)
live.useDefaultRate(lambda: settings.live.hz)
settings.add("plot", Settings(), "plots")
settings.plot.add(
    "points",
    2000,
    "most points per line a plot sends to the browser (min-max decimated; full history stays in Python)",
    _atLeast("points", 4),
    env="K1W_PLOT_POINTS",
)
settings.add("cache", Settings(), "@checkpoint: where cached results go")
settings.cache.add(
    "folder",
    defaultCacheFolder(),
    "folder of @checkpoint entries when no work_dir is given (one sub-folder per function; private to you)",
    env="K1W_CACHE_FOLDER",
)
useDefaultFolder(lambda: settings.cache.folder)
settings.add("autosave", Settings(), "Autosave: the learner saved at the end of every run")
settings.autosave.add("on", True, "whether Autosave saves the learner at the end of every run", env="K1W_AUTOSAVE")
settings.autosave.add(
    "folder", ".", "folder of autosave-0.pth (oldest) ... autosave-2.pth (newest)", env="K1W_AUTOSAVE_FOLDER"
)
settings.autosave.add(
    "count",
    3,
    "how many autosaves to keep (autosave-0 ... autosave-<count-1>, the newest)",
    _atLeast("count", 1),
    env="K1W_AUTOSAVE_COUNT",
)
settings.add("hooks", Settings(), "HookModule and HookParam: how often they sample, what they keep")
settings.hooks.add(
    "every",
    15,
    "hooks record every N-th training batch (1: every batch); hooks are only registered on those batches",
    _atLeast("every", 1),
    env="K1W_HOOKS_EVERY",
)
settings.hooks.add(
    "flushEvery",
    20,
    "sampled batches kept on the device between two copies to the host (live views copy sooner)",
    _atLeast("flushEvery", 1),
)
settings.hooks.add("bins", 32, "activation histogram bins per module (HookModule; 0: none)", _atLeast("bins", 0))
settings.hooks.add(
    "zeroTol",
    0.01,
    "a value counts as near zero (a dead unit) when |x| <= zeroTol * rms of its tensor",
    _atLeast("zeroTol", 0),
)
settings.hooks.add(
    "memory",
    32,
    "MB of host memory each hook callback's history may take (older samples are min-max decimated)",
    _atLeast("memory", 1),
)
settings.hooks.add("rows", 8192, "most history rows each hook callback keeps", _atLeast("rows", 128))
settings.hooks.add(
    "viewPoints",
    12000,
    "most values a hook view sends per update, shared by its lines (each line also <= plot.points)",
    _atLeast("viewPoints", 1000),
)
settings.hooks.add(
    "viewHz",
    4.0,
    "most updates per second of a hook view (many lines: the browser redraws them all)",
    _atLeast("viewHz", 0, strict=True),
)
