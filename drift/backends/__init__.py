"""Backends: the small ports drift needs, in local, Azure and Databricks forms."""
