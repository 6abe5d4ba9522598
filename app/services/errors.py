"""Errors a user can act on, as opposed to bugs. The CLI turns them into exit code 2."""


class SetupError(Exception):
    """Set-up is incomplete or inconsistent (no package chosen, bad data folder…)."""
