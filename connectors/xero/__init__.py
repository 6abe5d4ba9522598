"""Xero (Accounting API 2.0): see :mod:`connectors.xero.connector`."""

from connectors.xero.connector import OrganisationNotChosen, XeroConnector, XeroOrganisation

__all__ = ["OrganisationNotChosen", "XeroConnector", "XeroOrganisation"]
