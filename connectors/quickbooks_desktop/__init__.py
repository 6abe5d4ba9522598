"""QuickBooks Desktop through Intuit's QuickBooks Web Connector (SOAP + qbXML)."""

from connectors.quickbooks_desktop.connector import (
    CheckedOnNextPoll,
    ListsNotRead,
    QuickBooksDesktopConnector,
)

__all__ = ["CheckedOnNextPoll", "ListsNotRead", "QuickBooksDesktopConnector"]
