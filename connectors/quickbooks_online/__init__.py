"""QuickBooks Online (Intuit Accounting API v3): see
:mod:`connectors.quickbooks_online.connector`."""

from connectors.quickbooks_online.connector import QboItem, QuickBooksOnlineConnector

__all__ = ["QboItem", "QuickBooksOnlineConnector"]
