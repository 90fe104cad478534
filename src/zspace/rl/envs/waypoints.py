"""``zspace/Waypoints-v0``: a 2-D point visits 50 waypoints in order, +1 for every third.

The authors' discrete "waypoint play pen" (traj2vec/envs/playpen/waypointplaypendiscretegym.py)
without MuJoCo: the point moves 0.2 m per step in one of four directions and is clipped to the
square [-2.8, 2.8]^2; a waypoint is reached strictly within 0.4 m; episodes are 20 segments of
19 steps (380 steps). Positions are in metres, a step is one move.

Layout (``config.layout``), drawn at reset from the episode's generator, so ``reset(seed=s)``
fixes it; ``layout_seed`` fixes one layout for every episode (the authors ran one goal-file entry
per experiment):

- ``"uniform"`` (default, the authors'): the start and the 50 waypoints are i.i.d. uniform in the
  square, as the authors' ``goals/waypoint_goals.npy`` (5 layouts: points within +-2.78 m, starts
  within +-2.2 m, mean spacing 2.63 m; ``exps/waypoint/waypoint_discrete_exp.py`` resets every
  episode at the entry's start). Only some rewards are reachable in 380 steps.
- ``"walk"`` (ours, easier): the start is the origin and the waypoints a random walk from it
  (steps of 0.8-1.4 m inside the square), so nearly every reward is reachable by straight moves.

Observation ``(2,)``: the position ``(x, y)``; with ``include_stage=True`` also
``[stage / 50, waypoint_x, waypoint_y]`` of the current waypoint ``(5,)``, with ``include_stage="index"``
only ``[stage / 50]`` ``(3,)`` (what the paper's baselines saw).
Actions: ``Discrete(4)``: 0 = +x (right), 1 = +y (up), 2 = -x (left), 3 = -y (down), the authors' order.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from zspace.core.constraints import configclass
from zspace.errors import ConfigError
from zspace.rl.envs import render as draw
from zspace.rl.envs.base import BatchedSim, SingleEnv, StageOption, VecEnv, capped, check_layout
from zspace.rl.envs.tasks import sample_waypoints, waypoint_progress

__all__ = ["MOVES", "WaypointsConfig", "WaypointsEnv", "WaypointsSim", "WaypointsVec", "move_point"]

MOVES = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # unit moves of actions 0..3


@configclass
class WaypointsConfig:
    """The point-navigation task; lengths in metres. ``WaypointsConfig.for_layout("walk")`` is our easier task."""

    layout: str = "uniform"  # "uniform" (authors' goal files) or "walk" (ours): see the module docstring
    n_waypoints: int = 50  # reward at waypoints 3, 6, ..., 48: at most 16 per episode
    radius: float = 0.4  # reached when strictly closer (authors' reward_fn)
    step_size: float = 0.2  # length of one move (authors' move_distance)
    half_width: float = 2.8  # the position is clipped to [-half_width, half_width]^2 (authors' border)
    spacing: tuple[float, float] = (0.8, 1.4)  # "walk" only: between consecutive waypoints (>= 2 radius)
    reward_every: int = 3  # +1 for every third waypoint, as the paper's sparse multi-stage tasks
    segment_len: int = 19  # steps per latent segment (authors' path_len)
    n_segments: int = 20  # segments per episode (authors' mpc_max): 380 steps

    def __post_init__(self) -> None:
        check_layout("WaypointsConfig", self.layout)
        for name in ("n_waypoints", "reward_every", "segment_len", "n_segments"):
            if getattr(self, name) < 1:
                raise ConfigError(f"WaypointsConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("radius", "step_size", "half_width"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"WaypointsConfig.{name} must be > 0, got {getattr(self, name)}")
        low, high = self.spacing
        if not 0 < low <= high or high > self.half_width:
            raise ConfigError(f"WaypointsConfig.spacing must satisfy 0 < low <= high <= half_width, got {self.spacing}")

    @property
    def max_episode_steps(self) -> int:
        return self.segment_len * self.n_segments

    @classmethod
    def for_layout(cls, layout: str) -> WaypointsConfig:
        """The default task with ``layout`` (one of :data:`~zspace.rl.envs.base.LAYOUTS`)."""
        return cls(layout=check_layout("WaypointsConfig", layout))


def move_point(position: np.ndarray, actions: np.ndarray, *, step_size: float, half_width: float) -> np.ndarray:
    """The batched dynamics: ``position (n, 2)`` metres, ``actions (n,)`` in 0..3 -> new ``(n, 2)``."""
    return np.clip(position + step_size * MOVES[actions], -half_width, half_width)


class WaypointsSim(BatchedSim):
    """Arrays of ``num_envs`` point-navigation tasks; see the module docstring."""

    config_class = WaypointsConfig
    layout_key = "waypoints"
    count_key = "waypoints_reached"

    def __init__(
        self,
        *,
        num_envs: int,
        config: WaypointsConfig,
        include_stage: StageOption,
        layout_seed: int | None,
        max_episode_steps: int | None,
    ) -> None:
        self.config = config
        hw = config.half_width
        super().__init__(
            num_envs=num_envs,
            targets_shape=(config.n_waypoints, 2),
            base_low=np.full(2, -hw),
            base_high=np.full(2, hw),
            target_bound=hw,
            action_space=spaces.Discrete(len(MOVES)),
            max_episode_steps=capped(config.max_episode_steps, max_episode_steps),
            include_stage=include_stage,
            layout_seed=layout_seed,
        )
        self.position = np.zeros((num_envs, 2))  # metres
        self.start = np.zeros((num_envs, 2))  # each episode's start position, part of its layout

    @property
    def waypoints(self) -> np.ndarray:
        """``(n, N, 2)`` the current layouts, metres."""
        return self.targets

    def _sample_layout(self, i: int, rng: np.random.Generator) -> None:
        c = self.config
        if c.layout == "uniform":
            self.start[i] = rng.uniform(-c.half_width, c.half_width, 2)
            self.targets[i] = rng.uniform(-c.half_width, c.half_width, (c.n_waypoints, 2))
        else:
            self.start[i] = 0.0
            self.targets[i] = sample_waypoints(rng, c.n_waypoints, start=np.zeros(2), spacing=c.spacing, half_width=c.half_width)

    def _set_state(self, index: np.ndarray, state: np.ndarray | None) -> None:
        hw = self.config.half_width
        self.position[index] = self.start[index] if state is None else np.clip(state[:, :2], -hw, hw)

    def _advance(self, actions: np.ndarray) -> None:
        self.position = move_point(self.position, actions, step_size=self.config.step_size, half_width=self.config.half_width)

    def _base_observation(self) -> np.ndarray:
        return self.position.astype(np.float32)

    def progress(
        self, states: np.ndarray, stage: np.ndarray | int, *, env_index: int | slice = slice(None), discount: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        return waypoint_progress(
            states, self.targets[env_index], stage, radius=c.radius, reward_every=c.reward_every, discount=discount
        )

    def render(self, i: int) -> np.ndarray:
        c = self.config
        canvas = draw.Canvas(half_width=c.half_width + 0.2)
        canvas.frame(c.half_width)
        draw.route(canvas, self.targets[i], int(self.stage[i]), c.radius)
        canvas.disc(self.position[i], 0.12, draw.AGENT)
        canvas.progress_bar(self.stage[i] / self.n_stages)
        return canvas.image


class WaypointsEnv(SingleEnv):
    """``zspace/Waypoints-v0`` as a ``gymnasium.Env``.

    Args:
        config: task parameters (default: the paper's).
        include_stage: True or "target" appends the current waypoint's index and position to the observation, "index" the index alone.
        layout_seed: fix the waypoints of every episode to the layout of this seed.
        max_episode_steps: truncate earlier than ``config.max_episode_steps``.
        render_mode: ``"rgb_array"`` for 256 x 256 frames.
    """

    sim_class = WaypointsSim


class WaypointsVec(VecEnv):
    """``num_envs`` copies of :class:`WaypointsEnv` stepped as arrays (a gymnasium ``VectorEnv``)."""

    sim_class = WaypointsSim
