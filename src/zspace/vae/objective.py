"""The VAE training objective: ELBO with beta schedule and free bits, IWAE, and loss ablations."""

from __future__ import annotations

from dataclasses import field
from typing import Literal

import torch
from torch import Tensor, nn

from zspace.core.constraints import NonNegative, Size, configclass
from zspace.core.objectives import elbo_terms, iwae_bound
from zspace.core.schedules import Schedule
from zspace.data.images import binarize_batch
from zspace.errors import ConfigError
from zspace.train.config import LossFn


@configclass
class VAEObjective:
    """What the VAE minimizes. Defaults: the plain ELBO with one sample (AEVB, L = 1).

    loss: ``elbo`` | ``iwae`` (Burda et al., k = n_samples) | ``reconstruction`` (beta = 0,
    an autoencoder with noise) | ``kl`` (no reconstruction term: the posterior collapses to
    the prior) — the last two are the classic loss ablations.
    """

    loss: Literal["elbo", "iwae", "reconstruction", "kl"] = "elbo"
    beta: Schedule = field(default_factory=lambda: Schedule(kind="constant", value=1.0))
    free_nats: NonNegative = 0.0  # total KL budget per example (Magenta's free bits, in nats)
    free_nats_per_dim: NonNegative = 0.0  # per-dimension budget (Kingma et al. 2016), nats
    n_samples: Size = 1  # L in AEVB eq. 7; k for the IWAE loss

    def __post_init__(self) -> None:
        if min(self.beta.value, self.beta.start) < 0:
            raise ConfigError(f"VAEObjective.beta must be >= 0 (a negative KL weight rewards leaving the prior), got {self.beta}")
        if self.free_nats > 0 and self.free_nats_per_dim > 0:
            raise ConfigError("VAEObjective: set free_nats or free_nats_per_dim, not both")


def make_loss_fn(objective: VAEObjective, *, dynamic_binarization: bool) -> LossFn:
    """The trainer's step function for a VAE: (model, x (B, ...), step) -> (loss, metrics).

    With dynamic binarization each batch of pixel intensities is resampled to {0, 1} here, so
    the model sees a fresh binarization every step (the usual MNIST protocol).
    Metrics are per-example means in nats: loss, elbo, reconstruction, kl, beta (and iwae).
    """

    def loss_fn(model: nn.Module, x: Tensor, step: int) -> tuple[Tensor, dict[str, Tensor]]:
        if dynamic_binarization:
            x = binarize_batch(x)
        out = model(x, n_samples=objective.n_samples, importance_weights=objective.loss == "iwae")
        beta = objective.beta(step)
        recon_weight = 0.0 if objective.loss == "kl" else 1.0
        if objective.loss == "reconstruction":
            beta = 0.0
        terms = elbo_terms(
            out.log_likelihood,
            out.kl_per_dim,
            beta=beta,
            free_nats=objective.free_nats,
            free_nats_per_dim=objective.free_nats_per_dim,
            reconstruction_weight=recon_weight,
        )
        metrics = {"elbo": terms.elbo, "reconstruction": terms.reconstruction, "kl": terms.kl, "beta": torch.tensor(beta)}
        loss = terms.loss
        if objective.loss == "iwae":
            bound = iwae_bound(out.log_weights).mean()
            loss = -bound
            metrics["iwae"] = bound
        return loss, metrics

    return loss_fn
