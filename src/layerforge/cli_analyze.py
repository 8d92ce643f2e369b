"""``layerforge analyze PROJECT [--csv]``: the table of Model > Analyze, printed.

Every layer with its output shape, trainable parameters, activation memory and FLOPs per sample,
and the totals (:mod:`layerforge.graph.analyze`). An invalid model prints the table of what could be
worked out, then its problems, and exits 1.
"""
from __future__ import annotations

import sys
from pathlib import Path


def register_analyze(commands) -> None:
    """Add the ``analyze`` subcommand to ``commands`` (the ``layerforge`` parser's subparsers)."""
    from layerforge.cli import PROJECT_HELP

    analyze = commands.add_parser("analyze", help="list every layer's output shape, parameters, activation "
                                  "memory and FLOPs per sample, with the totals (as Model > Analyze)")
    analyze.add_argument("project", type=Path, help=PROJECT_HELP)
    analyze.add_argument("--csv", action="store_true", help="print CSV (plain numbers: bytes, FLOPs) instead of "
                         "the aligned table")
    analyze.set_defaults(command=run_analyze)


def run_analyze(args) -> int:
    from layerforge.cli import EXIT_ERROR, EXIT_OK, _note, _project_path
    from layerforge.graph.analyze import analyze
    from layerforge.training.project import load_project

    args.project = _project_path(args.project)
    project = load_project(args.project)[0]
    for warning in project.warnings:
        _note(warning)
    analysis = analyze(project.spec)
    print(analysis.csv() if args.csv else analysis.text(), end="" if args.csv else "\n")
    if analysis.errors:
        first = analysis.errors[0]
        more = len(analysis.errors) - 1
        print(f"layerforge: error: {args.project}: the model is not valid: {first}"
              + (f" (and {more} more)" if more else ""), file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
