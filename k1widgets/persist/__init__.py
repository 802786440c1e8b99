"""Persistence: the atomic writer every file of k1widgets goes through."""

from __future__ import annotations

from k1widgets.persist.atomic import atomicWrite

__all__ = ["atomicWrite"]
