"""Fixtures shared by the engine's tests."""
from __future__ import annotations

import pytest

from layerforge.engine.ops import small_products


@pytest.fixture
def avx512_one_thread(monkeypatch):
    """numpy's OpenBLAS as if on AVX-512 kernels with one thread: where products are cut for its
    small-matrix kernels (``small_products.py``), on any machine (elsewhere the cuts are merely not
    faster)."""
    monkeypatch.setattr(small_products, "blas_core", lambda: "SkylakeX")
    monkeypatch.setattr(small_products, "get_num_threads", lambda: 1)
