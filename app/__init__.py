"""Ledgerlink: the bridge from a job-management system to an accounting package.

Everything outside :mod:`app.ui` is Qt-free, so services run the same from the window,
the command line and the tests.
"""

__version__ = "0.1.0"
