"""QuickBooks Desktop through Intuit's Web Connector: pairing (the .qwc file and the
password), the SOAP service the Web Connector polls, and what the last poll did.

Qt-free: ``ledgerlink qbwc serve`` runs the service on its own; the window runs it in a
background thread while it is open.
"""
