"""Reporting: the run report, its HTML page, the local run history and the live progress line."""
