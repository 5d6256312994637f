"""The durable layer: the orchestrators, their activities, and the trigger logic (intake, job
status events, drift's own published events) free of Functions types."""
