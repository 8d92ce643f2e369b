"""Running the ``layerforge`` command in-process, as the CLI tests do."""
from __future__ import annotations

from layerforge.cli import main


def run(capsys, *args):
    """(exit code, stdout, stderr) of ``layerforge ARGS``; a traceback on stderr fails the test."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err
