"""Settings: a documented tree of values, and the global `settings` of k1widgets.

(Minimal version; the full seed API — env variables, sensitive values, callbacks, contexts,
the aligned repr — is built by the settings issue.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "settings"]


class Settings:
    """A bag of named values with docs, nestable."""

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_docs", {})
        for k, v in kwargs.items():
            setattr(self, k, v)

    def add(self, k: str, v: Any, docs: str = "") -> Settings:
        """Adds a value with its docs; returns self so calls chain."""
        setattr(self, k, v)
        self._docs[k] = docs
        return self


settings = Settings()
settings.add("displayCutoff", 50, "cutoff length when displaying a Settings object")
settings.add(
    "cancelRun_newLine",
    True,
    "whether to add a new line character at the end of the cancel run/epoch/batch message",
)
settings.add("live", Settings().add("hz", 10.0, "most updates per second each live view sends"), "live views")
