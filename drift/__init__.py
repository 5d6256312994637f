"""drift: a Delta Lake commit registers a pinned Azure ML dataset version and retrains its models."""

__version__ = "0.1.0"
