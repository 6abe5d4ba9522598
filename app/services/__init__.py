"""Qt-free services: everything the window, the CLI and the tests do to the data."""
