"""`python -m drift`: the same CLI as the `drift` console script."""

from drift.entrypoints.cli import main

main()
