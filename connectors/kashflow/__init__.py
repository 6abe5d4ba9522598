"""KashFlow (REST v2): see :mod:`connectors.kashflow.connector`."""

from connectors.kashflow.connector import KashFlowConnector
from connectors.kashflow.signin import AccountLocked, Challenge, SessionLapsed, SignInRefused

__all__ = ["AccountLocked", "Challenge", "KashFlowConnector", "SessionLapsed", "SignInRefused"]
