"""set_num_threads / get_num_threads reach numpy's BLAS pool, as torch's reach its own."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.threads import available_cpus, blas_core, blas_threads_controllable


@pytest.fixture
def restore_threads():
    before = lf.get_num_threads()
    yield
    lf.set_num_threads(before)


def test_the_count_set_is_the_count_numpy_blas_reports(restore_threads):
    if not blas_threads_controllable():
        pytest.skip("this numpy's BLAS is not OpenBLAS: its thread pool cannot be asked")
    a = lf.randn(300, 300)
    lf.set_num_threads(1)
    assert lf.get_num_threads() == 1
    one_thread = (a @ a).numpy()
    lf.set_num_threads(max(2, available_cpus()))
    assert lf.get_num_threads() == max(2, available_cpus())
    np.testing.assert_allclose((a @ a).numpy(), one_thread, rtol=1e-5, atol=1e-4)  # same product either way


@pytest.mark.parametrize("bad, message", [(0, "positive integer"), (-1, "positive integer"),
                                          (1.5, "expects an int, but got float"), (True, "expects an int")])
def test_a_bad_count_is_refused_as_torch_refuses_it(bad, message, restore_threads):
    with pytest.raises(RuntimeError, match=message):
        lf.set_num_threads(bad)


def test_blas_core_names_the_kernel_set_openblas_chose():
    if not blas_threads_controllable():
        assert blas_core() == ""
        return
    core = blas_core()
    # OpenBLAS names its kernel sets in CamelCase ("Haswell", "SkylakeX", "Zen", "Neoverse N1", ...)
    assert core and core[0].isupper() and core.isprintable(), core
