"""Sage Business Cloud Accounting (API v3.1, UK): see
:mod:`connectors.sage_business_cloud.connector`."""

from connectors.sage_business_cloud.connector import BusinessNotChosen, SageBusinessCloudConnector

__all__ = ["BusinessNotChosen", "SageBusinessCloudConnector"]
