"""The durable layer: the orchestrators and entities, their activities, the trigger logic free of
Functions types (intake, job status events) and the durable instance query behind the run list."""
