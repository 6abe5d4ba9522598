"""Shared Qt pieces the pages and windows use (style, workers, common widgets, crash hook).

The bottom Qt layer: it imports no page and no window."""
