"""The AEVB variational autoencoder (Kingma & Welling 2014): recognition model q(z|x), generator p(x|z).

Modules only: no optimizer, files or data access here. The objective that
turns a :class:`VAEOutput` into a loss lives in :mod:`zspace.vae.objective`.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn
from torch.distributions import Independent

from zspace.core.constraints import Positive, Size, Sizes, configclass
from zspace.core.distributions import bernoulli, diagonal_gaussian, gaussian, standard_normal
from zspace.core.objectives import kl_standard_normal
from zspace.errors import ConfigError
from zspace.nn import ACTIVATIONS, MLP, ConvDecoder, ConvEncoder
from zspace.nn.conv import flat_size


@configclass
class VAEConfig:
    """Architecture of a VAE. Defaults: the PyTorch example's 784-400-20 Bernoulli MLP."""

    input_shape: Sizes = (1, 28, 28)  # (C, H, W) of one image, or (D,) for flat vectors
    latent_dim: Size = 20
    architecture: Literal["mlp", "conv"] = "mlp"
    hidden: tuple[Size, ...] = (400,)  # MLP widths of the encoder; the decoder mirrors them
    channels: tuple[Size, ...] = (32, 64)  # conv: one stride-2 block per entry
    conv_hidden: Size = 256  # conv: width of the dense layer between conv stack and latent
    activation: str = "relu"
    likelihood: Literal["bernoulli", "gaussian", "gaussian-learned"] = "bernoulli"
    decoder_std: Positive = 1.0  # gaussian: fixed std; gaussian-learned: initial std (per output dim)

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"VAEConfig.activation {self.activation!r} is not one of {sorted(ACTIVATIONS)}")
        if self.architecture == "conv" and len(self.input_shape) != 3:
            raise ConfigError(f"VAEConfig: the conv architecture needs input_shape (C, H, W), got {self.input_shape}")

    @property
    def input_size(self) -> int:
        """Number of observed values per example (784 for MNIST)."""
        return flat_size(self.input_shape)


class VAEOutput(NamedTuple):
    """Everything one forward pass computes; all log-densities in nats.

    mean, log_var: (B, D) posterior parameters; z: (S, B, D) samples;
    log_likelihood: (S, B) log p(x|z); kl_per_dim: (B, D) analytic KL(q(z|x) || N(0, I));
    log_weights: (S, B) importance log-weights log p(x, z) - log q(z|x), computed only when
    the forward pass is asked for them (IWAE), else None.
    """

    mean: Tensor
    log_var: Tensor
    z: Tensor
    log_likelihood: Tensor
    kl_per_dim: Tensor
    log_weights: Tensor | None = None


class VAE(nn.Module):
    """Gaussian-posterior VAE with an MLP or conv encoder/decoder and a Bernoulli or Gaussian decoder."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        if c.architecture == "mlp":
            self.encoder: nn.Module = MLP(c.input_size, c.hidden, 2 * c.latent_dim, c.activation)
            self.decoder: nn.Module = MLP(c.latent_dim, c.hidden[::-1], c.input_size, c.activation)
        else:
            self.encoder = ConvEncoder(c.input_shape, c.channels, c.conv_hidden, 2 * c.latent_dim, c.activation)
            self.decoder = ConvDecoder(c.latent_dim, c.input_shape, c.channels, c.conv_hidden, c.input_shape[0], c.activation)
        if c.likelihood == "gaussian-learned":
            # One learned log-std per observed value, shared across examples (state-independent).
            self.log_std = nn.Parameter(torch.full(c.input_shape, float(torch.tensor(c.decoder_std).log())))
        self._event_dims = len(c.input_shape)

    # -- the two halves --------------------------------------------------------------------
    def encode(self, x: Tensor) -> Independent:
        """q(z|x): x (B, *input_shape) -> diagonal Gaussian with batch (B,), event (latent_dim,)."""
        mean, log_var = self._posterior_params(x)
        return diagonal_gaussian(mean, log_var)

    def decode(self, z: Tensor) -> Independent:
        """p(x|z): z (..., latent_dim) -> distribution with batch (...), event input_shape."""
        params = self.decoder(z)
        if self.config.architecture == "mlp":
            params = params.view(*z.shape[:-1], *self.config.input_shape)
        if self.config.likelihood == "bernoulli":
            return bernoulli(params, self._event_dims)
        if self.config.likelihood == "gaussian":
            return gaussian(params, float(torch.tensor(self.config.decoder_std).log()), self._event_dims)
        return gaussian(params, self.log_std, self._event_dims)

    def prior(self) -> Independent:
        """p(z) = N(0, I) on the model's device."""
        return standard_normal(self.config.latent_dim, device=self._device())

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z) in nats: x (B, *input_shape), z (S, B, D) -> (S, B)."""
        return self.decode(z).log_prob(x)

    # -- training ----------------------------------------------------------------------------
    def forward(self, x: Tensor, n_samples: int = 1, *, importance_weights: bool = False) -> VAEOutput:
        """One reparameterized pass (SGVB, Kingma & Welling eq. 7): x (B, *input_shape), S = n_samples."""
        mean, log_var = self._posterior_params(x)
        posterior = diagonal_gaussian(mean, log_var)
        z = posterior.rsample((n_samples,))  # (S, B, D)
        log_likelihood = self.log_likelihood(x, z)
        log_weights = None
        if importance_weights:  # Burda et al. eq. 8's weights; the ELBO needs only the analytic KL
            log_weights = log_likelihood + self.prior().log_prob(z) - posterior.log_prob(z)
        return VAEOutput(mean, log_var, z, log_likelihood, kl_standard_normal(mean, log_var), log_weights)

    # -- exploring ---------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Decoder means for n codes z ~ N(0, temperature^2 I): (n, *input_shape)."""
        z = torch.randn(n, self.config.latent_dim, generator=generator, device=self._device()) * temperature
        return self.decode(z).mean

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decoder mean at the posterior mean: x (B, *input_shape) -> same shape."""
        return self.decode(self.encode(x).mean).mean

    def _posterior_params(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.shape[1:] != torch.Size(self.config.input_shape):
            raise ValueError(
                f"VAE expects inputs of shape (B, {', '.join(map(str, self.config.input_shape))}), got {tuple(x.shape)}"
            )
        h = self.encoder(x.flatten(1) if self.config.architecture == "mlp" else x)
        mean, log_var = h.chunk(2, dim=-1)  # (B, D) each
        return mean, log_var

    def _device(self) -> torch.device:
        return next(self.parameters()).device


__all__ = ["VAE", "VAEConfig", "VAEOutput"]
