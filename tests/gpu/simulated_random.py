"""``cupy.random`` and the cupyx functions the engine uses (scatter_add, erf, erfc), for the simulated GPU.

Part of the strict CPU stand-in for cupy (simulated_cupy.py explains it). Built around the array
side's helpers, so device arrays go in and out as everywhere else in the simulation.
"""
from __future__ import annotations

import math
import types

import numpy as np


class RandomModule(types.ModuleType):
    """``cupy.random``: ``default_rng`` only (all the engine asks for)."""

    def __init__(self, cp):
        super().__init__("cupy.random")
        self._cp = cp

    def __getattr__(self, name):
        if name == "default_rng":
            return lambda seed=None: Generator(self._cp, seed)
        raise AttributeError(f"the simulated cupy.random offers default_rng only, not '{name}'")

    def cupyx_modules(self) -> dict:
        """``cupyx``, ``cupyx.scipy`` and ``cupyx.scipy.special``, for sys.modules."""
        cp = self._cp

        def erf(x):
            return cp._wrap(np.vectorize(math.erf, otypes=[x.dtype])(cp._unwrap(x, "cupyx.scipy.special.erf")))

        def erfc(x):
            return cp._wrap(np.vectorize(math.erfc, otypes=[x.dtype])(cp._unwrap(x, "cupyx.scipy.special.erfc")))

        def scatter_add(a, slices, value):
            np.add.at(cp._unwrap(a, "cupyx.scatter_add"), cp._index(slices, "cupyx.scatter_add"),
                      cp._unwrap(value, "cupyx.scatter_add"))

        cupyx = types.ModuleType("cupyx")
        scipy = types.ModuleType("cupyx.scipy")
        special = types.ModuleType("cupyx.scipy.special")
        cupyx.scatter_add, special.erf, special.erfc = scatter_add, erf, erfc
        cupyx.scipy, scipy.special = scipy, special
        return {"cupyx": cupyx, "cupyx.scipy": scipy, "cupyx.scipy.special": special}


class Generator:
    """``cupy.random.Generator``: only cupy's methods (it has no ``permutation``, for one)."""

    def __init__(self, cp, seed):
        self._cp = cp
        self._g = np.random.Generator(np.random.PCG64(seed))

    def __getattr__(self, name):
        cp = self._cp
        if name not in cp.NAMES["cupy.random.Generator"] or not hasattr(self._g, name):
            raise AttributeError(f"'cupy.random.Generator' object has no attribute '{name}'")
        method = getattr(self._g, name)
        where = f"Generator.{name}"

        def call(*args, **kwargs):
            return cp._wrap(method(*cp._unwrap(args, where), **cp._unwrap_kwargs(kwargs, where)))
        return call
