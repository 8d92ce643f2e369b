"""``python -m layerforge``: the same as the ``layerforge`` command."""
from layerforge.cli import main

raise SystemExit(main())
