"""The workspace must import and work without Qt: a finder that refuses PySide6/shiboken6 is put in
front of every other, in a fresh interpreter, and every workspace module is imported and used."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import importlib, pkgutil, sys

    class BlockQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6"):
                raise ImportError(f"the workspace imported {name}")
            return None

    sys.meta_path.insert(0, BlockQt())
    import layerforge.workspace as package
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
    ws = package.Workspace(package.SynchronousRunner())
    ws.open_example("spiral")
    ws.set_settings(epochs=1)
    ws.start_run()
    assert ws.run.status == "finished", ws.run.status
    qt = [name for name in sys.modules if name.split(".")[0] in ("PySide6", "shiboken6")]
    assert not qt, qt
    print("ok")
""")


def test_workspace_never_imports_qt():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
