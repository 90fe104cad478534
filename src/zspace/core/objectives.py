"""Objectives shared by every family: KL terms, ELBO with beta and free bits, IWAE bounds.

Units are nats throughout. One reduction convention: functions that return a scalar loss
*sum over event dimensions and average over the batch*; functions named ``*_per_example`` or
``*_per_dim`` return the unreduced terms so callers can inspect them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, Normal

LN2 = math.log(2.0)


def bits_to_nats(bits: float) -> float:
    """Convert an information quantity from bits to nats (1 bit = ln 2 nats)."""
    return bits * LN2


def nats_to_bits(nats: float) -> float:
    """Convert an information quantity from nats to bits."""
    return nats / LN2


def kl_standard_normal(mean: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(mean, diag e^log_var) || N(0, I)) per latent dimension, (..., D) nats.

    Kingma & Welling (2014), appendix B: -1/2 (1 + log s^2 - m^2 - s^2).
    """
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var)


def kl_from_posterior(posterior: Normal | Independent) -> Tensor:
    """KL(q(z|x) || N(0, I)) per latent dimension, (..., D) nats, of an encoder's diagonal Gaussian.

    The one place an encoder's distribution becomes KL terms: ``log_var = 2 log scale``.
    """
    normal = posterior.base_dist if isinstance(posterior, Independent) else posterior
    return kl_standard_normal(normal.loc, 2.0 * normal.scale.log())


def kl_diagonal_gaussians(mean_q: Tensor, log_var_q: Tensor, mean_p: Tensor, log_var_p: Tensor) -> Tensor:
    """KL(q || p) between diagonal Gaussians, per dimension, (..., D) nats."""
    var_ratio = (log_var_q - log_var_p).exp()
    mahalanobis = (mean_q - mean_p).pow(2) / log_var_p.exp()
    return 0.5 * (var_ratio + mahalanobis - 1.0 - (log_var_q - log_var_p))


def free_bits_total(kl_per_example: Tensor, free_nats: float) -> Tensor:
    """Magenta's free bits: max(KL - free_nats, 0) per example; kl_per_example: (B,) nats.

    Roberts et al. (2018), eq. 5 as implemented in MusicVAE: no KL pressure until an
    example's total KL exceeds the budget.
    """
    return torch.clamp(kl_per_example - free_nats, min=0.0)


def free_bits_per_dim(kl_per_dim: Tensor, free_nats_per_dim: float) -> Tensor:
    """Kingma et al. (2016) free bits per latent dimension; kl_per_dim: (B, D) nats.

    Each dimension's batch-mean KL is clamped below at ``free_nats_per_dim``; returns the
    penalized KL summed over dimensions, a scalar already averaged over the batch.
    """
    return torch.clamp(kl_per_dim.mean(dim=0), min=free_nats_per_dim).sum()


@dataclass(frozen=True)
class ELBOTerms:
    """Scalar terms of one ELBO evaluation, each averaged over the batch (nats per example).

    ``loss`` is what is minimized (beta and free bits applied); ``elbo`` is the true bound
    (beta = 1, no free bits) to report.
    """

    loss: Tensor
    elbo: Tensor
    reconstruction: Tensor
    kl: Tensor


def elbo_terms(
    log_likelihood: Tensor,
    kl_per_dim: Tensor,
    *,
    beta: float = 1.0,
    free_nats: float = 0.0,
    free_nats_per_dim: float = 0.0,
    reconstruction_weight: float = 1.0,
) -> ELBOTerms:
    """ELBO loss: E_q[-log p(x|z)] + beta * KL(q(z|x) || p(z)), Kingma & Welling eq. 3 (+ beta-VAE).

    log_likelihood: (S, B) or (B,) nats, one Monte-Carlo estimate per sample (averaged over S).
    kl_per_dim: (B, D) analytic KL per latent dimension, nats.
    Free bits (nats) are applied to the KL in the loss only; at most one kind may be used.
    ``reconstruction_weight`` = 0 or ``beta`` = 0 give the classic loss ablations.
    """
    if free_nats > 0 and free_nats_per_dim > 0:
        raise ValueError("use free_nats (total) or free_nats_per_dim, not both")
    if log_likelihood.dim() == 2:
        log_likelihood = log_likelihood.mean(dim=0)
    reconstruction = -log_likelihood.mean()
    kl_per_example = kl_per_dim.sum(dim=-1)
    kl = kl_per_example.mean()
    if free_nats_per_dim > 0:
        kl_penalty = free_bits_per_dim(kl_per_dim, free_nats_per_dim)
    elif free_nats > 0:
        kl_penalty = free_bits_total(kl_per_example, free_nats).mean()
    else:
        kl_penalty = kl
    loss = reconstruction_weight * reconstruction + beta * kl_penalty
    return ELBOTerms(loss=loss, elbo=-(reconstruction + kl), reconstruction=reconstruction, kl=kl)


def log_mean_exp(x: Tensor, dim: int = 0) -> Tensor:
    """log(mean(exp(x))) along ``dim``, computed stably."""
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])


def iwae_bound(log_weights: Tensor) -> Tensor:
    """IWAE bound L_k = log (1/k) sum_i w_i per example (Burda et al. 2016, eq. 8).

    log_weights: (k, B) with log w_i = log p(x, z_i) - log q(z_i | x); returns (B,) nats.
    With k = 1 this is the single-sample ELBO; L_k is non-decreasing in k and tends to log p(x).
    """
    return log_mean_exp(log_weights, dim=0)


def iwae_loss(log_weights: Tensor) -> Tensor:
    """Negative IWAE bound averaged over the batch (scalar nats): the IWAE training loss."""
    return -iwae_bound(log_weights).mean()


def log_importance_weights(
    posterior: Distribution,
    prior: Distribution,
    log_likelihood: Callable[[Tensor], Tensor],
    k: int,
    *,
    chunk_size: int = 500,
) -> Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) for k samples z ~ q, drawn ``chunk_size`` at a time.

    posterior: batch shape (B,), event (D,). log_likelihood maps z (c, B, D) to (c, B) nats.
    Returns (k, B). Chunking over k keeps memory at chunk_size * B decoder outputs, so k = 5000
    fits; the result is k * B floats.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    chunks = []
    remaining = k
    while remaining > 0:
        c = min(chunk_size, remaining)
        z = posterior.sample((c,))
        chunks.append(log_likelihood(z) + prior.log_prob(z) - posterior.log_prob(z))
        remaining -= c
    return torch.cat(chunks, dim=0)


def active_units(posterior_means: Tensor, threshold: float = 0.01) -> tuple[int, Tensor]:
    """Count latent dimensions in use (Burda et al. 2016, sec. 5.2).

    A_u = Var_x(E_q(z|x)[z_u]); unit u is active when A_u > threshold.
    posterior_means: (N, D) posterior means over a dataset. Returns (count, A of shape (D,)).
    """
    activity = (
        posterior_means.var(dim=0, unbiased=True) if posterior_means.shape[0] > 1 else torch.zeros(posterior_means.shape[1])
    )
    return int((activity > threshold).sum()), activity
