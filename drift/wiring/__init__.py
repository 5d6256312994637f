"""Wiring: the composition root that turns a config into backends, and the watchlist of tables."""
