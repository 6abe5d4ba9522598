"""FreeAgent (API v2, UK): see :mod:`connectors.freeagent.connector`."""

from connectors.freeagent.connector import FreeAgentConnector

__all__ = ["FreeAgentConnector"]
