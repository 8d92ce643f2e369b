"""The import arrows of DESIGN.md hold: a package imports only those below it, lazily or not.

An arrow pointing the wrong way (export reaching into training, the app into the engine) is how the
headless layers stop being headless; this reads every module's imports, including those inside
functions, so a lazy import does not slip through.
"""
import ast
from pathlib import Path

import layerforge

SOURCE = Path(layerforge.__file__).parent

# What each part of Layerforge may import of Layerforge; the arrows of DESIGN.md. `atomic` (the one
# atomic writer) and `engine` are leaves anyone may use, except that the engine imports nothing.
LEAVES = {"atomic"}
ALLOWED = {
    "engine": set(),
    "atomic": set(),
    "data": {"engine"},
    "graph": {"engine"},
    "training": {"graph", "data", "engine"},
    "export": {"graph", "engine"},
    "workspace": {"training", "export", "graph", "data", "engine"},
    # the app is views of the workspace; it uses training's, data's and graph's vocabulary (settings,
    # choices, the catalog) but never runs the engine itself
    "app": {"workspace", "training", "export", "graph", "data", "qt_libraries"},
}


def _imports(path: Path, package: list[str]) -> set[str]:
    """The top-level Layerforge modules that ``path`` (module ``package`` + its name) imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
            # `from layerforge import atomic` names a module; `from .x import y` names x
            modules = ([f"{module}.{alias.name}" for alias in node.names] if module == "layerforge"
                       else [module])
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "layerforge" and len(parts) > 1:
                found.add(parts[1])
    return found


def _parts():
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE)
        if len(relative.parts) == 1:
            part = relative.stem
            package = ["layerforge"]
        else:
            part = relative.parts[0]
            package = ["layerforge", *relative.parts[:-1]]
        yield part, path, package


def test_every_package_imports_only_what_design_md_allows():
    wrong = []
    checked = set()
    for part, path, package in _parts():
        if part not in ALLOWED:
            continue
        checked.add(part)
        allowed = ALLOWED[part] | ({part} | (LEAVES if part != "engine" else set()))
        for module in sorted(_imports(path, package) - allowed):
            wrong.append(f"{path.relative_to(SOURCE)} imports layerforge.{module}")
    assert checked == set(ALLOWED), f"packages missing from the source tree: {set(ALLOWED) - checked}"
    assert not wrong, "imports against DESIGN.md's arrows:\n" + "\n".join(wrong)


def test_the_checker_sees_relative_lazy_and_top_level_imports(tmp_path):
    # a checker that found nothing would pass the test above on any tree
    module = tmp_path / "sample.py"
    module.write_text("from ..training.choices import get_loss\n"
                      "def later():\n    from layerforge import atomic, engine\n    import layerforge.graph.spec\n")
    assert _imports(module, ["layerforge", "export"]) == {"training", "atomic", "engine", "graph"}
