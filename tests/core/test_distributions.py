"""Distribution constructors against scipy densities and torch's BCE / log-softmax."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from zspace.core import bernoulli, categorical, diagonal_gaussian, gaussian, standard_normal
from zspace.core.distributions import MIN_LOG_STD

F64 = torch.float64


def test_diagonal_gaussian_shapes_and_log_prob_vs_scipy():
    torch.manual_seed(0)
    mean = torch.randn(4, 3, dtype=F64)
    log_var = torch.randn(4, 3, dtype=F64)
    q = diagonal_gaussian(mean, log_var)
    assert q.batch_shape == (4,) and q.event_shape == (3,)
    x = torch.randn(4, 3, dtype=F64)
    lp = q.log_prob(x)
    assert lp.shape == (4,)
    for i in range(4):
        cov = np.diag(log_var[i].exp().numpy())
        expected = stats.multivariate_normal(mean[i].numpy(), cov).logpdf(x[i].numpy())
        assert float(lp[i]) == pytest.approx(expected, rel=1e-10)
    torch.testing.assert_close(q.variance, log_var.exp())
    assert torch.equal(q.mean, mean)


def test_diagonal_gaussian_rsample_is_reparameterized():
    torch.manual_seed(1)
    mean = torch.randn(5, 2, dtype=F64, requires_grad=True)
    log_var = torch.randn(5, 2, dtype=F64, requires_grad=True)
    q = diagonal_gaussian(mean, log_var)
    assert q.has_rsample
    z = q.rsample((3,))  # (3, 5, 2)
    assert z.shape == (3, 5, 2)
    z.sum().backward()
    # z = mean + exp(log_var / 2) * eps  =>  dz/dmean = 1, dz/dlog_var = z_std / 2 * eps.
    std = (0.5 * log_var).exp().detach()
    eps = (z.detach() - mean.detach()) / std
    torch.testing.assert_close(mean.grad, torch.full_like(mean, 3.0))
    torch.testing.assert_close(log_var.grad, (0.5 * std * eps).sum(0))


def test_diagonal_gaussian_samples_have_requested_moments():
    torch.manual_seed(2)
    mean = torch.tensor([1.0, -2.0], dtype=F64)
    log_var = torch.tensor([0.0, np.log(0.25)], dtype=F64)
    z = diagonal_gaussian(mean, log_var).sample((100_000,))
    torch.testing.assert_close(z.mean(0), mean, rtol=0, atol=0.02)
    torch.testing.assert_close(z.var(0), log_var.exp(), rtol=0.03, atol=0)


def test_standard_normal_prior():
    p = standard_normal(3)
    assert p.batch_shape == () and p.event_shape == (3,)
    z = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]])
    expected = stats.multivariate_normal(np.zeros(3), np.eye(3)).logpdf(z.numpy())
    np.testing.assert_allclose(p.log_prob(z).numpy(), expected, rtol=1e-6)


def test_bernoulli_log_prob_is_negative_bce_summed_over_event_dims():
    torch.manual_seed(3)
    logits = torch.randn(6, 1, 4, 5, dtype=F64) * 3
    x = (torch.rand(6, 1, 4, 5) < 0.5).to(F64)
    d = bernoulli(logits, event_dims=3)
    assert d.batch_shape == (6,) and d.event_shape == (1, 4, 5)
    expected = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=(1, 2, 3))
    torch.testing.assert_close(d.log_prob(x), expected, rtol=1e-12, atol=1e-12)
    # Fewer event dims: one value per (B, C, H) row.
    d1 = bernoulli(logits, event_dims=1)
    assert d1.log_prob(x).shape == (6, 1, 4)
    torch.testing.assert_close(d1.log_prob(x).sum(dim=(1, 2)), expected)
    torch.testing.assert_close(d.mean, torch.sigmoid(logits))


def test_bernoulli_stable_for_extreme_logits():
    logits = torch.tensor([[100.0, -100.0]], dtype=F64)
    x = torch.tensor([[1.0, 0.0]], dtype=F64)
    lp = bernoulli(logits, 1).log_prob(x)
    assert torch.isfinite(lp).all() and float(lp) == pytest.approx(0.0, abs=1e-30)


def test_gaussian_fixed_log_std_vs_scipy():
    torch.manual_seed(4)
    mean = torch.randn(3, 2, 4, dtype=F64)
    x = torch.randn(3, 2, 4, dtype=F64)
    log_std = -0.7
    d = gaussian(mean, log_std, event_dims=2)
    assert d.batch_shape == (3,) and d.event_shape == (2, 4)
    expected = stats.norm(mean.numpy(), np.exp(log_std)).logpdf(x.numpy()).sum(axis=(1, 2))
    np.testing.assert_allclose(d.log_prob(x).numpy(), expected, rtol=1e-10)


def test_gaussian_learned_log_std_broadcasts_and_vs_scipy():
    torch.manual_seed(5)
    mean = torch.randn(3, 4, dtype=F64)
    x = torch.randn(3, 4, dtype=F64)
    per_feature = torch.tensor([-1.0, 0.0, 0.5, 1.0], dtype=F64, requires_grad=True)  # (4,) broadcast over batch
    d = gaussian(mean, per_feature, event_dims=1)
    expected = stats.norm(mean.numpy(), np.exp(per_feature.detach().numpy())).logpdf(x.numpy()).sum(axis=1)
    np.testing.assert_allclose(d.log_prob(x).detach().numpy(), expected, rtol=1e-10)
    d.log_prob(x).sum().backward()
    assert per_feature.grad is not None and torch.all(per_feature.grad != 0)
    full = torch.randn(3, 4, dtype=F64) * 0.3
    d_full = gaussian(mean, full, event_dims=1)
    expected_full = stats.norm(mean.numpy(), np.exp(full.numpy())).logpdf(x.numpy()).sum(axis=1)
    np.testing.assert_allclose(d_full.log_prob(x).numpy(), expected_full, rtol=1e-10)


def test_gaussian_log_std_floor():
    mean = torch.zeros(2, 3, dtype=F64)
    d = gaussian(mean, torch.full((2, 3), -50.0, dtype=F64), event_dims=1)
    torch.testing.assert_close(d.stddev, torch.full((2, 3), np.exp(MIN_LOG_STD), dtype=F64))
    assert torch.isfinite(d.log_prob(mean + 0.1)).all()


def test_categorical_log_prob_vs_log_softmax():
    torch.manual_seed(6)
    logits = torch.randn(4, 5, 7, dtype=F64)  # (B, T, classes)
    x = torch.randint(0, 7, (4, 5))
    d = categorical(logits, event_dims=1)
    assert d.batch_shape == (4,) and d.event_shape == (5,)
    log_softmax = logits.numpy() - np.log(np.exp(logits.numpy()).sum(-1, keepdims=True))
    expected = np.take_along_axis(log_softmax, x.numpy()[..., None], axis=-1)[..., 0].sum(axis=1)
    np.testing.assert_allclose(d.log_prob(x).numpy(), expected, rtol=1e-12)
    # Per-position probabilities sum to one.
    grid = torch.arange(7).view(7, 1, 1).expand(7, 4, 5)
    probs = categorical(logits, event_dims=0).log_prob(grid).exp().sum(0)
    torch.testing.assert_close(probs, torch.ones(4, 5, dtype=F64))


def test_categorical_two_event_dims():
    torch.manual_seed(7)
    logits = torch.randn(2, 3, 4, 5, dtype=F64)
    x = torch.randint(0, 5, (2, 3, 4))
    d = categorical(logits, event_dims=2)
    assert d.batch_shape == (2,) and d.event_shape == (3, 4)
    expected = torch.log_softmax(logits, -1).gather(-1, x.unsqueeze(-1)).squeeze(-1).sum(dim=(1, 2))
    torch.testing.assert_close(d.log_prob(x), expected)
