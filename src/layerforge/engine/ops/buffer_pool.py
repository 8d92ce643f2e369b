"""Pooled CPU buffers for the engine's large per-step arrays (convolution columns, activations,
gradients, LSTM scratch), so that a training step reuses memory that is already mapped."""
from __future__ import annotations

import math
import threading

import numpy as np

from ..allocator import freed_memory_kept
from ..backend import module_of


class _Workspace:
    """Recycles the big column matrices between training steps.

    Each step needs the same few multi-megabyte buffers again; fresh allocations of that size come
    from new pages that the OS must fault in and zero (measured: about half of a LeNet step on the
    CPU). A buffer comes back here when its graph node is released after backward, or when the last
    array made from a lent buffer is gone; the pool is bounded, so at most a few buffers per shape are
    held, and when it is full the shapes used least recently make room (a run that moves on to other
    shapes, say a validation batch size, does not leave the pool holding only stale ones). GPU arrays
    are not kept: cupy's own memory pool already recycles device memory without faults.
    """

    MAX_PER_SHAPE = 2
    MAX_BYTES = 256 * 2**20

    def __init__(self):
        self._free: dict = {}
        self._bytes = 0
        self._out: dict = {}    # per shape: buffers handed out and not back yet
        self._most: dict = {}   # per shape: the most handed out at once
        self._lock = threading.Lock()
        # the malloc policy is settled when the engine is imported, before any kernel module
        self.result_bytes = self.KEPT_RESULT_BYTES if freed_memory_kept() else self.LEND_BYTES

    def take(self, xp, shape, dtype):
        if xp is not np:
            return xp.empty(shape, dtype=dtype)
        if not isinstance(dtype, np.dtype):
            dtype = np.dtype(dtype)
        key = (shape, dtype)  # equal dtypes hash alike; str(dtype) cost ~2 us a call
        with self._lock:
            out = self._out.get(key, 0) + 1
            self._out[key] = out
            if out > self._most.get(key, 0):
                self._most[key] = out
            stack = self._free.pop(key, None)
            if stack is not None:
                self._free[key] = stack  # most recently used last
                if stack:
                    array = stack.pop()
                    self._bytes -= array.nbytes
                    return array
        return xp.empty(shape, dtype=dtype)

    def give(self, array, wait=True):
        if type(array) is not np.ndarray or array.base is not None:
            return
        key = (array.shape, array.dtype)
        # A lease hands its buffer back from __del__, which may run inside a garbage collection that
        # interrupted this thread while it held the lock: never wait there (the buffer is then freed).
        if not self._lock.acquire(wait):
            return
        try:
            out = self._out.get(key, 0)
            if out:
                self._out[key] = out - 1
            stack = self._free.pop(key, [])
            self._free[key] = stack  # most recently used last
            if len(stack) >= max(self.MAX_PER_SHAPE, self._most.get(key, 0)) or array.nbytes > self.MAX_BYTES:
                return
            if self._bytes + array.nbytes > self.MAX_BYTES:
                for other in list(self._free):  # least recently used first
                    if self._bytes + array.nbytes <= self.MAX_BYTES or other == key:
                        break
                    for evicted in self._free.pop(other):
                        self._bytes -= evicted.nbytes
            if self._bytes + array.nbytes <= self.MAX_BYTES:
                stack.append(array)
                self._bytes += array.nbytes
        finally:
            self._lock.release()

    # Below this size numpy's allocation comes from the C heap without faults; a lease costs more.
    LEND_BYTES = 256 * 2**10

    # Where malloc keeps freed memory (glibc, told to by allocator.py), a fresh mid-sized array reuses
    # a block just freed, still in the cache, and faults nothing, so a pooled buffer is the slower of
    # the two there (the transformer row's 256-512 KiB results: multiply +50 us and Linear +50 us a
    # step). Layer results that need not be pooled (``lent``) are lent from this size up there, and
    # from LEND_BYTES where freed memory goes back to the system: ``result_bytes``, set per process.
    KEPT_RESULT_BYTES = 2**20

    def lend(self, shape, dtype):
        """A CPU array for a node's *output*, whose lifetime the node does not know: its buffer comes
        from the pool and goes back to it when the last array using it is gone (see ``_Lease``)."""
        dtype = np.dtype(dtype)
        if math.prod(shape) * dtype.itemsize < self.LEND_BYTES:
            return np.empty(shape, dtype=dtype)
        return np.asarray(_Lease(self.take(np, shape, dtype), self))

    def clear(self):
        with self._lock:
            self._free.clear()
            self._out.clear()
            self._most.clear()
            self._bytes = 0


class _Lease:
    """The owner of a pooled buffer lent out as an array (``np.asarray(lease)`` makes an array whose
    base is the lease, and numpy keeps every view of that array pointing to it): when the last view
    is gone, the lease dies and gives the buffer back. So a multi-megabyte activation or gradient,
    which leaves its node for an unknown time, reuses memory that is already mapped instead of
    faulting in fresh pages each step (about 18 ms of kernel time per MNIST-example step)."""

    __slots__ = ("__array_interface__", "_store", "_pool")

    def __init__(self, store, pool):
        self._store, self._pool = store, pool
        self.__array_interface__ = store.__array_interface__

    def __del__(self):
        try:
            self._pool.give(self._store, wait=False)
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing to give back to
            pass


workspace = _Workspace()


def lent(xp, shape, dtype):
    """A node's result array whose lifetime the node does not know: on the CPU from
    ``workspace.result_bytes`` up a lent buffer of the workspace (``_Workspace.lend``), else a plain
    one (cupy's pool recycles device memory)."""
    if xp is not np:
        return xp.empty(shape, dtype=dtype)
    dtype = np.dtype(dtype)
    if math.prod(shape) * dtype.itemsize < workspace.result_bytes:
        return np.empty(shape, dtype=dtype)
    return workspace.lend(shape, dtype)


def lent_like(xp, a):
    """``xp.empty_like(a)``; for a large C-contiguous CPU array, a ``lent`` one (see ``lent``)."""
    if xp is np and a.nbytes >= workspace.result_bytes and a.flags.c_contiguous:
        return workspace.lend(a.shape, a.dtype)
    return xp.empty_like(a)


def lent_copy(xp, a):
    """A contiguous copy of ``a`` (of module ``xp``) in a ``lent`` array."""
    out = lent(xp, a.shape, a.dtype)
    xp.copyto(out, a)
    return out


def padded_copy(values, first, pads, fill=0):
    """``values`` padded with ``fill`` along axes ``first`` and ``first + 1`` by ``pads``, ((top, bottom),
    (left, right)), in a workspace buffer (given back by the caller): one copy, and the fill written
    only into the border (a fresh zeroed array each step would fault its pages in)."""
    (pt, pb), (pl, pr) = pads
    h, w = values.shape[first], values.shape[first + 1]
    shape = values.shape[:first] + (h + pt + pb, w + pl + pr) + values.shape[first + 2:]
    out = workspace.take(np if type(values) is np.ndarray else module_of(values), shape, values.dtype)
    lead = (slice(None),) * first
    out[lead + (slice(0, pt),)] = fill
    out[lead + (slice(pt + h, None),)] = fill
    out[lead + (slice(pt, pt + h), slice(0, pl))] = fill
    out[lead + (slice(pt, pt + h), slice(pl + w, None))] = fill
    out[lead + (slice(pt, pt + h), slice(pl, pl + w))] = values
    return out
