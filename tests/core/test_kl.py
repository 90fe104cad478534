"""KL terms against Monte-Carlo estimates and ``torch.distributions.kl_divergence``."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Normal, kl_divergence

from zspace.core import kl_diagonal_gaussians, kl_standard_normal

F64 = torch.float64
N_MC = 200_000


def _mc_kl_per_dim(q: Normal, p: Normal, n: int = N_MC) -> tuple[torch.Tensor, torch.Tensor]:
    """E_q[log q(z) - log p(z)] per dimension and its Monte-Carlo standard error, (D,) each."""
    z = q.sample((n,))  # (n, D)
    log_ratio = q.log_prob(z) - p.log_prob(z)  # (n, D)
    return log_ratio.mean(0), log_ratio.std(0) / math.sqrt(n)


def test_kl_standard_normal_matches_monte_carlo():
    torch.manual_seed(0)
    mean = torch.tensor([0.0, 1.5, -0.7, 0.2], dtype=F64)
    log_var = torch.tensor([0.0, -1.0, 0.8, -2.5], dtype=F64)
    kl = kl_standard_normal(mean, log_var)
    assert kl.shape == (4,)
    q = Normal(mean, (0.5 * log_var).exp())
    p = Normal(torch.zeros(4, dtype=F64), torch.ones(4, dtype=F64))
    est, se = _mc_kl_per_dim(q, p)
    assert torch.all((est - kl).abs() < 4 * se + 1e-12), (est, kl, se)
    # First dimension is exactly the prior: zero KL.
    assert kl[0] == 0.0


def test_kl_diagonal_gaussians_matches_monte_carlo():
    torch.manual_seed(1)
    mean_q = torch.tensor([0.3, -1.0, 2.0], dtype=F64)
    log_var_q = torch.tensor([-0.5, 0.4, -1.2], dtype=F64)
    mean_p = torch.tensor([-0.2, 0.5, 1.0], dtype=F64)
    log_var_p = torch.tensor([0.3, -0.6, 0.9], dtype=F64)
    kl = kl_diagonal_gaussians(mean_q, log_var_q, mean_p, log_var_p)
    q = Normal(mean_q, (0.5 * log_var_q).exp())
    p = Normal(mean_p, (0.5 * log_var_p).exp())
    est, se = _mc_kl_per_dim(q, p)
    assert torch.all((est - kl).abs() < 4 * se), (est, kl, se)


def test_kl_matches_torch_kl_divergence_batched():
    torch.manual_seed(2)
    shape = (5, 3, 7)  # arbitrary leading dims, (..., D)
    mean_q, mean_p = torch.randn(shape, dtype=F64) * 2, torch.randn(shape, dtype=F64)
    log_var_q, log_var_p = torch.randn(shape, dtype=F64), torch.randn(shape, dtype=F64)
    q = Normal(mean_q, (0.5 * log_var_q).exp())
    p = Normal(mean_p, (0.5 * log_var_p).exp())
    expected = kl_divergence(q, p)
    got = kl_diagonal_gaussians(mean_q, log_var_q, mean_p, log_var_p)
    assert got.shape == shape
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)

    std_normal = Normal(torch.zeros(shape, dtype=F64), torch.ones(shape, dtype=F64))
    torch.testing.assert_close(kl_standard_normal(mean_q, log_var_q), kl_divergence(q, std_normal), rtol=1e-10, atol=1e-12)


def test_kl_standard_normal_is_special_case_of_diagonal():
    torch.manual_seed(3)
    mean, log_var = torch.randn(4, 6, dtype=F64), torch.randn(4, 6, dtype=F64)
    zeros = torch.zeros_like(mean)
    torch.testing.assert_close(kl_standard_normal(mean, log_var), kl_diagonal_gaussians(mean, log_var, zeros, zeros))


_means = st.floats(-3.0, 3.0, allow_nan=False)
_log_vars = st.floats(-3.0, 3.0, allow_nan=False)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(mq=_means, lq=_log_vars, mp=_means, lp=_log_vars)
def test_kl_nonnegative_and_zero_iff_equal(mq, lq, mp, lp):
    t = lambda v: torch.tensor([v], dtype=F64)
    kl = float(kl_diagonal_gaussians(t(mq), t(lq), t(mp), t(lp)))
    assert kl >= -1e-12
    assert float(kl_diagonal_gaussians(t(mq), t(lq), t(mq), t(lq))) == 0.0
    if abs(mq - mp) >= 1e-3 or abs(lq - lp) >= 1e-3:
        # KL ~ (dm^2 / var_p + dlv^2 / 2) / 2 for small differences: well above rounding.
        assert kl > 1e-8
    kl_std = float(kl_standard_normal(t(mq), t(lq)))
    assert kl_std >= -1e-12
    if abs(mq) >= 1e-3 or abs(lq) >= 1e-3:
        assert kl_std > 1e-8


def test_kl_standard_normal_zero_at_prior():
    assert torch.equal(kl_standard_normal(torch.zeros(3), torch.zeros(3)), torch.zeros(3))
