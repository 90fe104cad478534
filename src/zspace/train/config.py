"""How to train (:class:`TrainConfig`), what a fit reached (:class:`FitResult`), and the step contract.

``LossFn`` is declared here once: every family's step function has this type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from zspace.core.constraints import NonNegative, Positive, Seed, Size, configclass
from zspace.core.schedules import Schedule
from zspace.errors import ConfigError

Batch = Tensor | tuple[Tensor, ...]
LossFn = Callable[[nn.Module, Any, int], tuple[Tensor, dict[str, Tensor]]]


@configclass
class TrainConfig:
    """How to train; the defaults are the AEVB/PyTorch-example recipe (Adam 1e-3, batch 100)."""

    optimizer: Literal["adam", "adagrad", "sgd"] = "adam"
    lr: Schedule = field(default_factory=lambda: Schedule(kind="constant", value=1e-3))
    weight_decay: NonNegative = 0.0
    momentum: NonNegative = 0.9  # sgd only
    grad_clip_norm: Positive | None = None  # clip the global gradient norm (Magenta: 1.0)
    batch_size: Size = 100  # global batch: split evenly across data-parallel ranks
    epochs: Size = 10
    max_steps: Size | None = None  # stop earlier than ``epochs`` when set
    seed: Seed = 0
    checkpoint_every: Size | None = None  # steps between checkpoints; None = every epoch
    keep_last: Size = 3  # checkpoints kept besides the best
    log_every: Size = 50  # steps between metric records
    tensorboard: bool = True
    deterministic: bool = True  # torch.use_deterministic_algorithms during fit
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: Size | None = None  # torch intra-op threads; None leaves torch's default
    fused_optimizer: bool = True  # torch's fused optimizer kernels (CPU and CUDA) where available
    # Mixed precision of the training step (torch.autocast): "bfloat16" runs matmuls and LSTMs in bf16
    # while weights, optimizer state and the reductions torch keeps in float32 stay float32. About 1.6x
    # the steps/s of MusicVAE on an AVX512-BF16 CPU (bench/musicvae.py); evaluation stays float32. A device
    # without bf16 kernels (an AVX2-only CPU has no bf16 LSTM) trains in float32 with one warning.
    autocast: Literal["none", "bfloat16"] = "none"
    best_metric: str = "loss"  # validation metric that picks the best checkpoint
    best_mode: Literal["min", "max"] = "min"  # whether lower or higher ``best_metric`` is better

    def __post_init__(self) -> None:  # after each field's declared range (configclass)
        if self.lr.value <= 0 or self.lr.min_value < 0:
            raise ConfigError(f"TrainConfig.lr must be > 0 (--lr), got {self.lr.value} (min_value {self.lr.min_value})")
        kind, _, index = self.device.partition(":")
        if kind not in DEVICE_KINDS or (index and not (kind == "cuda" and index.isdigit())):
            raise ConfigError(f"TrainConfig.device (--device) must be auto, cpu, cuda or cuda:N, got {self.device!r}")

    def total_steps(self, n_examples: int) -> int:
        """Optimizer steps a full fit on ``n_examples`` takes (the last partial batch is dropped)."""
        schedule_steps = self.epochs * (n_examples // self.batch_size)
        return schedule_steps if self.max_steps is None else min(self.max_steps, schedule_steps)


@dataclass
class FitResult:
    """What a call to :meth:`Trainer.fit` reached."""

    step: int
    total_steps: int
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    best_metric: float | None
    train_metrics: dict[str, float]
    valid_metrics: dict[str, float]
    examples_per_s: float
    autocast: str = "none"  # the mode the steps ran in: TrainConfig.autocast, or "none" where the device lacks it


DEVICE_KINDS = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """``auto`` | ``cpu`` | ``cuda[:N]`` as a torch device; a CUDA device this machine lacks is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: this torch has no usable CUDA device; use --device cpu (or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return device
