"""Held-out evaluation of a VAE: ELBO, IWAE-k bounds, importance-sampled log-likelihood, KL, active units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from zspace.core.objectives import active_units, iwae_bound, kl_from_posterior, log_importance_weights
from zspace.vae.model import VAE


def _grouped_iwae(log_weights: Tensor, k: int) -> Tensor:
    """Mean of L_k over the K // k disjoint groups of size k in log_weights (K, B) -> (B,).

    Averaging over groups gives a lower-variance estimate of E[L_k] than using the first k.
    """
    groups = log_weights.shape[0] // k
    grouped = log_weights[: groups * k].reshape(groups, k, -1)  # (G, k, B)
    return iwae_bound(grouped.transpose(0, 1)).mean(dim=0)


DEFAULT_K = 5000  # importance samples per example for log p(x): Burda et al. report k = 5000


@torch.no_grad()
def evaluate(
    model: VAE,
    x: Tensor,
    *,
    k: int = DEFAULT_K,
    iwae_ks: Sequence[int] = (1, 5, 50),
    batch_size: int = 100,
    chunk_size: int = 500,
    seed: int = 0,
    return_posterior_means: bool = False,
) -> dict[str, Any]:
    """Evaluate ``model`` on x (N, *input_shape); every quantity is nats per example.

    - ``elbo``: E_q[log p(x|z)] - KL, Monte-Carlo over the k samples (= L_1).
    - ``iwae_k``: IWAE bounds L_k for each k in ``iwae_ks`` not above ``k`` (Burda et al. 2016).
    - ``nll``: -log p(x) estimated by importance sampling with k samples from q(z|x) (= -L_k).
    - ``reconstruction_nll`` / ``reconstruction_mse``: -log p(x|z) and per-value squared error
      of the decoder mean at the posterior mean z.
    - ``kl``, ``kl_per_dim`` (analytic), ``active_units`` (Burda et al.'s A_u > 0.01).
    - ``posterior_means``: the (N, D) tensor of E_q[z], only with ``return_posterior_means``.
    Samples come from a forked RNG seeded by ``seed``: the result is reproducible and the
    caller's RNG stream is left untouched.
    """
    model.eval()
    device = next(model.parameters()).device
    ks = sorted({kk for kk in iwae_ks if kk <= k} | {k})
    sums: dict[str, float] = {}
    kl_per_dim_sum = torch.zeros(model.config.latent_dim, dtype=torch.float64)
    means = []
    n = x.shape[0]
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        prior = model.prior()
        for start in range(0, n, batch_size):
            xb = x[start : start + batch_size].to(device)
            posterior = model.encode(xb)
            log_w = log_importance_weights(
                posterior, prior, lambda z, xb=xb: model.log_likelihood(xb, z), k, chunk_size=chunk_size
            )
            batch_terms = {f"iwae_{kk}": _grouped_iwae(log_w, kk) for kk in ks}
            batch_terms["elbo"] = log_w.mean(dim=0)
            mean_z = posterior.mean
            decoded = model.decode(mean_z)
            batch_terms["reconstruction_nll"] = -decoded.log_prob(xb)
            batch_terms["reconstruction_mse"] = (decoded.mean - xb).pow(2).flatten(1).mean(dim=1)
            kl = kl_from_posterior(posterior)  # (B, D)
            kl_per_dim_sum += kl.double().sum(dim=0).cpu()
            for name, values in batch_terms.items():
                sums[name] = sums.get(name, 0.0) + float(values.double().sum())
            means.append(mean_z.cpu())
    posterior_means = torch.cat(means)
    count, activity = active_units(posterior_means)
    result: dict[str, Any] = {name: total / n for name, total in sums.items()}
    result.update(
        n_examples=n,
        k=k,
        nll=-result[f"iwae_{k}"],
        kl=float(kl_per_dim_sum.sum()) / n,
        kl_per_dim=[float(v) / n for v in kl_per_dim_sum],
        active_units=count,
        activity=[float(a) for a in activity],
        latent_dim=model.config.latent_dim,
    )
    if return_posterior_means:
        result["posterior_means"] = posterior_means
    return result
