"""The domain: Delta commit rules, storage events, dataset versions, the retraining plan and
policy, drift statistics, the config, and the ports the backends implement. No Functions or
durable types; imports nothing from the other folders of drift."""
