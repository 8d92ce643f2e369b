"""The bundle's entry point: the same as the ``layerforge`` console script (GUI with no arguments)."""
from layerforge.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
