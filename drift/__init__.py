"""drift: Delta commits become pinned Azure ML data versions that retrain their models."""

__version__ = "0.1.0"
