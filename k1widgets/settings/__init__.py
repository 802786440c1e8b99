"""Settings: documented, nestable values with env overrides, choices, contexts and an editable panel.

`Settings` is the class (`k1widgets.settings.core`), `settings` the package's own global tree
(`k1widgets.settings.defaults`); `values` holds the value rules and errors, `text` the repr and
HTML table, `form` the edits a panel makes.
"""

from __future__ import annotations

from k1widgets.settings.core import Settings, settingsTree
from k1widgets.settings.defaults import settings
from k1widgets.settings.form import editSetting, resetSetting
from k1widgets.settings.values import SettingsEnvWarning, SettingsValueError, UnknownSettingError

__all__ = [
    "Settings",
    "SettingsEnvWarning",
    "SettingsValueError",
    "UnknownSettingError",
    "editSetting",
    "resetSetting",
    "settings",
    "settingsTree",
]
