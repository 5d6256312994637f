"""Entry points: the `drift` CLI, the demo, manual and scheduled runs, local runs and the
Databricks `spark_job` wheel task."""
