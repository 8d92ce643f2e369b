"""torch.inference_mode against PyTorch: grad mode and is_inference_mode_enabled inside and after it,
nested with no_grad and mode=False, as a decorator with and without parentheses, and models run
under it build no graph."""
import pytest

import layerforge.engine as lf
from engine_oracle import torch


def _states(m):
    seen = [(m.is_grad_enabled(), m.is_inference_mode_enabled())]
    with m.inference_mode():
        seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
        with m.inference_mode(False):
            seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
        seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
    with m.no_grad():
        with m.inference_mode(mode=False):
            seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))
    seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))

    @m.inference_mode()
    def called():
        return m.is_grad_enabled(), m.is_inference_mode_enabled()

    @m.inference_mode
    def bare():
        return m.is_grad_enabled(), m.is_inference_mode_enabled()

    seen += [called(), bare(), (m.is_grad_enabled(), m.is_inference_mode_enabled())]
    return seen


def test_modes_inside_and_after_match_torch():
    assert _states(lf) == _states(torch)


@pytest.mark.parametrize("m", [torch, lf], ids=["torch", "layerforge"])
def test_a_model_under_inference_mode_builds_no_graph(m):
    model = m.nn.Linear(3, 2)
    x = m.ones(4, 3)
    with m.inference_mode():
        out = model(x)
    assert not out.requires_grad and out.grad_fn is None
    assert model(x).requires_grad  # and the mode is over
