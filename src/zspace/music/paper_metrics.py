"""The paper's reconstruction metric (Roberts et al. 2018, Table 1) and whether the decoder uses z.

Table 1: "All values are reported on a held-out test set. A softmax temperature of 1.0 was used
in all cases, meaning we sampled directly from the logits." Each window is encoded to z, the
decoder runs free from z drawing every step from softmax(logits) (its own draws fed back), and
the draws are compared with the window step by step. On 16-bar melodies 83-85% of steps are
"no event" (the held note continues), so argmax decoding scores about the majority baseline for a
decoder that ignores z: it always says "hold". Sampling at temperature 1 does not: a decoder that
ignores z draws onsets at the corpus rate, at the wrong places. Hence, beside it:

- teacher-forced accuracy: argmax with the true previous token fed at every step;
- onset accuracy: the same counts restricted to steps whose target is a note onset
  (melody/bass class >= 2, drums class >= 1), where "hold" cannot score;
- the z-swap gap: teacher-forced NLL (nats per window) with z shuffled across the evaluated
  windows (a derangement: no window keeps its own code) minus the NLL with each window's own z.
  Zero for a decoder that ignores z; KL below the free-bits budget only means the KL is not
  penalised, not that the decoder reads z, which this measures;
- sampled accuracy at temperature 1 with the shuffled z: what a decoder scores from a wrong code.

Every function runs in eval mode under ``no_grad`` on the model's device, in batches, and is
seeded: the same call (same ``seed`` and ``batch_size``) gives the same numbers.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from zspace.music.encoding import get_encoding
from zspace.music.model import MusicVAE, sampler
from zspace.music.objective import argmax_classes, correct_steps, reconstruction_log_likelihood

# The smallest class that is a note onset, per track name: 0 is "no event" in every track,
# 1 is "note off" in the melodic tracks.
ONSET_MIN_CLASS = {"melody": 2, "bass": 2, "drums": 1}


def onset_mask(model: MusicVAE, targets: Tensor) -> Tensor:
    """Which (window, step, track) targets are note onsets: (B, T, n_tracks) long -> bool."""
    lowest = torch.tensor([ONSET_MIN_CLASS[name] for name in model.config.track_names], device=targets.device)
    return targets >= lowest


def derangement(n: int, generator: torch.Generator) -> Tensor:
    """A seeded permutation of range(n) with no fixed point (n >= 2): each window gets another's z.

    A random cyclic order, shifted by one: window order[i] receives the code of order[i + 1].
    """
    if n < 2:
        raise ValueError(f"swapping codes needs at least 2 windows, got {n}")
    order = torch.randperm(n, generator=generator, device=generator.device)
    permutation = torch.empty_like(order)
    permutation[order] = order.roll(-1)
    return permutation


def model_device(model: MusicVAE) -> torch.device:
    """The device of the model's weights: where every metric builds its tensors."""
    return next(model.parameters()).device


def as_tokens(tokens: Tensor | np.ndarray, device: torch.device | str = "cpu") -> Tensor:
    """Token windows (n, T, n_tracks) of any integer dtype -> long tensor on ``device``."""
    tensor = torch.from_numpy(np.asarray(tokens, dtype=np.int64)) if isinstance(tokens, np.ndarray) else tokens
    return tensor.to(device=device, dtype=torch.long)


def input_vectors(model: MusicVAE, targets: Tensor) -> Tensor:
    """encoding.to_inputs as a table lookup on the targets' device: (B, T, n_tracks) long -> (B, T, input_depth) float."""
    tables = get_encoding(model.config.encoding).input_table()
    return torch.cat([F.embedding(targets[..., k], torch.from_numpy(t).to(targets.device)) for k, t in enumerate(tables)], dim=-1)


@torch.no_grad()
def posterior_codes(model: MusicVAE, targets: Tensor, *, batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation of q(z|x) for every window: targets (n, T, K) -> two (n, z_size)."""
    means, scales = [], []
    for start in range(0, len(targets), batch_size):
        posterior = model.encode(input_vectors(model, targets[start : start + batch_size])).base_dist
        means.append(posterior.loc)
        scales.append(posterior.scale)
    return torch.cat(means), torch.cat(scales)


@torch.no_grad()
def posterior_samples(model: MusicVAE, targets: Tensor, generator: torch.Generator, *, batch_size: int = 256) -> Tensor:
    """One code z ~ q(z|x) per window, drawn batch by batch with ``generator``: (n, T, K) -> (n, z_size)."""
    mean, scale = posterior_codes(model, targets, batch_size=batch_size)
    noise = [torch.randn((len(m), mean.shape[1]), generator=generator, device=mean.device) for m in mean.split(batch_size)]
    return mean + scale * torch.cat(noise)


@torch.no_grad()
def decoder_accuracy(
    model: MusicVAE,
    targets: Tensor,
    codes: Tensor,
    *,
    teacher_forced: bool = True,
    greedy: bool = True,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    batch_size: int = 256,
) -> dict[str, float]:
    """How often decoding ``codes`` gives back ``targets``, step by step: every music accuracy.

    targets: (n, T, n_tracks) long; codes: (n, z_size), the z each window is decoded from.
    ``teacher_forced``: the true previous token is fed at every step (the decoder's training
    view); else the decoder runs free, feeding back its own choices. ``greedy``: each step's
    class is the argmax; else a draw from softmax(logits / temperature) with ``generator``
    (Table 1's metric: free-running, sampled at temperature 1).

    Returns ``accuracy`` (mean over tracks of the per-track step accuracy), ``accuracy/<track>``,
    ``onset_accuracy`` (the steps whose target is a note onset, pooled over tracks), each in
    [0, 1], and when teacher-forced ``nll_nats``, -log p(x|z) in nats per window.
    """
    pick = sampler(greedy=greedy, temperature=temperature, generator=generator)
    n_tracks = model.config.n_tracks
    correct, onsets_correct, onsets = (torch.zeros(n_tracks, dtype=torch.float64, device=targets.device) for _ in range(3))
    nll = torch.zeros((), dtype=torch.float64, device=targets.device)
    for start in range(0, len(targets), batch_size):
        batch, z = targets[start : start + batch_size], codes[start : start + batch_size]  # (B, T, K), (B, Z)
        if teacher_forced:
            logits = model.decoder.teacher_forced(z, batch)
            nll -= reconstruction_log_likelihood(logits, batch).double().sum()
            predicted = argmax_classes(logits) if greedy else pick([lg.flatten(0, 1) for lg in logits]).view(batch.shape)
        else:
            predicted = model.decoder.generate(z, batch.shape[1], pick).classes
        onset = onset_mask(model, batch)
        correct += correct_steps(predicted, batch).double()
        onsets_correct += correct_steps(predicted, batch, onset).double()
        onsets += onset.sum((0, 1)).double()
    per_track = correct / (len(targets) * targets.shape[1])
    scores = {
        "accuracy": float(per_track.mean()),
        **{f"accuracy/{name}": float(a) for name, a in zip(model.config.track_names, per_track)},
        "onset_accuracy": float(onsets_correct.sum() / onsets.sum().clamp_min(1)),
    }
    return scores | ({"nll_nats": float(nll) / len(targets)} if teacher_forced else {})


@torch.no_grad()
def paper_metrics(
    model: MusicVAE, tokens: Tensor | np.ndarray, *, z_draws: int = 3, seed: int = 0, batch_size: int = 256
) -> dict[str, float]:
    """Table 1's metric and the z-use checks on windows (n >= 2, T, n_tracks), in [0, 1] unless in nats.

    Keys: n_windows; tf_acc, tf_onset_acc, tf_nll_nats (z = posterior mean); sampled_acc_t1 and
    onset_acc_t1 (temperature 1, z = posterior mean); sampled_acc_t1_zdraw_mean / _std and
    onset_acc_t1_zdraw_mean (``z_draws`` codes z ~ q(z|x), mean and standard deviation over the
    draws); sampled_acc_argmax and onset_acc_argmax; zswap_tf_nll_nats and zswap_gap_nats
    (NLL with shuffled codes minus NLL with the true ones, nats per window); sampled_acc_t1_zswap
    and onset_acc_t1_zswap; for several tracks, tf_accuracy/<track> (teacher-forced, per track).
    """
    device, was_training = model_device(model), model.training
    targets = as_tokens(tokens, device)
    generator = torch.Generator(device=device).manual_seed(seed)
    model.eval()
    try:
        mean, scale = posterior_codes(model, targets, batch_size=batch_size)
        swapped = mean[derangement(len(targets), generator)]

        def sampled(codes: Tensor, greedy: bool = False) -> dict[str, float]:
            return decoder_accuracy(
                model, targets, codes, teacher_forced=False, greedy=greedy, generator=generator, batch_size=batch_size
            )

        tf = decoder_accuracy(model, targets, mean, batch_size=batch_size)
        tf_swapped = decoder_accuracy(model, targets, swapped, batch_size=batch_size)
        t1, argmax, t1_swapped = sampled(mean), sampled(mean, greedy=True), sampled(swapped)
        noise = [torch.randn(mean.shape, generator=generator, device=device) for _ in range(z_draws)]
        draws = [sampled(mean + scale * eps) for eps in noise]
    finally:
        model.train(was_training)
    draw_acc = np.array([d["accuracy"] for d in draws])
    per_track = {f"tf_{k}": v for k, v in tf.items() if k.startswith("accuracy/")} if model.config.n_tracks > 1 else {}
    return {
        "n_windows": len(targets),
        "tf_acc": tf["accuracy"],
        "tf_onset_acc": tf["onset_accuracy"],
        "tf_nll_nats": tf["nll_nats"],
        "sampled_acc_t1": t1["accuracy"],
        "onset_acc_t1": t1["onset_accuracy"],
        "sampled_acc_t1_zdraw_mean": float(draw_acc.mean()) if z_draws else float("nan"),
        "sampled_acc_t1_zdraw_std": float(draw_acc.std()) if z_draws else float("nan"),
        "onset_acc_t1_zdraw_mean": float(np.mean([d["onset_accuracy"] for d in draws])) if z_draws else float("nan"),
        "z_draws": z_draws,
        "sampled_acc_argmax": argmax["accuracy"],
        "onset_acc_argmax": argmax["onset_accuracy"],
        "zswap_tf_nll_nats": tf_swapped["nll_nats"],
        "zswap_gap_nats": tf_swapped["nll_nats"] - tf["nll_nats"],
        "sampled_acc_t1_zswap": t1_swapped["accuracy"],
        "onset_acc_t1_zswap": t1_swapped["onset_accuracy"],
    } | per_track


def majority_accuracy(train_tokens: Tensor | np.ndarray, test_tokens: Tensor | np.ndarray) -> float:
    """Accuracy of always predicting each track's most frequent training class, on ``test_tokens``.

    Both (n, T, n_tracks); mean over tracks. The score of a decoder that says "hold" throughout.
    """
    train, test = as_tokens(train_tokens), as_tokens(test_tokens)
    per_track = [
        float((test[..., k] == train[..., k].flatten().bincount().argmax()).double().mean()) for k in range(train.shape[2])
    ]
    return float(np.mean(per_track))


__all__ = [
    "ONSET_MIN_CLASS",
    "as_tokens",
    "decoder_accuracy",
    "derangement",
    "input_vectors",
    "majority_accuracy",
    "model_device",
    "onset_mask",
    "paper_metrics",
    "posterior_codes",
    "posterior_samples",
]
