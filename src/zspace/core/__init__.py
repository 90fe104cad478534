"""Shared core: distributions, objectives, schedules, latent utilities and config helpers."""

from zspace.core.config import Registry, from_dict, override, to_dict
from zspace.core.distributions import bernoulli, categorical, diagonal_gaussian, gaussian, standard_normal
from zspace.core.latent import apply_attribute, attribute_vector, lerp, slerp
from zspace.core.objectives import (
    ELBOTerms,
    active_units,
    bits_to_nats,
    elbo_terms,
    free_bits_per_dim,
    free_bits_total,
    iwae_bound,
    iwae_loss,
    kl_diagonal_gaussians,
    kl_standard_normal,
    log_importance_weights,
    log_mean_exp,
    nats_to_bits,
)
from zspace.core.schedules import Schedule, cosine_decay, exponential_decay, exponential_rise, linear_warmup

__all__ = [
    "ELBOTerms",
    "Registry",
    "Schedule",
    "active_units",
    "apply_attribute",
    "attribute_vector",
    "bernoulli",
    "bits_to_nats",
    "categorical",
    "cosine_decay",
    "diagonal_gaussian",
    "elbo_terms",
    "exponential_decay",
    "exponential_rise",
    "free_bits_per_dim",
    "free_bits_total",
    "from_dict",
    "gaussian",
    "iwae_bound",
    "iwae_loss",
    "kl_diagonal_gaussians",
    "kl_standard_normal",
    "lerp",
    "linear_warmup",
    "log_importance_weights",
    "log_mean_exp",
    "nats_to_bits",
    "override",
    "slerp",
    "standard_normal",
    "to_dict",
]
