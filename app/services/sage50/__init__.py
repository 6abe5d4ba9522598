"""Sage 50 Accounts (UK) through its import files: the export ledger, the files listing,
Sage's own exports read back, reconciliation and the bridge's settings. Qt-free."""
