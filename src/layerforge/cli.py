"""The ``layerforge`` command: the GUI with no arguments, headless commands otherwise.

    layerforge                                   open the desktop app
    layerforge train PROJECT [--epochs N] [--device cpu|cuda|cuda:N|auto] [--out DIR]
    layerforge export PROJECT --format safetensors|npz|onnx|pytorch [--out PATH]
    layerforge predict PROJECT INPUT.csv|.npy|.npz [--out FILE.csv|.npy]
    layerforge new TEMPLATE PROJECT [--dataset NAME] [--epochs N]
    layerforge import MODEL.onnx [-o PROJECT.lfproj] [--dataset NAME]   an ONNX model as a project, with its weights
    layerforge analyze PROJECT [--csv]           each layer's shape, parameters, memory and FLOPs
    layerforge datasets download NAME [--mirror URL]   MNIST, Fashion-MNIST, KMNIST, CIFAR-10 into the cache
    layerforge templates | datasets | examples
    layerforge doctor                            check this machine: Qt's libraries, OpenGL, BLAS, GPUs, folders

A user's mistake (a missing file, a bad project, an invalid model) prints one message on stderr
and exits non-zero without a traceback.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path
from typing import Sequence, TextIO

import layerforge
from layerforge.cli_import import add_import_command
from layerforge.cli_run import ProgressPrinter, _deferred_interrupts, _run_interruptibly  # noqa: F401 (tests use them)
from layerforge.cli_analyze import register_analyze
from layerforge.cli_datasets import register_datasets

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROJECT_HELP = ("a .lfproj project file, or an example's name (spiral, ...); a file in the current folder "
                "wins over an example of the same name")
EXPORT_SUFFIXES = {"safetensors": ".safetensors", "npz": ".npz", "onnx": ".onnx", "pytorch": "_pytorch"}


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit ``code``."""

    def __init__(self, message: str, code: int = EXIT_ERROR):
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:   # Ctrl+C outside training (which handles it itself): no traceback
        print("\nlayerforge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError as error:
        detail = str(error) or "a request for memory failed"
        return _fail(f"out of memory: {detail}; try a smaller model, batch size or dataset")
    except BrokenPipeError:     # `layerforge doctor | head`: the reader left; say nothing more
        _silence_stdout()
        return EXIT_ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so Python's flush at exit does not raise BrokenPipeError again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        return _open_gui()
    if len(argv) == 1 and argv[0].lower().endswith(".lfproj"):  # a double-clicked project file
        return _open_gui(argv[0])
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (already printed by argparse)
        return int(exit_.code or 0)
    from layerforge.data import DataError
    from layerforge.graph import GraphError
    from layerforge.training import ProjectError, TrainingError
    try:
        return args.command(args)
    except UserError as error:
        return _fail(str(error), error.code)
    except ProjectError as error:    # names its file already
        return _fail(str(error))
    except (TrainingError, DataError, GraphError) as error:
        project = getattr(args, "project", None)
        return _fail(f"{project}: {error}" if project is not None else str(error))


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    print(f"layerforge: error: {message}", file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerforge", description="Build, train and export neural networks. "
                                     "With no arguments, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"layerforge {layerforge.__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    train = commands.add_parser("train", help="train a project headless and save the trained weights")
    train.add_argument("project", type=Path, help=PROJECT_HELP)
    train.add_argument("--epochs", type=_positive_int, help="number of epochs (default: the project's)")
    train.add_argument("--device", type=_device_choice, metavar="{cpu,cuda,cuda:N,auto}",
                       help="where to train (default: the project's)")
    train.add_argument("--out", type=Path, metavar="DIR",
                       help="folder for the trained project and weights (default: update the project in place; "
                            "an example is saved in the current folder)")
    train.add_argument("--continue", action="store_true", dest="resume",
                       help="carry on the project's last run: its last weights, optimizer and schedule state "
                            "and curves (or, for a project saved without them, its trained weights)")
    train.add_argument("--quiet", "-q", action="store_true", help="print only the final result")
    train.set_defaults(command=_train)

    export = commands.add_parser("export", help="export trained weights, ONNX or PyTorch code")
    export.add_argument("project", type=Path, help="a trained " + PROJECT_HELP[2:])
    export.add_argument("--format", required=True, choices=tuple(EXPORT_SUFFIXES), dest="fmt",
                        help="what to write: the weights (safetensors, npz), an ONNX model, or PyTorch code")
    export.add_argument("--out", type=Path, metavar="PATH", help="output file (a folder for pytorch)")
    export.set_defaults(command=_export)

    predict = commands.add_parser("predict", help="predict with a trained project")
    predict.add_argument("project", type=Path, help="a trained " + PROJECT_HELP[2:])
    predict.add_argument("inputs", type=Path, metavar="INPUT", help="a .csv of numbers or a .npy / .npz array")
    predict.add_argument("--out", type=Path, metavar="FILE",
                         help=".csv (predictions with class names) or .npy (class indices or values); "
                              "default: print CSV")
    predict.set_defaults(command=_predict)

    new = commands.add_parser("new", help="create a project from a template")
    new.add_argument("template", help="a template key (see: layerforge templates)")
    new.add_argument("project", type=Path, help="the .lfproj file to create")
    new.add_argument("--dataset", help="a built-in dataset (default: the template's)")
    new.add_argument("--epochs", type=_positive_int)
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    new.set_defaults(command=_new)
    add_import_command(commands)

    for name, function, text in (("templates", _templates, "list the model templates"),
                                 ("examples", _examples, "list the shipped example projects")):
        commands.add_parser(name, help=text).set_defaults(command=function)
    register_datasets(commands)
    doctor = commands.add_parser("doctor", help="check what Layerforge needs on this machine: Qt's system "
                                 "libraries, OpenGL, BLAS threads, cupy and GPUs, writable folders; each line OK "
                                 "or what to do")
    doctor.set_defaults(command=_doctor)
    register_analyze(commands)
    parser.set_defaults(command=lambda args: (parser.print_help(), EXIT_USAGE)[1])
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _device_choice(text: str) -> str:
    """cpu, cuda, cuda:N (the N-th GPU) or auto; whether that GPU exists is the Trainer's to say."""
    value = text.strip().lower()
    kind, _, index = value.partition(":")
    if value in ("cpu", "cuda", "auto") or (kind == "cuda" and index.isdigit()):
        return value
    raise argparse.ArgumentTypeError(f"{text!r} is not a device: use cpu, cuda, cuda:N (e.g. cuda:1) or auto")


# -- the GUI ---------------------------------------------------------------------------------------

GUI_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph")


def _open_gui(project: str | None = None) -> int:
    try:
        from layerforge.app import main as app_main
    except ImportError as error:
        return _gui_unavailable(error)
    try:
        return int(app_main(["layerforge", project] if project else None) or 0)
    except ImportError as error:   # Qt is imported lazily, when the window is made
        if (error.name or "").split(".")[0] not in GUI_PACKAGES:
            raise
        return _gui_unavailable(error)


def _gui_unavailable(error: ImportError) -> int:
    return _fail(f"the desktop app is not available in this installation ({error}); the headless "
                 f"commands still work: layerforge --help", EXIT_USAGE)


# -- train -------------------------------------------------------------------------------------------

def _train(args) -> int:
    from layerforge.data import DataSource
    from layerforge.training import ResumeState, Trainer, TrainingError
    from layerforge.training.project import load_project, save_project
    from layerforge.training.project_lock import ProjectLock

    args.project = _project_path(args.project)
    out = args.project if args.out is None else args.out / args.project.name
    if args.out is None and _is_shipped_example(args.project):
        out = Path.cwd() / args.project.name   # never write into the installed package
    # Held from before loading until the save: a second `layerforge train` of the same project (or a
    # window saving it) is refused with who holds it, instead of one silently overwriting the other.
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"{out.parent}: cannot create the folder ({error.strerror or error})") from None
    with ProjectLock(out, "trained"):
        project, weights = load_project(args.project)
        for warning in project.warnings:
            _note(warning)
        if args.resume and weights is None:
            raise UserError(f"{args.project} has no trained weights to continue from; train without --continue")
        changes = {key: value for key, value in (("epochs", args.epochs), ("device", args.device)) if value}
        settings = project.settings.replace(**changes)
        base_dir = args.project.parent
        dataset = project.load_dataset(base_dir)
        for note in getattr(dataset, "notes", ()):
            _note(note)
        printer = ProgressPrinter(sys.stdout, sys.stderr, quiet=args.quiet)
        resume = None
        if args.resume and project.resume:   # saved with its optimizer's state: carry on exactly
            try:
                resume = ResumeState.unpack(project.resume_tensors, project.resume, project.history)
            except TrainingError as error:
                _note(f"{error}; continuing from the weights alone")
        # No prediction snapshots: nothing here shows them, and a 2-D boundary's grid of 10,000 points
        # cost as much as the spiral example's training itself, epoch after epoch
        trainer = Trainer(project.spec, dataset, settings.replace(snapshot_every=0), listener=printer,
                          initial_state=weights if args.resume and resume is None else None, resume=resume)
        result = _run_interruptibly(trainer)
        if result is None or result.status == "stopped":
            printer.clear()
            where = f"{out} is unchanged" if out.exists() else f"{out} was not written"
            print(f"layerforge: interrupted at epoch {trainer.epoch}, step {trainer.step}; nothing saved ({where})",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        if result.status == "failed":
            return _fail(f"training failed: {result.reason}; nothing saved")
        project.record_run(trainer)
        project.settings = project.settings.replace(snapshot_every=settings.snapshot_every)  # the window's
        # Paths in the data source are relative to the project's folder; keep them valid from the new one.
        project.data_source = _absolute_source(DataSource.from_dict(project.data_source), base_dir).to_dict()
        with _deferred_interrupts(f"layerforge: saving {out}; stopping as soon as it is written"):
            save_project(project, out, trainer.state_dict())
    print(f"saved the trained project to {out}")
    return EXIT_OK


def _note(text: str) -> None:
    print(f"layerforge: note: {text}", file=sys.stderr)


def _project_path(path: Path) -> Path:
    """A project file, or a shipped example's name ("spiral"); says on stderr which one it took.

    A file wins over an example: after `layerforge train spiral` wrote ./spiral.lfproj, "spiral"
    means that file (the trained one), not the bundled example it started from.
    """
    from layerforge.training.project import SUFFIX, example_project_path, example_projects

    if os.path.lexists(path) and not path.is_dir():
        return path
    if path.suffix.lower() != SUFFIX:
        beside = path.with_name(path.name + SUFFIX)
        if os.path.lexists(beside):
            print(f"layerforge: using {_shown(beside)}", file=sys.stderr)
            return beside
        if path.name == str(path) and path.name in example_projects():
            print(f"layerforge: using the bundled example '{path.name}'", file=sys.stderr)
            return example_project_path(path.name)
    return path


def _shown(path: Path) -> str:
    """``./spiral.lfproj`` for a bare name, so it reads as the file in this folder."""
    return f".{os.sep}{path}" if not path.is_absolute() and path.parent == Path(".") else str(path)


def _is_shipped_example(path: Path) -> bool:
    from layerforge.training.project import example_project_path, example_projects

    names = example_projects()
    return bool(names) and path.resolve().parent == example_project_path(names[0]).resolve().parent


def _absolute_source(source, base_dir: Path):
    from layerforge.data import DataSource

    settings = dict(source.settings)
    for key in ("path", "targets_path"):
        value = settings.get(key)
        if value and not Path(value).expanduser().is_absolute():
            settings[key] = str((base_dir / value).resolve())
    return DataSource(source.kind, settings)


# -- export ------------------------------------------------------------------------------------------

def _export(args) -> int:
    from layerforge.training.project import load_project
    from layerforge.workspace.project_export import export_project

    args.project = _project_path(args.project)
    project, weights = load_project(args.project)
    if weights is None:
        raise UserError(f"{args.project} has no trained weights to export: run 'layerforge train {args.project}' first")
    out = args.out or args.project.with_name(args.project.stem + EXPORT_SUFFIXES[args.fmt])
    try:
        written = export_project(project, weights, args.fmt, Path(out), project_dir=args.project.parent)
    except (ValueError, OSError) as error:
        raise UserError(f"export to {args.fmt} failed: {error}") from None
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


# -- predict -----------------------------------------------------------------------------------------

def _predict(args) -> int:
    import numpy as np

    from layerforge.data import read_inputs
    from layerforge.data.files import check_regular_file
    from layerforge.training.inference import Predictor
    from layerforge.training.project import load_project

    args.project = _project_path(args.project)
    project, weights = load_project(args.project)
    predictor = Predictor(project, weights)
    # Before reading: a FIFO would block the reader, /dev/zero never ends.
    check_regular_file(args.inputs, what="data file", error=UserError)
    predictions = predictor.predict(read_inputs(args.inputs))
    header, rows = predictions.rows()
    if args.out is None:
        _write_csv(sys.stdout, header, rows)
        return EXIT_OK
    suffix = args.out.suffix.lower()
    if suffix == ".npy":
        array = predictions.labels if predictions.labels is not None else predictions.outputs
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        _write_atomic(args.out, buffer.getvalue())
    elif suffix == ".csv":
        text = io.StringIO()
        _write_csv(text, header, rows)
        _write_atomic(args.out, text.getvalue().encode("utf-8"))
    else:
        raise UserError(f"--out must end in .csv or .npy, got {args.out.name!r}")
    print(f"wrote {len(rows)} predictions to {args.out}")
    return EXIT_OK


def _write_csv(stream: TextIO, header: list, rows: list) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def _write_atomic(path: Path, content: bytes) -> None:
    from layerforge import atomic

    if path.parent.exists() and not path.parent.is_dir():
        raise UserError(f"{path}: cannot write: {path.parent} is a file, not a folder")
    try:
        atomic.write_bytes(path, content)
    except OSError as error:
        raise UserError(f"{path}: cannot write ({error.strerror or error})") from None


# -- new, templates, datasets, examples --------------------------------------------------------------

def _new(args) -> int:
    from layerforge.data import DataSource, load_dataset
    from layerforge.graph import get_template
    from layerforge.training import TrainingSettings
    from layerforge.training.project import Project, save_project
    from layerforge.training.examples import spec_for_dataset

    try:
        template = get_template(args.template)
    except KeyError as error:
        raise UserError(error.args[0]) from None
    if args.project.exists() and not args.force:
        raise UserError(f"{args.project} already exists; choose another name or pass --force")
    dataset_name = args.dataset or template.dataset
    dataset = load_dataset(dataset_name)
    spec = spec_for_dataset(template, dataset)
    settings = TrainingSettings.from_template(template, **({"epochs": args.epochs} if args.epochs else {}))
    project = Project(args.project.stem, spec, DataSource.builtin(dataset_name).to_dict(), settings,
                      description=template.description)
    save_project(project, args.project)
    print(f"created {args.project}: {template.name} on '{dataset_name}' ({dataset.summary()})")
    return EXIT_OK


def _doctor(args) -> int:
    from layerforge.doctor import run_doctor
    return run_doctor(sys.stdout)


def _templates(args) -> int:
    from layerforge.graph import templates
    rows = [(t.key, t.name, t.dataset, t.task, t.description) for t in templates()]
    _print_table(("key", "name", "dataset", "task", "description"), rows)
    return EXIT_OK


def _examples(args) -> int:
    from layerforge.training.project import example_project_path, example_projects
    rows = [(name, str(example_project_path(name))) for name in example_projects()]
    _print_table(("name", "path"), rows)
    return EXIT_OK


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)] + [str(row[-1])]
        print("  ".join(cells).rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
