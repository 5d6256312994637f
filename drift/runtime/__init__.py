"""The local durable runtime: replays the real orchestrators in-process (history, replay,
entities, clock, snapshots) and the SDK client wired to it."""
