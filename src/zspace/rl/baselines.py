"""The flat-RL baselines SeCTAR is compared with (Co-Reyes et al., ICML 2018, section 6).

- :func:`flat_ppo`: PPO on the task reward (method name ``"ppo"``);
- :func:`ppo_count_bonus`: PPO with a count-based exploration bonus on the reached (x, y) cell,
  standing in for the paper's VIME (method name ``"ppo_count"``).

What the baselines observe of the task. The paper's baselines saw the *index* of the current
waypoint (and the authors used one fixed layout, a goal file): ``stage="index"`` (the default)
appends ``[stage / N]``, so a flat policy must learn where each waypoint of the fixed layout
(``env_kwargs={"layout_seed": k}``) lies. ``stage="target"`` also gives the current target's
position, which turns the task into plain goal reaching: flat PPO then nearly solves Waypoints
(below), a stronger baseline than the paper's, kept for the comparison.

Defaults. ``num_envs=8`` numpy copies are cheap to step together; ``n_steps=256`` makes a rollout
of 2,048 steps, about 5 Waypoints episodes (380 steps) or 2 Blocks episodes (950). The discount
is 0.995 instead of CleanRL's 0.99: rewards are sparse (every third waypoint, each object placed)
and the first ones come tens to hundreds of steps apart, beyond a horizon of 1 / (1 - 0.99) = 100
steps; 0.995 doubles it, while still short of the whole episode, so GAE stays low-variance.

Measured (Waypoints, random layouts, ``stage="target"``, seed 0, 102,400 steps, one run each):
flat PPO reaches a mean return of ~15.3 of 16; with the count bonus at ``beta=0.1`` only ~0.4 (a
380-step episode can collect more bonus than task reward, so the policy wanders), at
``beta=0.01`` ~15.4; hence the default ``beta=0.01``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from zspace.errors import ConfigError
from zspace.rl.ppo import PPOConfig, train_ppo
from zspace.rl.results import LearningCurve

__all__ = ["BASELINE_PPO", "CountBonus", "flat_ppo", "ppo_count_bonus"]

BASELINE_PPO = PPOConfig(gamma=0.995)  # see the module docstring


class CountBonus:
    """Count-based exploration bonus ``beta / sqrt(N(cell))`` on a grid over the (x, y) position.

    ``N(cell)`` counts the visits to the reached state's cell over the whole run (including the
    current one, so a first visit earns ``beta``); the cells are integer pairs in a hash map, so
    the grid is unbounded. Bellemare et al. (2016) / Tang et al. (2017) style, as a simple
    stand-in for VIME's information gain. On Blocks only the gripper's position is counted.

    Args:
        cell_size: edge of a grid cell, metres (0.2: one move of the Waypoints point).
        beta: bonus of a first visit, in units of task reward (one stage pays 1).
        xy: where the position lies in the observation (every zspace env puts it first).
    """

    def __init__(self, *, cell_size: float = 0.2, beta: float = 0.1, xy: slice = slice(0, 2)) -> None:
        if not cell_size > 0:
            raise ConfigError(f"CountBonus.cell_size must be > 0 metres, got {cell_size}")
        if beta < 0:
            raise ConfigError(f"CountBonus.beta must be >= 0, got {beta}")
        self.cell_size, self.beta, self.xy = cell_size, beta, xy
        self.counts: defaultdict[tuple[int, ...], int] = defaultdict(int)

    def cells(self, states: np.ndarray) -> np.ndarray:
        """``states (N, obs_dim)`` -> ``(N, 2)`` int64 grid cells of their positions."""
        return np.floor(np.asarray(states)[:, self.xy] / self.cell_size).astype(np.int64)

    def update(self, states: np.ndarray) -> np.ndarray:
        """Count a visit to each state's cell (in row order) and return its bonus ``(N,)``."""
        bonus = np.empty(len(states))
        for i, cell in enumerate(map(tuple, self.cells(states).tolist())):
            self.counts[cell] += 1
            bonus[i] = self.beta / np.sqrt(self.counts[cell])
        return bonus

    def __call__(self, states: np.ndarray, reward: np.ndarray) -> np.ndarray:
        """The reward function of :func:`zspace.rl.ppo.collect_rollout`: ``reward + bonus``, ``(N,)``."""
        return np.asarray(reward, dtype=np.float64) + self.update(states)


def _with_stage(env_kwargs: dict | None, stage: str) -> dict:
    if stage not in ("index", "target"):
        raise ConfigError(f"stage must be 'index' (the paper's baselines) or 'target', got {stage!r}")
    kwargs = dict(env_kwargs or {})
    if "include_stage" in kwargs:
        raise ConfigError(
            "the flat baselines set include_stage themselves: pass stage='index' or 'target', not env_kwargs['include_stage']"
        )
    return {**kwargs, "include_stage": stage}


def flat_ppo(
    env_id: str,
    *,
    total_steps: int,
    seed: int,
    num_envs: int = 8,
    n_steps: int = 256,
    config: PPOConfig = BASELINE_PPO,
    env_kwargs: dict | None = None,
    hidden: Sequence[int] = (64, 64),
    stage: str = "index",
    bonus: CountBonus | None = None,
) -> LearningCurve:
    """PPO on the sparse task reward (+ ``bonus``), observing the stage (see the module docstring);
    method ``"ppo"`` (``"ppo_count"`` with a bonus; the curve records the task return only)."""
    _, curve = train_ppo(
        env_id, total_steps=total_steps, seed=seed, num_envs=num_envs, n_steps=n_steps, config=config,
        env_kwargs=_with_stage(env_kwargs, stage), bonus=bonus, hidden=hidden,
    )  # fmt: skip
    curve.extra.update(gamma=config.gamma, stage=stage)
    return curve


def ppo_count_bonus(
    env_id: str,
    *,
    total_steps: int,
    seed: int,
    num_envs: int = 8,
    n_steps: int = 256,
    config: PPOConfig = BASELINE_PPO,
    env_kwargs: dict | None = None,
    hidden: Sequence[int] = (64, 64),
    cell_size: float = 0.2,
    beta: float = 0.01,
    stage: str = "index",
) -> LearningCurve:
    """:func:`flat_ppo` with a :class:`CountBonus`; method ``"ppo_count"``."""
    bonus = CountBonus(cell_size=cell_size, beta=beta)
    curve = flat_ppo(env_id, total_steps=total_steps, seed=seed, num_envs=num_envs, n_steps=n_steps, config=config,
                     env_kwargs=env_kwargs, hidden=hidden, stage=stage, bonus=bonus)  # fmt: skip
    curve.extra.update(cells_visited=len(bonus.counts), cell_size=cell_size, beta=beta)
    return curve
