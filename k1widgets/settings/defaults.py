"""The global `settings` of k1widgets: every key here is read somewhere in the package.

`k1widgets.live` reads its feeds' default rate through the function registered here
(``settings.live.hz``), so `live` never imports settings; `k1widgets.persist.checkpoint` reads
``settings.cache.folder`` the same way.
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
