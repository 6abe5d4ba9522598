"""Sage 50 Accounts (UK) through its own import files (Customer Records, Supplier Records,
Audit Trail Transactions)."""

from connectors.sage_50.connector import Sage50Connector

__all__ = ["Sage50Connector"]
