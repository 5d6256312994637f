"""`python -m bench [--quick] [--out DIR] [--only B1,B2] [--workers N]`."""

from bench import main

if __name__ == "__main__":  # worker processes (spawn) import this module too
    raise SystemExit(main())
