"""The link grid: link our customers and suppliers to the package's, without duplicates.

Embed :class:`LinkWorkbench` in a page::

    workbench = LinkWorkbench(session_factory, connector_factory, ContactRole.CUSTOMER, info)
    layout.addWidget(workbench)
    workbench.load()

See ``docs/linking.md`` for what it does and how.
"""

from wizard_pages.link_grid.workbench import LinkWorkbench

__all__ = ["LinkWorkbench"]
