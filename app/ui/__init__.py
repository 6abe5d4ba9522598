"""The Qt shell, in three layers that import one way only (import-linter checks it):

- :mod:`app.ui.kit` — shared Qt pieces: style, workers, common widgets;
- :mod:`wizard_pages` — the wizard's pages, built on the kit;
- :mod:`app.ui.windows` — window assembly (wizard, dashboard, main window, launch),
  built on the pages.

Pages and windows call Qt-free services (``app.services``) in workers; they never
import SQLAlchemy, ``app.db`` or the keyring."""
