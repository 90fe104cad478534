"""AEVB / VAE: model, objective, presets, and the run that trains them."""

from zspace.vae.model import VAE, VAEConfig, VAEOutput
from zspace.vae.objective import VAEObjective, make_loss_fn
from zspace.vae.presets import PRESETS
from zspace.vae.run import VAERunConfig, load_model, load_run_config, train

__all__ = [
    "PRESETS",
    "VAE",
    "VAEConfig",
    "VAEObjective",
    "VAEOutput",
    "VAERunConfig",
    "load_model",
    "load_run_config",
    "make_loss_fn",
    "train",
]
