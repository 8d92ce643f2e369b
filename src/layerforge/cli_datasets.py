"""``layerforge datasets``: the built-in datasets and the downloadable ones (cached or not);
``layerforge datasets download NAME [--mirror URL]`` fetches one into the per-user cache with a
progress line; ``layerforge datasets import NAME FILE...`` takes files already downloaded.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path


def register_datasets(commands) -> None:
    """Add the ``datasets`` subcommand to ``commands`` (the ``layerforge`` parser's subparsers)."""
    datasets = commands.add_parser(
        "datasets", help="list the built-in and downloadable datasets; download or import one",
        description="With no action, list the built-in datasets and the downloadable ones (and whether "
                    "each is in the cache).")
    actions = datasets.add_subparsers(title="actions", metavar="ACTION")
    download = actions.add_parser("download", help="download a dataset into the per-user cache")
    download.add_argument("name", help="a downloadable dataset (see: layerforge datasets)")
    download.add_argument("--mirror", metavar="URL", action="append",
                          help="a folder URL holding the dataset's files, tried before the published mirrors "
                               "('{name}' in it stands for the dataset's name); may be given more than once; "
                               "also LAYERFORGE_DATASET_MIRROR")
    download.add_argument("--quiet", "-q", action="store_true", help="print only where the files are")
    download.set_defaults(command=run_download)
    imported = actions.add_parser("import", help="put files you already downloaded into the cache "
                                  "(each is matched by its checksum)")
    imported.add_argument("name", help="a downloadable dataset")
    imported.add_argument("files", nargs="+", type=Path, metavar="FILE",
                          help="e.g. train-images-idx3-ubyte.gz ..., or cifar-10-binary.tar.gz")
    imported.set_defaults(command=run_import)
    datasets.set_defaults(command=run_list)


def run_list(args) -> int:
    from layerforge.cli import EXIT_OK, _print_table
    from layerforge.data import list_datasets
    from layerforge.data.dataset_cache import cache_root
    from layerforge.data.remote_datasets import is_cached, remote_datasets

    rows = [(d.name, d.task, d.kind, ", ".join(f"{o.name}={o.default}" for o in d.options) or "-", d.description)
            for d in list_datasets()]
    _print_table(("name", "task", "kind", "options", "description"), rows)
    print()
    rows = []
    for info in remote_datasets():
        size = f"{info.download_bytes / 1e6:.0f} MB" if info.download_bytes else "?"
        rows.append((info.name, "cached" if is_cached(info.name) else "not cached", size,
                     f"{info.n_train:,}+{info.n_test:,}", f"{info.title}: {info.description}"))
    _print_table(("downloadable", "state", "download", "images", "description"), rows)
    print(f"\ncache: {cache_root()}  (download one with: layerforge datasets download NAME)")
    return EXIT_OK


class _ProgressLine:
    """One line rewritten in place on a terminal (a line per file otherwise): file, %, MB, speed."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last = 0.0
        self.started = time.monotonic()
        self.file = None

    def __call__(self, progress) -> None:
        now = time.monotonic()
        if progress.note == "cached":
            return
        new_file = progress.file != self.file
        if not (new_file or progress.note or now - self.last >= (0.2 if self.tty else 5.0)):
            return
        self.last, self.file = now, progress.file
        done_mb = progress.done / 1e6
        speed = progress.done / max(now - self.started, 1e-3) / 1e6
        share = f"{100 * progress.done / progress.total:5.1f}%  " if progress.total else ""
        total = f" of {progress.total / 1e6:.1f}" if progress.total else ""
        note = f"  ({progress.note})" if progress.note else ""
        text = f"{progress.file}: {share}{done_mb:.1f}{total} MB  {speed:.1f} MB/s{note}"
        if self.tty:
            self.stream.write("\r" + text.ljust(79)[:200])
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self.file is not None:
            self.stream.write("\n")
            self.stream.flush()


def run_download(args) -> int:
    from layerforge.cli import EXIT_INTERRUPTED, EXIT_OK, UserError
    from layerforge.data.downloads import DownloadCancelled
    from layerforge.data.remote_datasets import download, is_cached, remote_dataset

    info = remote_dataset(args.name)
    if is_cached(info.name):
        print(f"{info.title} is already in the cache: nothing to download")
    line = None if args.quiet else _ProgressLine()
    cancel = threading.Event()
    try:
        folder = download(info.name, mirror=args.mirror, progress=line, cancel=cancel)
    except KeyboardInterrupt:
        raise UserError("download interrupted; run the same command again to resume", EXIT_INTERRUPTED) from None
    except DownloadCancelled as error:
        raise UserError(str(error), EXIT_INTERRUPTED) from None
    finally:
        if line is not None:
            line.end()
    print(f"{info.title}: {folder}")
    return EXIT_OK


def run_import(args) -> int:
    from layerforge.cli import EXIT_OK
    from layerforge.data.remote_datasets import dataset_folder, import_files, is_cached, remote_dataset

    info = remote_dataset(args.name)
    taken = import_files(info.name, args.files)
    print(f"{info.title}: took {', '.join(taken)} into {dataset_folder(info.name)}")
    if not is_cached(info.name):
        missing = [f.name for f in info.files if not (dataset_folder(info.name) / f.name).is_file()]
        print(f"{info.title} still needs: {', '.join(missing)}")
    return EXIT_OK
