"""Connectors: one per accounting package, all behind :mod:`connectors.contract`.

Nothing here imports Qt or the app; connectors talk to their package and translate its
errors into :mod:`connectors.errors`.
"""
