"""elbo_terms (beta, ablations, free bits), unit conversions and active units against hand values."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zspace.core import (
    ELBOTerms,
    active_units,
    bits_to_nats,
    elbo_terms,
    free_bits_per_dim,
    free_bits_total,
    nats_to_bits,
)

F64 = torch.float64

# Hand-checkable batch: B = 2 examples, D = 3 latent dims.
LOG_LIK = torch.tensor([-10.0, -20.0], dtype=F64)  # reconstruction = 15
KL_PER_DIM = torch.tensor([[0.5, 1.0, 0.0], [2.0, 0.25, 0.25]], dtype=F64)  # per-example 1.5, 2.5; mean 2.0


def _close(a, b):
    torch.testing.assert_close(torch.as_tensor(a, dtype=F64), torch.as_tensor(b, dtype=F64), rtol=1e-12, atol=1e-12)


def test_plain_elbo_hand_values():
    t = elbo_terms(LOG_LIK, KL_PER_DIM)
    assert isinstance(t, ELBOTerms)
    _close(t.reconstruction, 15.0)
    _close(t.kl, 2.0)
    _close(t.loss, 17.0)
    _close(t.elbo, -17.0)
    for v in (t.loss, t.elbo, t.reconstruction, t.kl):
        assert v.dim() == 0


def test_multi_sample_log_likelihood_is_averaged_over_samples():
    # (S, B) = (2, 2): sample means are -10 and -20, as LOG_LIK.
    ll = torch.tensor([[-8.0, -25.0], [-12.0, -15.0]], dtype=F64)
    t = elbo_terms(ll, KL_PER_DIM)
    _close(t.reconstruction, 15.0)
    _close(t.loss, 17.0)


@pytest.mark.parametrize("beta", [0.0, 0.1, 1.0, 4.0])
def test_beta_scales_kl_in_loss_but_not_elbo(beta):
    t = elbo_terms(LOG_LIK, KL_PER_DIM, beta=beta)
    _close(t.loss, 15.0 + beta * 2.0)
    _close(t.elbo, -17.0)  # the true bound, whatever beta
    _close(t.kl, 2.0)
    _close(t.reconstruction, 15.0)


def test_ablations_kl_only_and_reconstruction_only():
    kl_only = elbo_terms(LOG_LIK, KL_PER_DIM, reconstruction_weight=0.0)
    _close(kl_only.loss, 2.0)
    _close(kl_only.elbo, -17.0)
    recon_only = elbo_terms(LOG_LIK, KL_PER_DIM, beta=0.0)
    _close(recon_only.loss, 15.0)
    _close(recon_only.elbo, -17.0)


def test_ablation_gradients_vanish_for_the_dropped_term():
    ll = LOG_LIK.clone().requires_grad_(True)
    kl = KL_PER_DIM.clone().requires_grad_(True)
    elbo_terms(ll, kl, beta=0.0).loss.backward()
    assert torch.all(kl.grad == 0) and torch.all(ll.grad != 0)
    ll.grad = kl.grad = None
    elbo_terms(ll, kl, reconstruction_weight=0.0).loss.backward()
    assert torch.all(ll.grad == 0) and torch.all(kl.grad != 0)


def test_free_bits_total_is_magenta_hinge_per_example():
    # Per-example KLs 1.5 and 2.5; budget 2 nats -> max(KL - 2, 0) = 0, 0.5 -> mean 0.25.
    t = elbo_terms(LOG_LIK, KL_PER_DIM, free_nats=2.0)
    _close(t.loss, 15.0 + 0.25)
    _close(t.kl, 2.0)  # reported KL is unpenalized
    _close(t.elbo, -17.0)
    # Hinge per example, not on the batch mean: max(mean KL - 2, 0) would be 0.
    assert float(t.loss) != 15.0
    _close(free_bits_total(torch.tensor([1.5, 2.5], dtype=F64), 2.0), torch.tensor([0.0, 0.5], dtype=F64))
    t_beta = elbo_terms(LOG_LIK, KL_PER_DIM, free_nats=2.0, beta=3.0)
    _close(t_beta.loss, 15.0 + 3.0 * 0.25)


def test_free_bits_per_dim_clamps_batch_mean_per_dim():
    # Batch-mean KL per dim: [1.25, 0.625, 0.125]; floor 0.5 -> [1.25, 0.625, 0.5] -> 2.375.
    t = elbo_terms(LOG_LIK, KL_PER_DIM, free_nats_per_dim=0.5)
    _close(t.loss, 15.0 + 2.375)
    _close(t.kl, 2.0)
    _close(t.elbo, -17.0)
    _close(free_bits_per_dim(KL_PER_DIM, 0.5), 2.375)
    # Clamping happens after the batch mean: clamping per example first would give 2.625.
    assert abs(float(free_bits_per_dim(KL_PER_DIM, 0.5)) - 2.625) > 0.1


def test_free_bits_per_dim_gradient_is_zero_below_the_floor():
    kl = KL_PER_DIM.clone().requires_grad_(True)
    free_bits_per_dim(kl, 0.5).backward()
    # Dim 2 (mean 0.125) sits below the floor: no KL pressure; others get d(mean)/dKL = 1/B.
    expected = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]], dtype=F64)
    _close(kl.grad, expected)


def test_both_free_bit_kinds_raise():
    with pytest.raises(ValueError, match="not both"):
        elbo_terms(LOG_LIK, KL_PER_DIM, free_nats=1.0, free_nats_per_dim=0.1)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_bits_nats_round_trip(x):
    assert math.isclose(nats_to_bits(bits_to_nats(x)), x, rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(bits_to_nats(nats_to_bits(x)), x, rel_tol=1e-12, abs_tol=1e-12)


def test_one_bit_is_ln2_nats():
    assert math.isclose(bits_to_nats(1.0), math.log(2.0), rel_tol=1e-15)
    assert math.isclose(nats_to_bits(math.log(2.0)), 1.0, rel_tol=1e-15)
    assert math.isclose(nats_to_bits(1.0), 1.0 / math.log(2.0), rel_tol=1e-15)


def test_active_units_known_variances():
    torch.manual_seed(0)
    n = 4000
    stds = torch.tensor([2.0, 1.0, 0.3, 0.05, 0.0, 0.001], dtype=F64)  # variances 4, 1, .09, .0025, 0, 1e-6
    means = torch.randn(n, 6, dtype=F64) * stds + torch.tensor([5.0, -3.0, 0.0, 1.0, 7.0, 0.0], dtype=F64)
    count, activity = active_units(means)
    assert activity.shape == (6,)
    assert count == 3  # 4, 1, 0.09 > 0.01
    torch.testing.assert_close(activity, stds**2, rtol=0.1, atol=1e-6)
    assert active_units(means, threshold=0.5)[0] == 2
    assert active_units(means, threshold=0.001)[0] == 4
    assert active_units(means, threshold=10.0)[0] == 0


def test_active_units_uses_unbiased_variance_and_strict_threshold():
    # Unbiased variances 0.5 and 0.03125, exact in binary (the biased ones would be half).
    means = torch.tensor([[0.0, 0.0], [1.0, 0.25]], dtype=F64)
    count, activity = active_units(means)
    assert torch.equal(activity, torch.tensor([0.5, 0.03125], dtype=F64))
    assert count == 2
    assert active_units(means, threshold=0.03125)[0] == 1  # A_u > threshold, strictly
    assert active_units(means, threshold=0.5)[0] == 0


def test_active_units_single_example_has_none():
    count, activity = active_units(torch.ones(1, 4))
    assert count == 0
    assert torch.equal(activity, torch.zeros(4))
