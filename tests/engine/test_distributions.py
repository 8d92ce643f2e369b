"""torch.distributions' Normal, Uniform, Bernoulli and Categorical against PyTorch: log_prob, entropy,
moments, cdf/icdf and kl_divergence (values and every parameter's gradient); samples by their
statistics and shapes (the engine draws from its own generator, so not PyTorch's numbers)."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


def D(m):
    return m.distributions


DENSITIES = [
    case("normal", lambda m, loc, scale, x: (D(m).Normal(loc, scale).log_prob(x), D(m).Normal(loc, scale).entropy(),
                                             D(m).Normal(loc, scale).cdf(x), D(m).Normal(loc, scale).variance,
                                             D(m).Normal(loc, scale).stddev), [(3, 1), (4,), (3, 4)], low=0.3),
    case("normal_icdf", lambda m, loc, scale, q: D(m).Normal(loc, scale).icdf(q), [(3,), (3,), (3,)], low=0.1, high=0.9),
    case("normal_scalar_params", lambda m, x: D(m).Normal(0.5, 2.0).log_prob(x), [(5,)]),
    case("uniform", lambda m, low, x: (D(m).Uniform(low, low + 2).log_prob(x), D(m).Uniform(low, low + 2).entropy(),
                                       D(m).Uniform(low, low + 2).mean, D(m).Uniform(low, low + 2).variance),
         [(4,), (4,)], low=0.1, high=1.0),
    case("bernoulli_probs", lambda m, p, x: (D(m).Bernoulli(probs=p).log_prob((x > 0.5).to(p.dtype)),
                                             D(m).Bernoulli(probs=p).entropy(), D(m).Bernoulli(probs=p).variance),
         [(5,), (5,)], low=0.05, high=0.95),
    case("bernoulli_logits", lambda m, l, x: (D(m).Bernoulli(logits=l).log_prob((x > 0).to(l.dtype)),
                                              D(m).Bernoulli(logits=l).entropy(), D(m).Bernoulli(logits=l).probs),
         [(2, 3), (2, 3)]),
    case("categorical_logits", lambda m, l: (D(m).Categorical(logits=l).log_prob(m.tensor([0, 2, 1], device=l.device)),
                                             D(m).Categorical(logits=l).entropy(), D(m).Categorical(logits=l).probs),
         [(3, 4)]),
    case("categorical_probs", lambda m, p: (D(m).Categorical(probs=p).log_prob(m.tensor([[3], [0]], device=p.device)),
                                            D(m).Categorical(probs=p).entropy(), D(m).Categorical(probs=p).logits),
         [(2, 4)], low=0.1, high=1.0),
    case("kl_normal", lambda m, a, b, c, d: D(m).kl_divergence(D(m).Normal(a, b), D(m).Normal(c, d)),
         [(3,), (3,), (3,), (3,)], low=0.3),
    case("kl_categorical", lambda m, a, b: D(m).kl_divergence(D(m).Categorical(logits=a), D(m).Categorical(logits=b)),
         [(2, 4), (2, 4)]),
    case("kl_bernoulli", lambda m, a, b: D(m).kl_divergence(D(m).Bernoulli(probs=a), D(m).Bernoulli(probs=b)),
         [(4,), (4,)], low=0.05, high=0.95),
    case("kl_uniform", lambda m, a, b: D(m).kl_divergence(D(m).Uniform(a, a + 1), D(m).Uniform(b - 1, b + 2)),
         [(3,), (3,)], low=0.2, high=0.8),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", DENSITIES)
def test_distribution_densities_match_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
def test_samples_have_the_distributions_shapes_and_statistics(device):
    lf.manual_seed(0)
    loc = lf.tensor([0.0, 3.0], device=device, requires_grad=True)
    normal = lf.distributions.Normal(loc, lf.tensor([1.0, 0.5], device=device))
    draws = normal.rsample((20000,))
    assert draws.shape == (20000, 2) and draws.requires_grad and not normal.sample((3,)).requires_grad
    np.testing.assert_allclose(draws.detach().cpu().numpy().mean(0), [0.0, 3.0], atol=0.03)
    np.testing.assert_allclose(draws.detach().cpu().numpy().std(0), [1.0, 0.5], atol=0.02)
    draws.mean().backward()
    np.testing.assert_allclose(loc.grad.cpu().numpy(), [0.5, 0.5], rtol=1e-3)  # the reparameterisation trick
    categorical = lf.distributions.Categorical(probs=lf.tensor([[0.1, 0.0, 0.9], [0.5, 0.5, 0.0]], device=device))
    picks = categorical.sample((10000,))
    assert picks.shape == (10000, 2) and picks.dtype == lf.int64 and categorical.batch_shape == (2,)
    counts = np.stack([np.bincount(picks.cpu().numpy()[:, i], minlength=3) / 10000 for i in range(2)])
    np.testing.assert_allclose(counts, [[0.1, 0.0, 0.9], [0.5, 0.5, 0.0]], atol=0.02)
    bernoulli = lf.distributions.Bernoulli(probs=lf.tensor([0.2, 0.7], device=device))
    np.testing.assert_allclose(bernoulli.sample((20000,)).cpu().numpy().mean(0), [0.2, 0.7], atol=0.02)
    uniform = lf.distributions.Uniform(lf.tensor(1.0, device=device), lf.tensor(3.0, device=device)).sample((5000,))
    assert 1.0 <= float(uniform.min()) and float(uniform.max()) < 3.0


def test_reinforce_step_matches_torch():
    """A policy-gradient step as RL tutorials write it: sample an action, loss = -log_prob * reward."""
    logits = np.array([[0.2, -0.4, 1.0], [0.0, 0.3, -0.1]])
    actions, rewards = [2, 0], [1.5, -0.5]

    def step(m):
        theta = m.tensor(logits, requires_grad=True)
        dist = m.distributions.Categorical(logits=theta)
        loss = -(dist.log_prob(m.tensor(actions)) * m.tensor(rewards)).sum() - 0.01 * dist.entropy().sum()
        loss.backward()
        return loss.item(), theta.grad.numpy()

    (ours_loss, ours_grad), (their_loss, their_grad) = step(lf), step(torch)
    assert ours_loss == pytest.approx(their_loss, rel=1e-12)
    np.testing.assert_allclose(ours_grad, their_grad, rtol=1e-10)
