"""Schedules as pure functions of the training step.

Nothing here keeps state: the trainer passes the global step, so a resumed run recomputes
exactly the value the uninterrupted run would have used.
"""

from __future__ import annotations

import math
from typing import Literal

from zspace.core.constraints import NonNegativeInt, configclass
from zspace.errors import ConfigError

ScheduleKind = Literal["constant", "linear", "exponential-decay", "exponential-rise", "cosine"]


def linear_warmup(step: int, warmup_steps: int, value: float, start: float = 0.0) -> float:
    """Linear ramp from ``start`` at step 0 to ``value`` at ``warmup_steps``, constant after."""
    if warmup_steps <= 0 or step >= warmup_steps:
        return value
    return start + (value - start) * step / warmup_steps


def exponential_rise(step: int, value: float, rate: float) -> float:
    """Magenta's KL weight: ``value * (1 - rate**step)`` (MusicVAE ``beta_rate``), 0 at step 0."""
    return value * (1.0 - rate**step)


def exponential_decay(step: int, value: float, rate: float, min_value: float) -> float:
    """Magenta's learning rate: ``(value - min_value) * rate**step + min_value``."""
    return (value - min_value) * rate**step + min_value


def cosine_decay(step: int, value: float, total_steps: int, min_value: float) -> float:
    """Half-cosine from ``value`` at step 0 to ``min_value`` at ``total_steps``."""
    progress = min(max(step / max(total_steps, 1), 0.0), 1.0)
    return min_value + 0.5 * (value - min_value) * (1.0 + math.cos(math.pi * progress))


@configclass
class Schedule:
    """A named schedule of one scalar (learning rate, KL weight, sampling rate).

    kind: constant | linear (warm-up from ``start``) | exponential-decay (Magenta lr) |
    exponential-rise (Magenta beta) | cosine. ``warmup_steps`` also prefixes the decays with a
    linear warm-up from 0, as is usual for learning rates.
    """

    kind: ScheduleKind = "constant"
    value: float = 1.0  # the constant, the warm-up target, or the starting/peak value of a decay
    start: float = 0.0  # linear: value at step 0
    warmup_steps: NonNegativeInt = 0
    rate: float = 0.9999  # exponential kinds: per-step factor (Magenta: 0.9999 lr, 0.99999 beta)
    min_value: float = 0.0  # decays: floor (Magenta lr: 1e-5)

    def __post_init__(self) -> None:
        kinds = ScheduleKind.__args__  # type: ignore[attr-defined]
        if self.kind not in kinds:
            raise ConfigError(f"schedule kind {self.kind!r} is not one of {list(kinds)}")
        if not 0.0 < self.rate <= 1.0:
            raise ConfigError(f"schedule rate must lie in (0, 1], got {self.rate}")
        if self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps must be >= 0, got {self.warmup_steps}")

    @classmethod
    def from_scalar(cls, value: float) -> Schedule:
        """A constant schedule: what ``--set train.lr=0.01`` means."""
        return cls(kind="constant", value=float(value))

    def __call__(self, step: int, total_steps: int | None = None) -> float:
        """Value at global ``step``; ``total_steps`` is needed by ``cosine`` only."""
        if self.kind == "constant":
            return self.value
        if self.kind == "linear":
            return linear_warmup(step, self.warmup_steps, self.value, self.start)
        if self.kind == "exponential-rise":
            return exponential_rise(step, self.value, self.rate)
        if step < self.warmup_steps:
            return linear_warmup(step, self.warmup_steps, self.value)
        decay_step = step - self.warmup_steps
        if self.kind == "exponential-decay":
            return exponential_decay(decay_step, self.value, self.rate, self.min_value)
        if total_steps is None:
            raise ValueError("the cosine schedule needs total_steps")
        return cosine_decay(decay_step, self.value, total_steps - self.warmup_steps, self.min_value)


def inverse_sigmoid(step: int, k: float) -> float:
    """Scheduled-sampling probability 1 - k / (k + exp(step / k)) (Bengio et al. 2015, Magenta).

    Written as 1 / (1 + k exp(-step / k)), the same number without overflow at large steps.
    0.5 at step = k ln k; k >= 1 sets how slowly the model is weaned off the true inputs.
    """
    return 1.0 / (1.0 + k * math.exp(-step / k))


@configclass
class SamplingSchedule:
    """Probability of feeding the decoder its own sample instead of the true previous token.

    Magenta's ``sampling_schedule`` / ``sampling_rate``: ``constant`` (rate is the probability),
    ``exponential`` (1 - rate^step, rate in (0, 1)), ``inverse_sigmoid`` (rate = k >= 1).
    The default, constant 0, is pure teacher forcing: the decoder's fast path.
    """

    kind: Literal["constant", "exponential", "inverse_sigmoid"] = "constant"
    rate: float = 0.0

    def __post_init__(self) -> None:
        ok = {
            "constant": 0.0 <= self.rate <= 1.0,
            "exponential": 0.0 < self.rate < 1.0,
            "inverse_sigmoid": self.rate >= 1.0,
        }
        if self.kind not in ok:
            raise ConfigError(f"SamplingSchedule.kind {self.kind!r} is not one of {sorted(ok)}")
        if not ok[self.kind]:
            ranges = {"constant": "[0, 1]", "exponential": "(0, 1)", "inverse_sigmoid": "[1, inf)"}
            raise ConfigError(f"SamplingSchedule.rate for {self.kind!r} must lie in {ranges[self.kind]}, got {self.rate}")

    def __call__(self, step: int) -> float:
        if self.kind == "constant":
            return self.rate
        if self.kind == "exponential":
            return exponential_rise(step, 1.0, self.rate)
        return inverse_sigmoid(step, self.rate)
