"""Set-up: the wizard's stored choices and routing, the connection and sign-in, our
chart of accounts and its mapping to the package's, and the demo folder.
"""
