"""Backends: the small interfaces drift's logic needs, and their local, Azure and Databricks forms."""
