"""Getting data in: the job system's CSV files, the demo data set, and situation 3's
one-time import of the package's customers and suppliers.

A file goes in whole or not at all; every bad row is named by line and column.
"""
