"""Anomaly detection against PyTorch: the same error (and output index) for a NaN gradient, the forward
stack of the failing operation in the warning, check_nan=False, and the mode's scope as a context
manager and a call."""
import re
import warnings

import pytest

import layerforge.engine as lf
from engine_oracle import torch


def _nan_error(m, make):
    x = m.tensor([-1.0, 4.0, 0.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with m.autograd.detect_anomaly():
            loss = make(m, x)
            with pytest.raises(RuntimeError) as error:
                loss.backward()
    return str(error.value), [str(w.message) for w in caught]


@pytest.mark.parametrize("make", [
    pytest.param(lambda m, x: x.sqrt().sum(), id="sqrt"),
    pytest.param(lambda m, x: (x[2:] / x[2:]).sum(), id="div_second_input"),
    pytest.param(lambda m, x: (x * x.log()).sum(), id="log"),
])
def test_a_nan_gradient_raises_torchs_error_naming_the_node_and_input(make):
    ours, our_warnings = _nan_error(lf, make)
    theirs, _ = _nan_error(torch, make)
    pattern = r"Function '(\w+?)Backward\d*' returned nan values in its (\d+)th output\."
    assert re.fullmatch(pattern, ours).group(2) == re.fullmatch(pattern, theirs).group(2)
    assert re.fullmatch(pattern, ours).group(1).lower() in theirs.lower()
    stack = next(w for w in our_warnings if w.startswith("Error detected in"))
    assert "Traceback of forward call that caused the error" in stack
    assert "test_anomaly.py" in stack and "loss = make(m, x)" in stack and "engine/ops" not in stack


def test_without_detection_or_check_nan_the_nan_gradient_is_kept():
    for context in (lambda: lf.autograd.set_grad_enabled(True), lambda: lf.autograd.detect_anomaly(check_nan=False)):
        x = lf.tensor([-1.0, 4.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with context():
                x.sqrt().sum().backward()
        assert x.grad.isnan().tolist() == [True, False]


def test_the_mode_is_scoped_as_in_torch():
    for m in (torch, lf):
        assert not m.is_anomaly_enabled()
        with m.autograd.set_detect_anomaly(True, check_nan=False):
            assert m.is_anomaly_enabled() and not m.is_anomaly_check_nan_enabled()
        assert not m.is_anomaly_enabled() and m.is_anomaly_check_nan_enabled()
        m.autograd.set_detect_anomaly(True)
        assert m.is_anomaly_enabled()
        m.autograd.set_detect_anomaly(False)
        assert not m.is_anomaly_enabled()

        m.set_anomaly_enabled(True, check_nan=False)
        assert m.is_anomaly_enabled() and not m.is_anomaly_check_nan_enabled()
        m.set_anomaly_enabled(False)


@pytest.mark.parametrize("m", [torch, lf], ids=["torch", "layerforge"])
def test_a_failing_backward_reports_the_forward_stack_and_raises_the_error(m):
    class Broken(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("no gradient today")

    x = m.ones(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with m.autograd.detect_anomaly():
            y = Broken.apply(x).exp().sum()
            with pytest.raises(ValueError, match="no gradient today"):
                y.backward()
    assert any("y = Broken.apply(x).exp().sum()" in str(w.message) for w in caught)
