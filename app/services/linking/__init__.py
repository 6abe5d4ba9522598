"""Linking our customers and suppliers to the package's records: matching rules, the
link workbench's Qt-free half, saving links, the links CSV and second display names.
"""
