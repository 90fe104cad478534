"""How well a MusicVAE reconstructs and uses its latent code: the numbers of Roberts et al. (2018), Table 1.

Every function takes a model and token windows ``(n, T, n_tracks)`` (class indices, any
integer dtype: a prepared split as is), runs in eval mode under ``no_grad`` in batches on the
model's device, and is seeded: the same call gives the same numbers.

- the paper's metric (sampled accuracy at temperature 1), onset accuracy and the z-swap gap:
  :mod:`zspace.music.paper_metrics`, gathered by :func:`evaluate`. Every accuracy is
  :func:`~zspace.music.paper_metrics.decoder_accuracy`: teacher-forced (the true previous token
  fed at every step) or free-running, greedy or sampled (argmax decoding of 16-bar melodies
  scores about the majority class, "hold", whether or not the decoder reads z);
- KL and active units: how much information the posterior carries, and in how many dimensions
  (Burda et al. 2016: unit u is active when Var_x E_q[z_u] > 0.01). A KL below the free-bits
  budget is unpenalised, which says nothing about whether the decoder uses z: the z-swap gap does;
- interpolation smoothness along slerp paths of posterior means: see :func:`smoothness`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from zspace.core.latent import slerp
from zspace.core.objectives import active_units, kl_from_posterior, nats_to_bits
from zspace.music.model import MusicVAE, sampler
from zspace.music.paper_metrics import as_tokens, input_vectors, majority_accuracy, model_device, paper_metrics


@torch.no_grad()
def kl_and_active_units(
    model: MusicVAE, tokens: Tensor | np.ndarray, *, batch_size: int = 256, threshold: float = 0.01
) -> dict[str, float]:
    """Mean KL(q(z|x) || N(0, I)) per window (nats and bits) and the active units of the posterior means.

    ``threshold``: Burda et al.'s 0.01 on Var_x E_q[z_u]. Returns kl_nats, kl_bits,
    active_units (count) and z_size.
    """
    targets_all, was_training = as_tokens(tokens, model_device(model)), model.training
    model.eval()
    kl, means = 0.0, []
    try:
        for start in range(0, len(targets_all), batch_size):
            posterior = model.encode(input_vectors(model, targets_all[start : start + batch_size]))
            kl += float(kl_from_posterior(posterior).sum())
            means.append(posterior.base_dist.loc)
    finally:
        model.train(was_training)
    kl_nats = kl / len(targets_all)
    count, _ = active_units(torch.cat(means).cpu(), threshold)
    return {"kl_nats": kl_nats, "kl_bits": nats_to_bits(kl_nats), "active_units": count, "z_size": model.config.z_size}


def smoothness(sequences: Tensor) -> tuple[float, float]:
    """How smoothly a path of decoded sequences moves: (change_rate, monotonicity).

    sequences: (S, T, n_tracks) classes at S >= 3 points along an interpolation.
    change_rate in [0, 1]: mean over the S-1 consecutive pairs of the fraction of (step, track)
    entries that differ; lower is smoother (a path that jumps at once to the end scores the
    same as one that changes gradually, so read it with monotonicity).
    monotonicity in [-1, 1]: Spearman's rank correlation between the point index and the
    fraction of entries that differ from the start point (ties share their mean rank); 1 when
    the path moves away from its start steadily, 0 when the distance is constant.
    """
    if sequences.dim() != 3 or sequences.shape[0] < 3:
        raise ValueError(f"smoothness needs sequences of shape (S >= 3, T, n_tracks), got {tuple(sequences.shape)}")
    differs = (sequences[1:] != sequences[:-1]).double().mean(dim=(1, 2))  # (S-1,)
    distance = (sequences != sequences[:1]).double().mean(dim=(1, 2))  # (S,)
    return float(differs.mean()), _spearman(torch.arange(len(distance), dtype=torch.float64), distance)


def _spearman(x: Tensor, y: Tensor) -> float:
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = float((rx.square().sum() * ry.square().sum()).sqrt())
    return float((rx * ry).sum()) / denominator if denominator > 0 else 0.0


def _ranks(values: Tensor) -> Tensor:
    """Ranks 0..n-1 with ties given their mean rank."""
    order = values.argsort(stable=True)
    ranks = torch.empty_like(values)
    ranks[order] = torch.arange(len(values), dtype=values.dtype)
    for v in values.unique():  # few distinct values along one path
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return ranks


@torch.no_grad()
def interpolation_smoothness(
    model: MusicVAE, tokens_a: Tensor | np.ndarray, tokens_b: Tensor | np.ndarray, steps: int = 7
) -> dict[str, float]:
    """Decode ``steps`` points on the slerp path between the posterior means of paired windows
    (n, T, n_tracks) each, greedily, and average :func:`smoothness` over the n pairs.

    Spherical interpolation of posterior means, as Magenta's ``MusicVAE.interpolate``
    (``zspace.core.latent.slerp`` per pair). Returns change_rate, monotonicity, and
    endpoint_accuracy (how well the two ends reproduce a and b, the argmax sampled accuracy at
    the ends: a smooth path between wrong ends means little).
    """
    device = model_device(model)
    a, b, was_training = as_tokens(tokens_a, device), as_tokens(tokens_b, device), model.training
    if a.shape != b.shape:
        raise ValueError(f"tokens_a and tokens_b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    model.eval()
    try:
        za, zb = (model.encode(input_vectors(model, t)).mean for t in (a, b))
        path = torch.stack([slerp(za[i], zb[i], steps) for i in range(len(a))], dim=1)  # (steps, n, Z)
        decoded = model.decoder.generate(path.flatten(0, 1), a.shape[1], sampler(greedy=True)).classes
    finally:
        model.train(was_training)
    decoded = decoded.unflatten(0, (steps, len(a))).cpu()  # (steps, n, T, K)
    a, b = a.cpu(), b.cpu()
    scores = [smoothness(decoded[:, i]) for i in range(len(a))]
    ends = torch.cat([(decoded[0] == a), (decoded[-1] == b)]).double().mean()
    return {
        "change_rate": float(np.mean([s[0] for s in scores])),
        "monotonicity": float(np.mean([s[1] for s in scores])),
        "endpoint_accuracy": float(ends),
        "steps": steps,
    }


def evaluate(
    model: MusicVAE,
    tokens: Tensor | np.ndarray,
    *,
    batch_size: int = 256,
    seed: int = 0,
    z_draws: int = 3,
    n_interpolations: int = 32,
    interpolation_steps: int = 7,
) -> dict[str, float]:
    """Everything on one set of windows (n, T, n_tracks), on the model's device: the paper's metric
    and z-use checks of :func:`zspace.music.paper_metrics.paper_metrics` (tf_acc, sampled_acc_t1,
    sampled_acc_argmax, onset_acc_t1, zswap_gap_nats, per-track tf_accuracy/<track> for several
    tracks, ...), kl_nats, kl_bits, active_units, and the smoothness of ``n_interpolations``
    slerp paths between seeded random pairs of windows."""
    tokens = as_tokens(tokens, model_device(model))
    out: dict[str, float] = paper_metrics(model, tokens, z_draws=z_draws, seed=seed, batch_size=batch_size)
    out |= kl_and_active_units(model, tokens, batch_size=batch_size)
    if n_interpolations and len(tokens) >= 2:
        pairs = torch.randperm(len(tokens), generator=torch.Generator().manual_seed(seed))[: 2 * n_interpolations]
        half = len(pairs) // 2
        smooth = interpolation_smoothness(model, tokens[pairs[:half]], tokens[pairs[half : 2 * half]], interpolation_steps)
        out |= {f"interp_{k}": v for k, v in smooth.items()}
    return out


__all__ = [
    "evaluate",
    "interpolation_smoothness",
    "kl_and_active_units",
    "majority_accuracy",
    "smoothness",
]
