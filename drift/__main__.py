"""`python -m drift`: the same CLI as the `drift` console script."""

from drift.cli import main

main()
