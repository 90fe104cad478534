"""How well a MusicVAE reconstructs and uses its latent code: the numbers of Roberts et al. (2018), Table 1.

Every function takes a model and token windows ``(n, T, n_tracks)`` (class indices, any
integer dtype: a prepared split as is), runs in eval mode under ``no_grad`` in batches, and is
seeded: the same call gives the same numbers.

- reconstruction accuracy (Table 1): the fraction of steps whose class the decoder gets right
  after encoding the window to ``z`` (the posterior mean by default, or a posterior sample).
  ``teacher_forced``: argmax of the logits with the true previous token fed at every step;
  ``sampled``: the decoder runs free from ``z``, feeding back its own argmax, and its output is
  compared with the input step by step (one early mistake can shift everything after it).
- KL and active units: how much information z carries, and in how many dimensions
  (Burda et al. 2016: unit u is active when Var_x E_q[z_u] > 0.01).
- interpolation smoothness: see :func:`smoothness`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from zspace.core.objectives import active_units, kl_standard_normal, nats_to_bits
from zspace.music.encoding import get_encoding
from zspace.music.model import MusicVAE, sampler

Mode = Literal["teacher_forced", "sampled"]


def _tokens(tokens: Tensor | np.ndarray) -> Tensor:
    return torch.as_tensor(np.asarray(tokens, dtype=np.int64) if isinstance(tokens, np.ndarray) else tokens).long()


def _inputs(model: MusicVAE, targets: Tensor) -> Tensor:
    """encoding.to_inputs as a table lookup: (B, T, n_tracks) long -> (B, T, input_depth) float."""
    tables = get_encoding(model.config.encoding).input_table()
    return torch.cat([F.embedding(targets[..., k], torch.from_numpy(t)) for k, t in enumerate(tables)], dim=-1)


def _codes(model: MusicVAE, targets: Tensor, z: Literal["mean", "sample"], generator: torch.Generator) -> Tensor:
    posterior = model.encode(_inputs(model, targets)).base_dist
    if z == "mean":
        return posterior.loc
    return posterior.loc + posterior.scale * torch.randn(posterior.loc.shape, generator=generator)


@torch.no_grad()
def reconstruction_accuracy(
    model: MusicVAE,
    tokens: Tensor | np.ndarray,
    *,
    mode: Mode = "teacher_forced",
    z: Literal["mean", "sample"] = "mean",
    batch_size: int = 256,
    seed: int = 0,
) -> dict[str, float]:
    """Per-step argmax accuracy of reconstructing ``tokens`` (n, T, n_tracks) from their codes.

    Returns ``{"accuracy": mean over tracks, "accuracy/<track>": ...}``, each in [0, 1]: the
    fraction of (window, step) pairs whose class is right. ``seed`` draws z when ``z="sample"``.
    """
    if mode not in ("teacher_forced", "sampled"):
        raise ValueError(f"mode must be 'teacher_forced' or 'sampled', got {mode!r}")
    targets_all, was_training = _tokens(tokens), model.training
    model.eval()
    generator, pick = torch.Generator().manual_seed(seed), sampler(greedy=True)
    correct = torch.zeros(model.config.n_tracks, dtype=torch.float64)
    try:
        for start in range(0, len(targets_all), batch_size):
            targets = targets_all[start : start + batch_size]  # (B, T, K)
            codes = _codes(model, targets, z, generator)
            if mode == "teacher_forced":
                predicted = torch.stack([lg.argmax(-1) for lg in model.decoder.teacher_forced(codes, targets)], dim=-1)
            else:
                predicted = model.decoder.generate(codes, targets.shape[1], pick).classes
            correct += (predicted == targets).sum(dim=(0, 1)).double()
    finally:
        model.train(was_training)
    per_track = correct / (len(targets_all) * targets_all.shape[1])
    names = model.config.track_names
    return {"accuracy": float(per_track.mean()), **{f"accuracy/{n}": float(a) for n, a in zip(names, per_track)}}


@torch.no_grad()
def kl_and_active_units(
    model: MusicVAE, tokens: Tensor | np.ndarray, *, batch_size: int = 256, threshold: float = 0.01
) -> dict[str, float]:
    """Mean KL(q(z|x) || N(0, I)) per window (nats and bits) and the active units of the posterior means.

    ``threshold``: Burda et al.'s 0.01 on Var_x E_q[z_u]. Returns kl_nats, kl_bits,
    active_units (count) and z_size.
    """
    targets_all, was_training = _tokens(tokens), model.training
    model.eval()
    kl, means = 0.0, []
    try:
        for start in range(0, len(targets_all), batch_size):
            posterior = model.encode(_inputs(model, targets_all[start : start + batch_size])).base_dist
            kl += float(kl_standard_normal(posterior.loc, 2.0 * posterior.scale.log()).sum())
            means.append(posterior.loc)
    finally:
        model.train(was_training)
    kl_nats = kl / len(targets_all)
    count, _ = active_units(torch.cat(means), threshold)
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
    """Decode ``steps`` points on the straight line between the posterior means of paired windows
    (n, T, n_tracks) each, greedily, and average :func:`smoothness` over the n pairs.

    Returns change_rate, monotonicity, and endpoint_accuracy (how well the two ends reproduce a
    and b, the sampled accuracy at the ends: a smooth path between wrong ends means little).
    """
    a, b, was_training = _tokens(tokens_a), _tokens(tokens_b), model.training
    if a.shape != b.shape:
        raise ValueError(f"tokens_a and tokens_b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    model.eval()
    try:
        za, zb = (model.encode(_inputs(model, t)).mean for t in (a, b))
        t = torch.linspace(0.0, 1.0, steps).view(steps, 1, 1)
        path = (1.0 - t) * za + t * zb  # (steps, n, Z): the straight line, zspace.core.latent.lerp per pair
        decoded = model.decoder.generate(path.flatten(0, 1), a.shape[1], sampler(greedy=True)).classes
    finally:
        model.train(was_training)
    decoded = decoded.unflatten(0, (steps, len(a)))  # (steps, n, T, K)
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
    n_interpolations: int = 32,
    interpolation_steps: int = 7,
) -> dict[str, float]:
    """All of the above on one held-out set: tf_acc, sampled_acc (z = posterior mean), per-track
    accuracies, kl_nats, kl_bits, active_units, and the smoothness of ``n_interpolations``
    paths between seeded random pairs of windows."""
    tokens = _tokens(tokens)
    out: dict[str, float] = {"n_windows": len(tokens)}
    for mode, key in (("teacher_forced", "tf"), ("sampled", "sampled")):
        acc = reconstruction_accuracy(model, tokens, mode=mode, batch_size=batch_size, seed=seed)
        out[f"{key}_acc"] = acc.pop("accuracy")
        out |= {f"{key}_{name}": v for name, v in acc.items()}  # tf_accuracy/melody, ...
    out |= kl_and_active_units(model, tokens, batch_size=batch_size)
    if n_interpolations and len(tokens) >= 2:
        pairs = torch.randperm(len(tokens), generator=torch.Generator().manual_seed(seed))[: 2 * n_interpolations]
        half = len(pairs) // 2
        smooth = interpolation_smoothness(model, tokens[pairs[:half]], tokens[pairs[half : 2 * half]], interpolation_steps)
        out |= {f"interp_{k}": v for k, v in smooth.items()}
    return out


__all__ = ["evaluate", "interpolation_smoothness", "kl_and_active_units", "reconstruction_accuracy", "smoothness"]
