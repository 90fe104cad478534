"""Latent posteriors and observation likelihoods as ``torch.distributions`` objects.

Every distribution here is an ``Independent`` wrapper, so ``log_prob`` sums over the event
dimensions (latent dims, or all pixel/feature dims) and returns one value per batch element,
in nats. Argument validation is off: these sit on the training hot path, and the shapes are
checked once by the models that build them.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Bernoulli, Categorical, Independent, Normal

LIKELIHOODS = ("bernoulli", "gaussian", "gaussian-learned", "categorical")

# Softplus-free floor on learned log-standard-deviations (nats): std >= e^-7 ~ 1e-3 keeps the
# Gaussian likelihood from collapsing onto pixels that never vary.
MIN_LOG_STD = -7.0


def diagonal_gaussian(mean: Tensor, log_var: Tensor) -> Independent:
    """N(mean, diag(exp(log_var))) with reparameterized ``rsample``.

    mean, log_var: (..., D). Batch shape (...), event shape (D,).
    """
    return Independent(Normal(mean, torch.exp(0.5 * log_var), validate_args=False), 1, validate_args=False)


def standard_normal(latent_dim: int, *, device: torch.device | str | None = None) -> Independent:
    """The prior N(0, I) over R^latent_dim: batch shape (), event shape (latent_dim,)."""
    zeros = torch.zeros(latent_dim, device=device)
    return Independent(Normal(zeros, torch.ones_like(zeros), validate_args=False), 1, validate_args=False)


def bernoulli(logits: Tensor, event_dims: int) -> Independent:
    """Independent Bernoulli over the last ``event_dims`` dims of ``logits`` (pixels in {0, 1})."""
    return Independent(Bernoulli(logits=logits, validate_args=False), event_dims, validate_args=False)


def gaussian(mean: Tensor, log_std: Tensor | float, event_dims: int) -> Independent:
    """Independent Gaussian over the last ``event_dims`` dims; ``log_std`` broadcasts (fixed or learned)."""
    if not isinstance(log_std, Tensor):
        log_std = torch.full_like(mean, float(log_std))
    std = torch.exp(log_std.clamp(min=MIN_LOG_STD)).expand_as(mean)
    return Independent(Normal(mean, std, validate_args=False), event_dims, validate_args=False)


def categorical(logits: Tensor, event_dims: int) -> Independent:
    """Independent categoricals; ``logits``: (..., classes), event over the last ``event_dims`` dims before it."""
    return Independent(Categorical(logits=logits, validate_args=False), event_dims, validate_args=False)
