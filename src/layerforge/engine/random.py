"""Random numbers: one seeded generator per device, as ``torch.manual_seed`` sets them all."""
from __future__ import annotations

import json
import math
import threading

import numpy as np

from . import backend
from .tensor import Tensor


class Generator:
    """A seeded source of random numbers on one device (``torch.Generator``)."""

    def __init__(self, device="cpu"):
        self.device = backend.as_device(device)
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self._state = None
        self._lock = threading.Lock()

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed) % (2**64)
        self._state = None
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        return self._engine().bit_generator.state if self.device.type == "cpu" else None

    def set_state(self, state) -> None:
        self._engine().bit_generator.state = state

    def _engine(self):
        if self._state is None:
            if self.device.type == "cpu":
                self._state = np.random.Generator(np.random.PCG64(self._seed))
            else:
                cp = backend.array_module(self.device)
                with backend.device_context(self.device):
                    self._state = cp.random.default_rng(self._seed)
        return self._state


_default_generators: dict = {}


def default_generator(device=None) -> Generator:
    dev = backend.as_device(device)
    gen = _default_generators.get(dev)
    if gen is None:
        gen = _default_generators[dev] = Generator(dev)
        gen.manual_seed(_last_seed)
    return gen


_last_seed = 0


def manual_seed(seed: int) -> Generator:
    """Seed every device's default generator."""
    global _last_seed
    _last_seed = int(seed)
    for gen in _default_generators.values():
        gen.manual_seed(seed)
    return default_generator("cpu").manual_seed(seed)


def seed() -> int:
    return manual_seed(int(np.random.SeedSequence().entropy % (2**63))).initial_seed()


def initial_seed() -> int:
    return default_generator("cpu").initial_seed()


def _generator_for(device, generator):
    if generator is not None:
        if generator.device != backend.as_device(device):
            raise RuntimeError(f"Expected a '{backend.as_device(device).type}' device type for "
                               f"generator but found '{generator.device.type}'")
        return generator._engine()
    return default_generator(device)._engine()


def _float_dtype(dtype):
    np_dtype = np.dtype(dtype)
    return np_dtype if np_dtype in (np.float32, np.float64) else np.float32


def uniform(shape, dtype, device, generator=None, low=0.0, high=1.0):
    """Uniform numbers in [low, high)."""
    rng = _generator_for(device, generator)
    with backend.device_context(backend.as_device(device)):
        out = rng.random(shape, dtype=_float_dtype(dtype))
        if low != 0.0 or high != 1.0:
            out *= high - low
            out += low
        return out.astype(dtype, copy=False)


def keep_mask(shape, p, scale, out, generator=None):
    """Dropout's mask on the CPU: ``out`` (a float array of ``shape``) set to ``scale`` where a value is
    kept, with probability 1 - ``p``, and 0 elsewhere. The draws are 32-bit words of the generator's
    raw 64-bit output, kept where at least p * 2**32: half the time of float32 uniforms (131,072
    values 221 -> 109 us), and p resolved to 2**-32 where a float32 uniform resolves 2**-24."""
    rng = _generator_for("cpu", generator)
    size = math.prod(shape)
    words = rng.bit_generator.random_raw((size + 1) // 2).view(np.uint32)[:size].reshape(shape)
    np.greater_equal(words, np.uint32(min(round(p * 2.0**32), 2**32 - 1)), out=out)
    out *= scale
    return out


def normal(shape, dtype, device, generator=None, mean=0.0, std=1.0):
    rng = _generator_for(device, generator)
    with backend.device_context(backend.as_device(device)):
        out = rng.standard_normal(shape, dtype=_float_dtype(dtype))
        if std != 1.0 or mean != 0.0:
            out = out * std + mean
        return out.astype(dtype, copy=False)


def integers(low, high, shape, dtype, device, generator=None):
    rng = _generator_for(device, generator)
    with backend.device_context(backend.as_device(device)):
        return rng.integers(low, high, size=shape).astype(dtype, copy=False)


def permutation(n, device, generator=None):
    rng = _generator_for(device, generator)
    with backend.device_context(backend.as_device(device)):
        if not hasattr(rng, "permutation"):  # cupy's Generator has none: sort random keys on the GPU
            return rng.random(n).argsort().astype(np.int64)
        return rng.permutation(n).astype(np.int64)


def normal_array(t, mean, std, generator):
    return normal(t._data.shape, t._data.dtype, t.device, generator, mean, std)


def uniform_array(t, a, b, generator):
    return uniform(t._data.shape, t._data.dtype, t.device, generator, a, b)


def get_rng_state():
    """The CPU generator's state as a uint8 tensor (bytes of its JSON description), for set_rng_state."""
    state = json.dumps({"seed": default_generator("cpu").initial_seed(), "state": default_generator("cpu").get_state()})
    return Tensor._wrap(np.frombuffer(state.encode(), dtype=np.uint8).copy())


def set_rng_state(new_state) -> None:
    data = json.loads(bytes(backend.to_host(new_state._data).astype(np.uint8)).decode())
    generator = default_generator("cpu")
    generator.manual_seed(data["seed"])
    generator.set_state(data["state"])
