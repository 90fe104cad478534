"""What every RL method in zspace reports: episode returns against environment steps.

SeCTAR and each baseline return a :class:`LearningCurve`, so the benchmark compares them at one
shared environment-step budget with one piece of code. ``env_steps`` counts *every* environment
step a method takes (planning, exploration, consistency and evaluation rollouts alike), because
the paper's claim is about sample efficiency.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = ["LearningCurve"]


@dataclasses.dataclass(kw_only=True)
class LearningCurve:
    """Mean episode return (and success rate) of a method at increasing environment-step counts.

    Each record ``i`` says: after ``env_steps[i]`` environment steps in total, the episodes the
    method ran or evaluated at that point had mean return ``returns[i]`` and success rate
    ``successes[i]`` (share of episodes completing every stage).
    """

    method: str
    env_id: str
    seed: int
    env_steps: list[int] = dataclasses.field(default_factory=list)
    returns: list[float] = dataclasses.field(default_factory=list)
    successes: list[float] = dataclasses.field(default_factory=list)
    wall_s: float = 0.0
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)  # method-specific scalars, e.g. consistency error

    def record(self, env_steps: int, mean_return: float, success_rate: float = 0.0) -> None:
        if self.env_steps and env_steps < self.env_steps[-1]:
            raise ValueError(f"env_steps must not decrease: {env_steps} after {self.env_steps[-1]}")
        if not math.isfinite(mean_return):
            raise ValueError(f"{self.method} on {self.env_id}: episode return is {mean_return} at {env_steps} env steps")
        self.env_steps.append(int(env_steps))
        self.returns.append(float(mean_return))
        self.successes.append(float(success_rate))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LearningCurve:
        return cls(**data)
