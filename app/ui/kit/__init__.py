"""Shared Qt pieces the pages and windows use (style, workers, common widgets, crash hook)."""
