"""Arrays into a model in batches: the training split's batch bounds, inputs onto the device, and
outputs back to the host once per split (each copy from a GPU waits for its queue)."""
from __future__ import annotations

import numpy as np

from layerforge import engine

EVAL_BATCH = 512   # inference batches: large enough to be quick, small enough for any memory
# A prediction snapshot's inputs (a 2-D boundary's grid of 10,000 points) go through the model in
# batches that keep the widest layer's output under this many values (8 MiB of float32), and of at
# least EVAL_BATCH rows: a small model takes its grid at once (the spiral example's 16-unit layers: 20
# batches -> 1, its epoch in the window with a snapshot each 4.7 -> 3.9 ms).
SNAPSHOT_VALUES = 1 << 21


def snapshot_rows(widest: int) -> int:
    """Rows a snapshot's forward pass takes at once for a model whose widest layer output is
    ``widest`` values a sample (``memory.largest_output``)."""
    return max(EVAL_BATCH, SNAPSHOT_VALUES // max(widest, 1))


def batch_bounds(n: int, batch_size: int) -> list[int]:
    """Start of each batch, then n. A lone last sample joins the batch before it, because batch
    normalisation cannot normalise a batch of one."""
    bounds = list(range(0, n, batch_size)) + [n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return bounds


def tensor_on(array: np.ndarray, device: str):
    """``array`` as an engine tensor on ``device`` (a contiguous copy only where it is not already)."""
    t = engine.from_numpy(np.ascontiguousarray(array))
    return t if device == "cpu" else t.to(device)


def forward(model, x: np.ndarray, device: str, batch: int = EVAL_BATCH) -> np.ndarray:
    """Outputs of ``model`` (already in the wanted mode) for model-ready inputs, in batches."""
    return to_host(device_outputs(model, x, device, batch), model)


def device_outputs(model, x: np.ndarray, device: str, batch: int = EVAL_BATCH) -> list:
    """``model``'s outputs for ``x`` in batches of ``batch`` rows, left on ``device``."""
    with engine.no_grad():
        return [model(tensor_on(x[start:start + batch], device)) for start in range(0, len(x), batch)]


def to_host(tensors: list, model=None) -> np.ndarray:
    """Same-shaped device tensors (batches of outputs, or scalar losses) joined on their device, then
    copied to the host at once: on a GPU each copy waits for the device, so one per split, not per
    batch. ``model`` gives an empty list its output shape."""
    if not tensors:
        shape = tuple(getattr(model, "output_shape", ()) or ())
        return np.zeros((0,) + shape, dtype=np.float32)
    if not any(t.is_cuda for t in tensors):   # on the CPU numpy joins them (a fresh array), without
        # the engine's checked cat: 13 -> 3 us for an epoch's 8 batches, three times an epoch
        arrays = [t.numpy(force=True) for t in tensors]
        return np.stack(arrays) if arrays[0].ndim == 0 else np.concatenate(arrays)
    joined = engine.stack(tensors) if tensors[0].ndim == 0 else engine.cat(tensors)
    return joined.detach().cpu().numpy()
