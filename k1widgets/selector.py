"""Placeholder until the selector issue lands: accepts any CSS, selects nothing."""

from __future__ import annotations

from typing import Any

__all__ = ["parse", "select"]


def parse(css: str) -> list[Any]:
    """Parses CSS rules (placeholder)."""
    return []


def select(model: Any, css: str) -> Any:
    """Builds the module tree (placeholder)."""
    return None
