"""``torch.vmap`` by a loop: the function runs once per slice along the mapped dimension and the results
are stacked, so values and gradients are the function's own (PyTorch batches the operations instead;
the results agree, the speed does not). Arguments are Tensors mapped along their ``in_dims`` entry
(None: passed whole) or other values passed as they are; results are a Tensor or a tuple of Tensors."""
from __future__ import annotations

from .ops import stack
from .tensor import Tensor


def _dims_for(in_dims, args):
    if isinstance(in_dims, int) or in_dims is None:
        return [in_dims if isinstance(a, Tensor) else None for a in args]
    dims = list(in_dims)
    if len(dims) != len(args):
        raise ValueError(f"vmap(f, in_dims={tuple(in_dims)}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure {len(dims)} but inputs has structure "
                         f"{len(args)}.")
    return dims


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness}")

    def mapped(*args, **kwargs):
        dims = _dims_for(in_dims, args)
        sizes = {a.shape[d] for a, d in zip(args, dims) if d is not None and isinstance(a, Tensor)}
        if not sizes:
            raise ValueError("vmap(f, in_dims=..., ...)(<inputs>): at least one input must be a Tensor mapped "
                             "over a dimension (in_dims not None)")
        if len(sizes) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got "
                             f"sizes {sorted(sizes)} for the mapped dimension")
        results = []
        for i in range(sizes.pop()):
            sliced = [a.select(d, i) if d is not None else a for a, d in zip(args, dims)]
            results.append(func(*sliced, **kwargs))
        single = isinstance(results[0], Tensor)
        columns = [[r] for r in results] if single else [list(r) for r in results]
        outs = []
        for j in range(len(columns[0])):
            dim = out_dims if isinstance(out_dims, int) else out_dims[j]
            outs.append(stack([column[j] for column in columns], dim))
        return outs[0] if single else tuple(outs)

    return mapped
