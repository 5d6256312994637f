"""The Azure Functions blueprints: each translates a trigger into one call into drift."""
