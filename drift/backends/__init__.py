"""Backends: the ports in drift/domain/ports.py in local, Azure and Databricks forms, and the sinks
of drift's own events (publish.py)."""
