"""``layerforge import MODEL.onnx -o PROJECT.lfproj``: an ONNX model as a Layerforge project, headless.

The same operation as File > Import model... (``Workspace.import_model``), saved the way Save As
saves: the project file and its weights beside it. Prints what was imported; a model that cannot be
imported prints every operator without a layer and exits 1, writing nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_ERROR = 0, 1
PROJECT_SUFFIX = ".lfproj"
UNCHANGED = "\nThe open project is unchanged."


def add_import_command(commands) -> argparse.ArgumentParser:
    """Register ``import`` on the ``layerforge`` parser's subcommands."""
    parser = commands.add_parser("import", help="import an ONNX model as a project (layers, weights, layout)")
    parser.add_argument("model", type=Path, metavar="MODEL", help="an .onnx file")
    parser.add_argument("-o", "--out", type=Path, metavar="PROJECT",
                        help="the .lfproj file to write (default: MODEL's name with .lfproj, in the current folder)")
    parser.add_argument("--dataset", help="a built-in dataset for the project (default: spiral; choose one whose "
                                          "samples fit the model's input to train or evaluate it)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing project file")
    parser.set_defaults(command=_import)
    return parser


def _import(args) -> int:
    from layerforge.cli import UserError
    from layerforge.workspace import Workspace, WorkspaceError

    out = args.out if args.out is not None else Path.cwd() / (args.model.stem + PROJECT_SUFFIX)
    if not out.name.endswith(PROJECT_SUFFIX):
        out = out.with_name(out.name + PROJECT_SUFFIX)
    if out.exists() and not args.force:
        raise UserError(f"{out} already exists; choose another name or pass --force")
    workspace = Workspace()
    try:
        if args.dataset:
            workspace.choose_builtin(args.dataset)
        notes = workspace.import_model(args.model, discard=True)   # a fresh workspace: nothing to lose
        workspace.save_as(out)
    except WorkspaceError as error:
        reason = error.reason.removesuffix(UNCHANGED).removesuffix("; the open project is unchanged")
        raise UserError(f"{args.model}: {reason}; nothing was written") from None
    imported = workspace.last_import
    print(f"imported {args.model.name} into {out}: {imported.summary()}")
    operators = ", ".join(f"{count} {op}" for op, count in sorted(imported.operators.items()))
    print(f"  from {sum(imported.operators.values())} ONNX operators: {operators}")
    if imported.normalization is not None:
        print("  its input standardisation became the project's normalisation")
    for note in notes[1:]:
        print(f"layerforge: note: {note}", file=sys.stderr)
    return EXIT_OK
