"""The set-up wizard's pages, one module each, and the widgets they share (the link grid
lives in :mod:`wizard_pages.link_grid`). Pages collect input, show state and call the
Qt-free services in :mod:`app.services` through workers."""
