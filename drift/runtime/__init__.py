"""The local durable runtime: replays the real orchestrators in-process (scheduler, replay,
entities, history, snapshot, clock), and the SDK's client wired to it. Imports nothing of drift."""
