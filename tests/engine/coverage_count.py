"""How much of PyTorch's public API the engine names: torch functions and Tensor methods.

Run as a script (``python tests/engine/coverage_count.py [--missing]``); not a test module. A torch
function is a public routine of ``dir(torch)`` (no leading underscore, a function or builtin); a
Tensor method is a public name of ``dir(torch.Tensor)``. Covered means the engine has the same name.
"""
from __future__ import annotations

import inspect
import sys

import torch

import layerforge.engine as engine


def torch_functions():
    return sorted(n for n in dir(torch) if not n.startswith("_") and inspect.isroutine(getattr(torch, n)))


def tensor_methods():
    return sorted(n for n in dir(torch.Tensor) if not n.startswith("_"))


def main(argv):
    functions, methods = torch_functions(), tensor_methods()
    have_f = [n for n in functions if hasattr(engine, n)]
    have_m = [n for n in methods if hasattr(engine.Tensor, n)]
    print(f"torch functions: {len(have_f)} of {len(functions)}")
    print(f"Tensor methods:  {len(have_m)} of {len(methods)}")
    if "--missing" in argv:
        print("missing functions:", " ".join(n for n in functions if not hasattr(engine, n)))
        print("missing methods:", " ".join(n for n in methods if not hasattr(engine.Tensor, n)))


if __name__ == "__main__":
    main(sys.argv[1:])
