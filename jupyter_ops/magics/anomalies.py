"""Magics for this capability (filled in by its issue)."""

MAGICS: list = []
