"""The domain: Delta commit rules, storage events, dataset versions, the retraining plan and
policy, drift statistics and the config. No Functions or durable types."""
