"""Maps the top-level ``ui/`` and ``resources/`` folders into the package.

They live at the repository root (see DESIGN.md) but ship inside the wheel as
``layerforge.ui`` and ``layerforge.resources``, found at run time through
``importlib.resources`` wherever the package is installed.
"""
from setuptools import find_packages, setup

packages = find_packages("src") + ["layerforge.ui", "layerforge.resources"]
setup(
    packages=packages,
    package_dir={"": "src", "layerforge.ui": "ui", "layerforge.resources": "resources"},
    package_data={"layerforge.ui": ["*", "**/*"], "layerforge.resources": ["*", "**/*"]},
    include_package_data=False,
    # An in-place build would otherwise ship the bytecode caches that running from the tree leaves
    # in ui/ and resources/ (the "**/*" globs above match them).
    exclude_package_data={"": ["__pycache__/*", "**/__pycache__/*", "*.py[co]", "**/*.py[co]"]},
)
