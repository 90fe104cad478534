"""``zspace/SwimmerWaypoints-v0``: gymnasium's MuJoCo 3-link swimmer visits waypoints in order.

The authors' swimmer task (traj2vec/envs/swimmer.py) on gymnasium's ``Swimmer-v5``: 10 waypoints
are reached strictly within 0.2 m of the swimmer's position, +1 for every third; episodes are
50 segments of 99 steps (4950 steps of 0.04 s). Swimmer-v5's own reward (forward velocity) is
discarded. MuJoCo is imported when the environment is constructed, never at registration; it
comes with the ``rl`` extra (``pip install 'zspace[rl]'``).

Observation ``(12,)``: the head position ``(x, y)`` (m; the centre of the front segment, the
authors' ``get_body_com("torso")``), then Swimmer-v5's observation with positions kept, ``qpos``
(torso frame ``x, y``, body angle, two joint angles) and ``qvel``. The head comes first so that
every waypoint task scores ``obs[..., 0:2]``; ``reset(options={"state": obs})`` restores the
state. With ``include_stage=True``, ``[stage / 10, waypoint_x, waypoint_y]`` follows ``(15,)``.
Actions: ``Box(-1, 1, (2,))`` joint torques, as Swimmer-v5.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from zspace.core.constraints import configclass
from zspace.errors import ConfigError, ZspaceError
from zspace.rl.envs import render as draw
from zspace.rl.envs.base import METADATA, StageOption, capped, check_layout, stage_bounds, stage_features, stage_mode
from zspace.rl.envs.tasks import sample_waypoints, waypoint_distance, waypoint_progress

__all__ = ["MissingDependencyError", "SwimmerWaypointsConfig", "SwimmerWaypointsEnv"]


class MissingDependencyError(ZspaceError, ImportError):
    """An optional dependency of an environment (MuJoCo) is not installed."""


@configclass
class SwimmerWaypointsConfig:
    """The swimmer waypoint task; lengths in metres. v0 keeps our "walk" layout; v1 is the authors' (uniform)."""

    layout: str = "walk"  # "walk": a random walk from the origin; "uniform": i.i.d. in the square (v1)
    n_waypoints: int = 10  # reward at waypoints 3, 6, 9: at most 3 per episode
    radius: float = 0.2  # head reaches a waypoint when strictly closer (authors' swimmer reward_fn)
    spacing: tuple[float, float] = (0.5, 1.0)  # distance between consecutive waypoints
    half_width: float = 3.0  # waypoints lie in [-half_width, half_width]^2 (the water is unbounded)
    reward_every: int = 3
    segment_len: int = 99  # steps per latent segment (authors' swimmer path_len)
    n_segments: int = 50  # 4950 steps (authors' mpc_max)
    reset_noise_scale: float = 0.1  # Swimmer-v5's initial-state noise

    def __post_init__(self) -> None:
        check_layout("SwimmerWaypointsConfig", self.layout)
        for name in ("n_waypoints", "reward_every", "segment_len", "n_segments"):
            if getattr(self, name) < 1:
                raise ConfigError(f"SwimmerWaypointsConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.radius <= 0 or self.half_width <= 0 or self.reset_noise_scale < 0:
            raise ConfigError(f"SwimmerWaypointsConfig: radius and half_width must be > 0, got {self}")
        if not 0 < self.spacing[0] <= self.spacing[1]:
            raise ConfigError(f"SwimmerWaypointsConfig.spacing must satisfy 0 < low <= high, got {self.spacing}")

    @property
    def max_episode_steps(self) -> int:
        return self.segment_len * self.n_segments


class SwimmerWaypointsEnv(gym.Env):
    """``zspace/SwimmerWaypoints-v0``; arguments as :class:`~zspace.rl.envs.waypoints.WaypointsEnv`.

    Raises:
        MissingDependencyError: MuJoCo (or gymnasium's MuJoCo environments) is not installed.
    """

    metadata: ClassVar[dict[str, Any]] = {**METADATA, "render_fps": 25}  # 1 / (0.04 s per step)
    env_id = "zspace/SwimmerWaypoints-v0"

    def __init__(
        self,
        *,
        config: SwimmerWaypointsConfig | None = None,
        include_stage: StageOption = False,
        layout_seed: int | None = None,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        try:
            from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv  # noqa: F401 - fails without MuJoCo
        except ImportError as err:  # gymnasium raises DependencyNotInstalled, an ImportError, without mujoco
            raise MissingDependencyError(
                f"{self.env_id} needs MuJoCo ({err}); install it with `pip install 'zspace[rl]'`"
            ) from err
        if render_mode not in (None, *METADATA["render_modes"]):
            raise ConfigError(f"render_mode {render_mode!r} is not one of {[None, *METADATA['render_modes']]}")
        self.config = c = config or SwimmerWaypointsConfig()
        self.stage_mode = stage_mode(include_stage)
        self.layout_seed = layout_seed
        self.render_mode = render_mode
        self.max_episode_steps = capped(c.max_episode_steps, max_episode_steps)
        self.swimmer = self._make_swimmer(c)
        inner = self.swimmer.observation_space
        low, high = np.concatenate([[-np.inf, -np.inf], inner.low]), np.concatenate([[np.inf, np.inf], inner.high])
        stage_low, stage_high = stage_bounds(self.stage_mode, c.half_width)
        low, high = np.concatenate([low, stage_low]), np.concatenate([high, stage_high])
        self.observation_space = spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        self.action_space = self.swimmer.action_space
        self.waypoints = np.zeros((c.n_waypoints, 2))  # metres, the current layout
        self.stage = 0
        self.elapsed = 0

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = sorted(set(options) - {"state", "stage"})
        if unknown:
            raise ConfigError(f"unknown reset option(s) {unknown}; valid options are ['stage', 'state']")
        c = self.config
        # One stream: the swimmer's initial noise and the layout both come from our np_random.
        self.swimmer.reset(seed=int(self.np_random.integers(2**31)))
        layout_rng = self.np_random if self.layout_seed is None else seeding.np_random(self.layout_seed)[0]
        if c.layout == "uniform":  # the authors' goals/swim.npy: i.i.d. uniform
            self.waypoints = layout_rng.uniform(-c.half_width, c.half_width, (c.n_waypoints, 2))
        else:
            self.waypoints = sample_waypoints(
                layout_rng, c.n_waypoints, start=np.zeros(2), spacing=c.spacing, half_width=c.half_width
            )
        if "state" in options:
            state = np.asarray(options["state"], dtype=np.float64)
            nq = self.swimmer.model.nq
            self.swimmer.set_state(state[2 : 2 + nq], state[2 + nq : 2 + 2 * nq])
        self.stage = int(options.get("stage", 0))
        if not 0 <= self.stage <= c.n_waypoints:
            raise ConfigError(f"reset option 'stage' must lie in [0, {c.n_waypoints}], got {self.stage}")
        self.elapsed = 0
        return self._observe(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        action = np.asarray(action, dtype=np.float64)
        if action.shape != self.action_space.shape or not np.all(np.isfinite(action)):
            raise ValueError(f"expected a finite action of shape {self.action_space.shape}, got {action}")
        self.swimmer.step(action)
        self.elapsed += 1
        obs = self._observe()
        reward, stage = self.progress(obs[None], self.stage)  # one step: (T=1, obs_dim)
        self.stage = int(stage)
        terminated = self.stage >= self.config.n_waypoints
        return obs, float(reward), terminated, self.elapsed >= self.max_episode_steps, self._info()

    def progress(self, states: np.ndarray, stage: np.ndarray | int, *, discount: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Score ``states (..., T, obs_dim)`` from ``stage (...)`` on this episode's waypoints (positions ``[..., 0:2]``)."""
        c = self.config
        return waypoint_progress(states, self.waypoints, stage, radius=c.radius, reward_every=c.reward_every, discount=discount)

    def distance_to_go(self, states: np.ndarray, stage: np.ndarray | int) -> np.ndarray:
        """Metres from the position ``states[..., 0:2]`` to the waypoint of ``stage`` (0 when done)."""
        return waypoint_distance(states, self.waypoints, stage)

    def render(self) -> np.ndarray | None:
        """A top-down numpy drawing (no OpenGL needed): capsules, waypoints, progress."""
        if self.render_mode != "rgb_array":
            return None
        import mujoco  # present: the swimmer exists

        c = self.config
        canvas = draw.Canvas(half_width=c.half_width + 0.5)
        draw.route(canvas, self.waypoints, self.stage, c.radius)
        model, data = self.swimmer.model, self.swimmer.data
        mujoco.mj_kinematics(model, data)  # after mj_step the poses still describe the previous state
        for g in range(model.ngeom):
            if model.geom_bodyid[g] == 0:  # the floor
                continue
            axis = data.geom_xmat[g].reshape(3, 3)[:2, 2]  # capsules lie along their local z
            half_length = model.geom_size[g, 1]
            center = data.geom_xpos[g, :2]
            canvas.segment(center - half_length * axis, center + half_length * axis, draw.AGENT, width=2 * model.geom_size[g, 0])
        canvas.disc(self._head(), 0.06, draw.AGENT_DARK)
        canvas.progress_bar(self.stage / c.n_waypoints)
        return canvas.image

    def _make_swimmer(self, config: SwimmerWaypointsConfig):
        """Gymnasium's ``Swimmer-v5`` (torque-driven, 0.04 s per step) with positions kept in its observation."""
        from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv

        return SwimmerEnv(exclude_current_positions_from_observation=False, reset_noise_scale=config.reset_noise_scale)

    def close(self) -> None:
        self.swimmer.close()

    def _head(self) -> np.ndarray:
        """``(2,)`` centre of the front segment, from ``qpos`` (the torso turns by ``qpos[2]``)."""
        qpos = self.swimmer.data.qpos
        offset = self.swimmer.model.body("torso").ipos[:2]  # the segment's centre in the torso frame
        cos, sin = np.cos(qpos[2]), np.sin(qpos[2])
        return qpos[:2] + np.array([cos * offset[0] - sin * offset[1], sin * offset[0] + cos * offset[1]])

    def _observe(self) -> np.ndarray:
        data = self.swimmer.data
        obs = np.concatenate([self._head(), data.qpos, data.qvel]).astype(np.float32)
        if self.stage_mode is not None:
            obs = np.concatenate([obs, stage_features(np.array([self.stage]), self.waypoints[None], self.stage_mode)[0]])
        return obs

    def _info(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "waypoints_reached": self.stage,
            "is_success": self.stage >= self.config.n_waypoints,
            "waypoints": self.waypoints.copy(),
        }
