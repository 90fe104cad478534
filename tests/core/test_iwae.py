"""IWAE bounds on a linear-Gaussian model whose marginal likelihood is known in closed form.

p(z) = N(0, I_D), p(x|z) = N(Wz + b, s^2 I_N)  =>  p(x) = N(b, W W^T + s^2 I_N).
W has orthogonal columns, so the exact posterior N(mu, Sigma) has a diagonal Sigma:
Sigma = (I + W^T W / s^2)^-1, mu = Sigma W^T (x - b) / s^2 — representable by ``diagonal_gaussian``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal

from zspace.core import (
    diagonal_gaussian,
    iwae_bound,
    iwae_loss,
    kl_diagonal_gaussians,
    log_importance_weights,
    log_mean_exp,
    standard_normal,
)

F64 = torch.float64
D, N, S, B = 2, 3, 0.5, 4


@dataclass
class LinearGaussian:
    W: torch.Tensor  # (N, D)
    b: torch.Tensor  # (N,)
    x: torch.Tensor  # (B, N)
    log_px: torch.Tensor  # (B,) closed form
    post_mean: torch.Tensor  # (B, D)
    post_log_var: torch.Tensor  # (B, D)

    def log_likelihood_fn(self, repeats: int = 1):
        x = self.x.repeat(repeats, 1)  # (R*B, N)

        def log_likelihood(z: torch.Tensor) -> torch.Tensor:  # z: (c, R*B, D) -> (c, R*B)
            return Normal(z @ self.W.T + self.b, S).log_prob(x).sum(-1)

        return log_likelihood


@pytest.fixture(scope="module")
def model() -> LinearGaussian:
    g = torch.Generator().manual_seed(1234)
    q, _ = torch.linalg.qr(torch.randn(N, D, dtype=F64, generator=g))  # orthonormal columns
    W = q * torch.tensor([1.5, 0.7], dtype=F64)
    b = torch.tensor([0.3, -0.2, 0.1], dtype=F64)
    x = 1.5 * torch.randn(B, N, dtype=F64, generator=g)
    log_px = MultivariateNormal(b, W @ W.T + S**2 * torch.eye(N, dtype=F64)).log_prob(x)
    post_var = 1.0 / (1.0 + (W**2).sum(0) / S**2)  # (D,)
    post_mean = ((x - b) @ W) / S**2 * post_var  # (B, D)
    return LinearGaussian(W, b, x, log_px, post_mean, post_var.log().expand(B, D).clone())


def _imperfect_q(m: LinearGaussian) -> tuple[torch.Tensor, torch.Tensor]:
    """True posterior with its mean shifted by 0.5 and its variance inflated 1.5x."""
    return m.post_mean + 0.5, m.post_log_var + math.log(1.5)


def _repeated_bounds(m: LinearGaussian, mean, log_var, k: int, repeats: int, chunk_size: int = 500):
    """L_k for ``repeats`` independent draws per example: (R, B)."""
    posterior = diagonal_gaussian(mean.repeat(repeats, 1), log_var.repeat(repeats, 1))  # batch (R*B,)
    log_w = log_importance_weights(posterior, standard_normal(D), m.log_likelihood_fn(repeats), k, chunk_size=chunk_size)
    assert log_w.shape == (k, repeats * B)
    return iwae_bound(log_w).reshape(repeats, B)


def test_exact_posterior_gives_constant_weights_equal_to_log_px(model):
    torch.manual_seed(0)
    posterior = diagonal_gaussian(model.post_mean, model.post_log_var)
    for k in (1, 5, 50):
        log_w = log_importance_weights(posterior, standard_normal(D), model.log_likelihood_fn(), k, chunk_size=7)
        assert log_w.shape == (k, B)
        torch.testing.assert_close(log_w, model.log_px.expand(k, B), rtol=0, atol=1e-10)
        torch.testing.assert_close(iwae_bound(log_w), model.log_px, rtol=0, atol=1e-10)


def test_single_sample_bound_is_log_px_minus_kl_to_true_posterior(model):
    # E_q[log w] = log p(x) - KL(q(z|x) || p(z|x)), exactly.
    torch.manual_seed(1)
    mean, log_var = _imperfect_q(model)
    L1 = _repeated_bounds(model, mean, log_var, k=1, repeats=4000)
    expected = model.log_px - kl_diagonal_gaussians(mean, log_var, model.post_mean, model.post_log_var).sum(-1)
    se = L1.std(0) / math.sqrt(L1.shape[0])
    assert torch.all((L1.mean(0) - expected).abs() < 4 * se), (L1.mean(0), expected, se)


def test_bound_rises_with_k_and_stays_below_log_px(model):
    torch.manual_seed(2)
    mean, log_var = _imperfect_q(model)
    repeats = 600
    means, ses = [], []
    for k in (1, 5, 50, 500):
        L = _repeated_bounds(model, mean, log_var, k=k, repeats=repeats, chunk_size=250)
        # Per example: below log p(x) up to Monte-Carlo error.
        se_example = L.std(0) / math.sqrt(repeats)
        assert torch.all(L.mean(0) <= model.log_px + 3 * se_example), (k, L.mean(0) - model.log_px, se_example)
        gap = L - model.log_px  # (R, B): pool the examples for the monotonicity check
        means.append(gap.mean())
        ses.append(gap.mean(1).std() / math.sqrt(repeats))
    for (m1, s1), (m2, s2) in zip(zip(means, ses), zip(means[1:], ses[1:])):
        assert m2 - m1 > 3 * math.sqrt(s1**2 + s2**2), (means, ses)
    # The imperfect q leaves a real gap at k = 1 that L_500 almost closes.
    assert means[0] < -1.0
    assert -0.05 < means[-1] <= 0.0 + 3 * ses[-1]


def test_chunking_keeps_shape_and_distribution(model):
    mean, log_var = _imperfect_q(model)
    k, repeats = 50, 400
    out = {}
    for chunk_size in (7, 1000):
        torch.manual_seed(3)
        out[chunk_size] = _repeated_bounds(model, mean, log_var, k=k, repeats=repeats, chunk_size=chunk_size)
    a, b = out[7], out[1000]
    assert a.shape == b.shape == (repeats, B)
    se = torch.sqrt(a.var(0) / repeats + b.var(0) / repeats)
    assert torch.all((a.mean(0) - b.mean(0)).abs() < 4 * se), (a.mean(0), b.mean(0), se)


def test_chunking_calls_the_likelihood_in_chunks(model):
    torch.manual_seed(4)
    posterior = diagonal_gaussian(model.post_mean, model.post_log_var)
    seen = []
    inner = model.log_likelihood_fn()

    def log_likelihood(z):
        seen.append(tuple(z.shape))
        return inner(z)

    log_w = log_importance_weights(posterior, standard_normal(D), log_likelihood, 50, chunk_size=7)
    assert log_w.shape == (50, B)
    assert seen == [(7, B, D)] * 7 + [(1, B, D)]


def test_k_below_one_raises(model):
    posterior = diagonal_gaussian(model.post_mean, model.post_log_var)
    with pytest.raises(ValueError):
        log_importance_weights(posterior, standard_normal(D), model.log_likelihood_fn(), 0)


class _TooManyCalls(Exception):
    """Raised by the test likelihood to stop a loop that would never end."""


def _guarded_likelihood(inner):
    calls = []

    def log_likelihood(z):
        calls.append(z.shape[0])
        if len(calls) > 100:
            raise _TooManyCalls(f"{len(calls)} calls with chunk sizes {set(calls)}")
        return inner(z)

    return log_likelihood


@pytest.mark.parametrize("chunk_size", [0, -3])
def test_nonpositive_chunk_size_raises_value_error(model, chunk_size):
    posterior = diagonal_gaussian(model.post_mean, model.post_log_var)
    log_likelihood = _guarded_likelihood(model.log_likelihood_fn())
    with pytest.raises(ValueError, match="chunk_size"):
        log_importance_weights(posterior, standard_normal(D), log_likelihood, 10, chunk_size=chunk_size)


def test_zero_chunk_size_does_not_loop_forever(model):
    # Any posterior/prior whose log_prob accepts an empty sample shows the endless loop.
    eye = torch.eye(D, dtype=F64)
    posterior = MultivariateNormal(model.post_mean, eye * 0.5, validate_args=False)
    prior = MultivariateNormal(torch.zeros(D, dtype=F64), eye, validate_args=False)
    log_likelihood = _guarded_likelihood(model.log_likelihood_fn())
    with pytest.raises(ValueError, match="chunk_size"):
        log_importance_weights(posterior, prior, log_likelihood, 10, chunk_size=0)


def test_log_mean_exp_stable_for_large_values():
    big = torch.tensor([1e4, 1e4 + math.log(3.0)], dtype=F64)  # mean(e^a, 3 e^a) = 2 e^a
    got = log_mean_exp(big)
    assert torch.isfinite(got)
    torch.testing.assert_close(got, torch.tensor(1e4 + math.log(2.0), dtype=F64), rtol=1e-15, atol=1e-9)
    neg = torch.tensor([-1e4, -1e4], dtype=F64)
    assert float(log_mean_exp(neg)) == -1e4
    f32 = torch.full((5, 2), 1e4)
    assert torch.equal(log_mean_exp(f32, dim=0), torch.full((2,), 1e4))


def test_log_mean_exp_matches_naive_formula_and_dim():
    torch.manual_seed(5)
    x = torch.randn(6, 3, dtype=F64)
    torch.testing.assert_close(log_mean_exp(x, dim=0), x.exp().mean(0).log())
    torch.testing.assert_close(log_mean_exp(x, dim=1), x.exp().mean(1).log())


def test_iwae_bound_and_loss_hand_values():
    log_w = torch.log(torch.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=F64))  # (k=2, B=2)
    bound = iwae_bound(log_w)
    torch.testing.assert_close(bound, torch.log(torch.tensor([2.0, 4.0], dtype=F64)))
    torch.testing.assert_close(iwae_loss(log_w), -bound.mean())
    # k = 1: the bound is the weight itself (single-sample ELBO).
    one = torch.tensor([[-3.0, -1.5]], dtype=F64)
    assert torch.equal(iwae_bound(one), one[0])
    # Jensen: L_k >= mean of log weights, equality iff the weights are equal.
    assert torch.all(bound > log_w.mean(0))
