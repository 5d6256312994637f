"""Reporting: the run report, its HTML page, run history (local) and run query (Azure), and the
live progress line."""
