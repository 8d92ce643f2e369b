"""Icons, built-in datasets and example projects, shipped in the wheel."""
