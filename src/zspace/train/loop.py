"""The pieces of :meth:`Trainer.fit`'s loop that hold no model: the step plan, the running
outcome, the metric window between log records, and the torch settings of a fit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from zspace.errors import ConfigError, DataError
from zspace.train import distributed
from zspace.train.config import TrainConfig

__all__ = ["MetricWindow", "Outcome", "StepPlan", "torch_settings"]


@dataclass(frozen=True)
class StepPlan:
    """How many steps a fit takes and when it checkpoints, from the config and the data size."""

    n_examples: int
    steps_per_epoch: int
    schedule_steps: int  # the lr horizon: stopping early (max_steps) must not change it
    total_steps: int
    checkpoint_every: int

    @classmethod
    def of(cls, c: TrainConfig, n: int, world_size: int) -> StepPlan:
        if c.batch_size % world_size:
            raise ConfigError(
                f"TrainConfig.batch_size {c.batch_size} must be divisible by the {world_size} data-parallel processes"
            )
        steps_per_epoch = n // c.batch_size
        if steps_per_epoch == 0:
            raise DataError(
                f"the training set has {n} examples, fewer than one batch (batch_size={c.batch_size}); lower --batch-size"
            )
        return cls(n, steps_per_epoch, c.epochs * steps_per_epoch, c.total_steps(n), c.checkpoint_every or steps_per_epoch)


@dataclass
class Outcome:
    """What the loop has reached so far (returned as :class:`FitResult`)."""

    step: int
    best_metric: float | None
    last_checkpoint: Path | None
    train_metrics: dict[str, float] = field(default_factory=dict)
    valid_metrics: dict[str, float] = field(default_factory=dict)


class MetricWindow:
    """Sums of step metrics between two log records; drained into means across ranks."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, Tensor] = {}
        self.steps, self.examples, self.started = 0, 0, time.perf_counter()

    def add(self, metrics: dict[str, Tensor], examples: int) -> None:
        for name, value in metrics.items():
            value = value.detach()
            self.sums[name] = self.sums[name] + value if name in self.sums else value
        self.steps += 1
        self.examples += examples

    def drain(self, lr: float, info: distributed.DistInfo) -> dict[str, float]:
        elapsed = time.perf_counter() - self.started
        names = sorted(self.sums)  # the same on every rank: one loss_fn
        totals = distributed.all_reduce_sum(torch.stack([self.sums[k].float() for k in names]).cpu(), info)
        means = {k: float(v) / (self.steps * info.world_size) for k, v in zip(names, totals)}
        means.update(lr=lr, examples_per_s=self.examples / max(elapsed, 1e-9))
        self.reset()
        return means


@contextmanager
def torch_settings(c: TrainConfig) -> Iterator[None]:
    """Deterministic algorithms and the thread count of ``c`` inside; the caller's settings after."""
    deterministic, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    if c.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    if c.threads:
        torch.set_num_threads(c.threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)
