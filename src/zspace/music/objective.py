"""The MusicVAE training objective: ELBO with a rising beta, free bits, and scheduled sampling.

Roberts et al. (2018), eq. 3-5, as Magenta's ``base_model._compute_model_loss``:

    loss = mean_b[ -log p(x_b | z_b) ] + beta(step) * mean_b[ max(KL_b - free_nats, 0) ]

with the reconstruction summed over time steps and tracks, KL summed over latent dimensions,
and beta = max_beta * (1 - beta_rate^step). One reduction convention: sum over
event dimensions, mean over the batch. Everything here is a pure function of its arguments
and the global step; the terms themselves come from :mod:`zspace.core.objectives`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Independent

from zspace.core.constraints import NonNegative, configclass
from zspace.core.objectives import bits_to_nats, elbo_terms, kl_from_posterior, nats_to_bits
from zspace.core.schedules import SamplingSchedule, Schedule, inverse_sigmoid
from zspace.errors import ConfigError
from zspace.train.config import LossFn


@configclass
class MusicObjective:
    """What a MusicVAE minimizes. Defaults: Magenta's default hparams (beta 1, no free bits, teacher forcing)."""

    free_bits: NonNegative = 0.0  # per-example KL budget, bits (Magenta's free_bits): no KL pressure below it
    beta: Schedule = field(default_factory=lambda: Schedule(kind="constant", value=1.0))  # KL weight by step
    sampling: SamplingSchedule = field(default_factory=SamplingSchedule)

    def __post_init__(self) -> None:
        if self.free_bits < 0:
            raise ConfigError(f"MusicObjective.free_bits must be >= 0 bits, got {self.free_bits}")
        if min(self.beta.value, self.beta.start) < 0:
            raise ConfigError(f"MusicObjective.beta must be >= 0, got {self.beta}")

    @property
    def free_nats(self) -> float:
        return bits_to_nats(self.free_bits)


def reconstruction_log_likelihood(logits: Sequence[Tensor], targets: Tensor) -> Tensor:
    """log p(x|z) per example, nats: sum over steps and tracks of log softmax at the target class.

    logits: one (B, T, D_k) per track; targets: (B, T, n_tracks) long. Returns (B,).
    Equal to ``categorical(logits_k, 1).log_prob(targets_k)`` summed over k, in one fused kernel.
    """
    total = 0.0
    for k, track_logits in enumerate(logits):
        nll = F.cross_entropy(track_logits.flatten(0, 1), targets[..., k].flatten(), reduction="none")  # (B*T,)
        total = total + nll.view(targets.shape[:2]).sum(dim=1)
    return -total


@torch.no_grad()
def correct_steps(predicted: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
    """How many steps have the target class, per track: predicted and targets (B, T, K) -> (K,) float.

    ``mask`` (B, T, K) bool counts only the steps it marks (e.g. onsets). Every music accuracy
    counts with this: the training metric here, :func:`zspace.music.paper_metrics.decoder_accuracy`.
    """
    hit = predicted == targets
    return (hit if mask is None else hit & mask).sum(dim=(0, 1)).float()


def argmax_classes(logits: Sequence[Tensor]) -> Tensor:
    """The most likely class of every step and track: one (B, T, D_k) per track -> (B, T, K) long."""
    return torch.stack([lg.argmax(dim=-1) for lg in logits], dim=-1)


def loss_terms(
    logits: Sequence[Tensor],
    targets: Tensor,
    posterior: Independent,
    *,
    beta: float,
    free_nats: float,
    track_names: Sequence[str] | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The MusicVAE loss and its metrics for one batch (Roberts et al. 2018, eq. 5; Magenta).

    posterior: q(z|x), a diagonal Normal with batch (B,) and event (Z,). Free bits apply to
    each example's total KL. Metrics are batch means per example: elbo, reconstruction and kl
    in nats, kl_bits, beta, and accuracy (argmax at every step, mean over tracks; per track too
    when ``track_names`` are given for more than one track).
    """
    log_likelihood = reconstruction_log_likelihood(logits, targets)
    normal = posterior.base_dist
    kl_per_dim = kl_from_posterior(normal)  # (B, Z), Kingma & Welling app. B
    terms = elbo_terms(log_likelihood, kl_per_dim, beta=beta, free_nats=free_nats)
    per_track = correct_steps(argmax_classes(logits), targets) / targets.shape[:2].numel()  # teacher-forced, greedy
    metrics = {
        "elbo": terms.elbo.detach(),
        "reconstruction": terms.reconstruction.detach(),
        "kl": terms.kl.detach(),
        "kl_bits": nats_to_bits(terms.kl.detach()),
        "beta": torch.tensor(float(beta)),
        "accuracy": per_track.mean(),
    }
    if track_names is not None and len(track_names) > 1:
        metrics.update({f"accuracy/{name}": acc for name, acc in zip(track_names, per_track)})
    return terms.loss, metrics


def make_loss_fn(objective: MusicObjective, *, track_names: Sequence[str] | None = None) -> LossFn:
    """The trainer's step function: (model, (inputs, targets), step) -> (loss, metrics).

    inputs: (B, T, input_depth) float, targets: (B, T, n_tracks) long. Scheduled sampling is a
    training-time regulariser, like dropout: in eval mode the decoder is teacher-forced, so
    validation accuracy is the teacher-forced one at every checkpoint.
    """

    def loss_fn(model: nn.Module, batch: tuple[Tensor, Tensor], step: int) -> tuple[Tensor, dict[str, Tensor]]:
        inputs, targets = batch
        p = objective.sampling(step) if model.training else 0.0
        out = model(inputs, targets, sampling_probability=p)
        loss, metrics = loss_terms(
            out.logits, targets, out.posterior, beta=objective.beta(step), free_nats=objective.free_nats, track_names=track_names
        )
        metrics["sampling_probability"] = torch.tensor(p)
        return loss, metrics

    return loss_fn


__all__ = [
    "MusicObjective",
    "SamplingSchedule",
    "argmax_classes",
    "correct_steps",
    "inverse_sigmoid",
    "loss_terms",
    "make_loss_fn",
    "reconstruction_log_likelihood",
]
