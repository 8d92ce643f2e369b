"""Save the Get dataset dialog's screenshot for the docs (issue #19): MNIST downloading from a local
server (files in the real format, made here), Fashion-MNIST already in the cache, dark theme.

    python tests/app/get_dataset_screenshot.py [output file, default docs/dialog-get-dataset.png]

Runs offscreen, with its own temporary home folder, settings and dataset cache; nothing is fetched
from the internet.
"""
from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

from screenshot_support import SCRATCH, pump, screenshot_app  # noqa: E402  (first: it sets how Qt starts)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import dataset_server as ds  # noqa: E402

from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402
from layerforge.data import remote_datasets  # noqa: E402
from layerforge.data.downloads import RemoteFile  # noqa: E402


def _serve_as(name: str, files: dict, server) -> None:
    """The catalog's ``name`` with these files (their real sizes and checksums) on ``server``."""
    info = remote_datasets.remote_dataset(name)
    published = tuple(RemoteFile(n, len(d), sha256=ds.sha256(d)) for n, d in files.items())
    remote_datasets._BY_NAME[name] = replace(info, files=published, mirrors=(f"{server.url}/{name}/",))


def main(path: Path) -> None:
    os.environ["LAYERFORGE_DATA_CACHE"] = str(SCRATCH / "cache")
    app = screenshot_app(path.parent)
    mnist = ds.mnist_files(n_train=60000, n_test=10000)
    fashion = ds.mnist_files(n_train=60000, n_test=10000, seed=1)
    server = ds.DatasetServer({f"/mnist/{n}": d for n, d in mnist.items()}
                              | {f"/fashion-mnist/{n}": d for n, d in fashion.items()})
    server.behaviour["/mnist/train-images-idx3-ubyte.gz"] = "steady"
    _serve_as("mnist", mnist, server)
    _serve_as("fashion-mnist", fashion, server)
    remote_datasets.download("fashion-mnist")
    window = create_main_window("spiral")
    install_commands(window).appearance.set_theme("dark")
    window.resize(1280, 800)
    window.show()
    pump(app, 0.5)
    dialog = window.dataset_actions.show_dialog("mnist")
    dialog.resize(680, 340)
    dialog.download_button.click()
    while dialog.progress.value() < 60:
        pump(app, 0.05)
    pump(app, 0.2)
    path.parent.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(path))
    print(f"{path}: {dialog.progress.text()}")
    dialog.close()
    server.close()
    window.close()
    pump(app, 0.2)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "dialog-get-dataset.png")
