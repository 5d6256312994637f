"""The Azure Functions app: wiring only. Every decision is made in the `drift` package."""

import azure.durable_functions as df
import azure.functions as func

from drift.functions import durable, events, http, jobs, runs, schedule

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (events.bp, http.bp, runs.bp, schedule.bp, durable.bp, jobs.bp):
    app.register_functions(blueprint)
