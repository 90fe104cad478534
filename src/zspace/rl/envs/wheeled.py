"""``zspace/Wheeled-v0``: a differential-drive robot visits waypoints in order, +1 for every third.

A numpy model of the authors' MuJoCo car (traj2vec/envs/assets/wheeled.xml): two wheels of radius
0.1 m on an axle 0.4 m long, driven by velocity servos of range +-20 rad/s, in a 4 m x 4 m arena
walled at +-2 m, stepped at dt = 0.03 s (0.01 s x frame skip 3). Waypoints are reached strictly
within 0.6 m; episodes are 50 segments of 19 steps (950 steps, the authors' ``mpc_max`` 50 in
``exps/wheeled/explore_exp.py``). The robot starts at the origin facing +x (the authors' start is
the MuJoCo model's initial pose). Layout (``config.layout``), drawn at reset as in ``Waypoints-v0``:

- ``"uniform"`` (default, the authors'): 50 waypoints i.i.d. uniform in the arena, as the authors'
  ``goals/wheeled.npy`` (5 layouts of 50 points within +-2 m, mean spacing 2.14 m): +1 at
  waypoints 3, 6, ..., 48, at most 16 per episode;
- ``"walk"`` (ours, easier): 12 waypoints, a random walk from the origin (steps of 1.2-2.0 m, at
  least 0.3 m from the walls): at most 4 per episode.

Units: metres, seconds, radians. Dynamics, one step of semi-implicit Euler:
    wheel speeds  w <- w + dt / tau * (a * w_max - w)         (rad/s, first-order servo, tau = 0.1 s)
    body rates    v = r (w_R + w_L) / 2,  omega = r (w_R - w_L) / (2 b)   (m/s, rad/s; b = half axle)
    pose          theta <- theta + omega dt;  p <- p + v (cos theta, sin theta) dt   (new rates)
    walls         p is clipped to [-2, 2]^2; the realised velocity (p_new - p) / dt therefore loses
                  its component into a wall, and the robot slides along it (wheels slip).

Observation ``(9,)``: ``x, y`` (m), ``sin theta, cos theta``, realised world velocity ``vx, vy``
(m/s), yaw rate ``omega`` (rad/s), and the left and right wheel rim speeds ``r w_L, r w_R``
(m/s). It determines the state, so ``reset(options={"state": obs})`` restores it. With
``include_stage=True``, ``[stage / N, waypoint_x, waypoint_y]`` follows ``(12,)``.
Actions: ``Box(-1, 1, (2,))``: left and right wheel speed commands as fractions of ``w_max``.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from zspace.core.constraints import configclass
from zspace.errors import ConfigError
from zspace.rl.envs import render as draw
from zspace.rl.envs.base import BatchedSim, SingleEnv, StageOption, VecEnv, capped, check_layout
from zspace.rl.envs.tasks import sample_waypoints, waypoint_progress

__all__ = ["WheeledConfig", "WheeledEnv", "WheeledSim", "WheeledVec", "drive"]


@configclass
class WheeledConfig:
    """The wheeled-robot task; metres, seconds, radians. ``WheeledConfig.for_layout("walk")`` is our easier task."""

    layout: str = "uniform"  # "uniform" (authors' goal files) or "walk" (ours): see the module docstring
    n_waypoints: int = 50  # reward at waypoints 3, 6, ..., 48: at most 16 per episode (authors' goals/wheeled.npy)
    radius: float = 0.6  # reached when strictly closer (authors' wheeled reward_fn)
    wall: float = 2.0  # the robot's centre is confined to [-wall, wall]^2 (authors' walls at +-2)
    waypoint_margin: float = 0.3  # "walk" only: waypoints lie in [-(wall - margin), wall - margin]^2
    spacing: tuple[float, float] = (1.2, 2.0)  # "walk" only: between consecutive waypoints (>= 2 radius)
    reward_every: int = 3
    dt: float = 0.03  # seconds per step (authors: timestep 0.01 x frame_skip 3)
    wheel_radius: float = 0.1  # m (authors' wheel cylinders)
    half_axle: float = 0.2  # m, centre to each wheel (authors' wheel bodies at y = +-0.2)
    max_wheel_speed: float = 20.0  # rad/s (authors' velocity actuators, ctrlrange +-20)
    servo_time_constant: float = 0.1  # s, lag of a wheel's speed behind its command
    segment_len: int = 19
    n_segments: int = 50  # 950 steps (authors' path_len 19 x mpc_max 50)

    def __post_init__(self) -> None:
        check_layout("WheeledConfig", self.layout)
        for name in ("n_waypoints", "reward_every", "segment_len", "n_segments"):
            if getattr(self, name) < 1:
                raise ConfigError(f"WheeledConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("radius", "wall", "dt", "wheel_radius", "half_axle", "max_wheel_speed", "servo_time_constant"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"WheeledConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.dt > self.servo_time_constant:
            raise ConfigError(
                f"WheeledConfig.dt ({self.dt}) must not exceed servo_time_constant ({self.servo_time_constant}): "
                "the explicit servo update would overshoot"
            )
        if not 0 <= self.waypoint_margin < self.wall:
            raise ConfigError(f"WheeledConfig.waypoint_margin must lie in [0, wall), got {self.waypoint_margin}")
        low, high = self.spacing
        if not 0 < low <= high:
            raise ConfigError(f"WheeledConfig.spacing must satisfy 0 < low <= high, got {self.spacing}")

    @property
    def max_episode_steps(self) -> int:
        return self.segment_len * self.n_segments

    @classmethod
    def for_layout(cls, layout: str) -> WheeledConfig:
        """The default task with ``layout``; "walk" also has its 12 waypoints."""
        if check_layout("WheeledConfig", layout) == "walk":
            return cls(layout="walk", n_waypoints=12)
        return cls(layout=layout)

    @property
    def max_speed(self) -> float:
        """m/s, both wheels at full speed."""
        return self.wheel_radius * self.max_wheel_speed

    @property
    def max_yaw_rate(self) -> float:
        """rad/s, wheels at full speed in opposite directions."""
        return self.wheel_radius * self.max_wheel_speed / self.half_axle


def drive(
    position: np.ndarray, heading: np.ndarray, wheels: np.ndarray, actions: np.ndarray, config: WheeledConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The batched dynamics, one semi-implicit Euler step (see the module docstring).

    Args:
        position: ``(n, 2)`` m. heading: ``(n,)`` rad. wheels: ``(n, 2)`` left/right speeds, rad/s.
        actions: ``(n, 2)`` wheel commands, clipped to [-1, 1].

    Returns:
        position ``(n, 2)``, heading ``(n,)`` wrapped to [-pi, pi), wheels ``(n, 2)``, and the
        realised velocity ``(n, 2)`` m/s (zero into a wall).
    """
    c = config
    command = np.clip(actions, -1.0, 1.0) * c.max_wheel_speed
    wheels = wheels + c.dt / c.servo_time_constant * (command - wheels)
    speed = c.wheel_radius * wheels.mean(axis=1)  # (n,) m/s
    yaw_rate = c.wheel_radius * (wheels[:, 1] - wheels[:, 0]) / (2.0 * c.half_axle)  # (n,) rad/s
    heading = heading + yaw_rate * c.dt
    step = speed[:, None] * np.stack([np.cos(heading), np.sin(heading)], axis=1) * c.dt
    new_position = np.clip(position + step, -c.wall, c.wall)
    heading = (heading + np.pi) % (2.0 * np.pi) - np.pi
    return new_position, heading, wheels, (new_position - position) / c.dt


class WheeledSim(BatchedSim):
    """Arrays of ``num_envs`` wheeled-robot tasks; see the module docstring."""

    config_class = WheeledConfig
    layout_key = "waypoints"
    count_key = "waypoints_reached"

    def __init__(
        self,
        *,
        num_envs: int,
        config: WheeledConfig,
        include_stage: StageOption,
        layout_seed: int | None,
        max_episode_steps: int | None,
    ) -> None:
        self.config = c = config
        base_low, base_high = self.observation_bounds(c)
        super().__init__(
            num_envs=num_envs,
            targets_shape=(c.n_waypoints, 2),
            base_low=base_low,
            base_high=base_high,
            target_bound=c.wall,
            action_space=spaces.Box(-1.0, 1.0, (2,), dtype=np.float32),
            max_episode_steps=capped(c.max_episode_steps, max_episode_steps),
            include_stage=include_stage,
            layout_seed=layout_seed,
        )
        self.position = np.zeros((num_envs, 2))  # m; episodes start at the centre facing +x
        self.heading = np.zeros(num_envs)  # rad
        self.wheels = np.zeros((num_envs, 2))  # rad/s, left and right
        self.velocity = np.zeros((num_envs, 2))  # m/s, realised over the last step

    @staticmethod
    def observation_bounds(c: WheeledConfig) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` of the base observation (see the module docstring)."""
        v, w, rim = c.max_speed, c.max_yaw_rate, c.max_speed
        bound = np.array([c.wall, c.wall, 1.0, 1.0, v, v, w, rim, rim])
        return -bound, bound

    @property
    def waypoints(self) -> np.ndarray:
        """``(n, N, 2)`` the current layouts, metres."""
        return self.targets

    def _sample_layout(self, i: int, rng: np.random.Generator) -> None:
        c = self.config
        if c.layout == "uniform":
            self.targets[i] = rng.uniform(-c.wall, c.wall, (c.n_waypoints, 2))
        else:
            self.targets[i] = sample_waypoints(
                rng, c.n_waypoints, start=np.zeros(2), spacing=c.spacing, half_width=c.wall - c.waypoint_margin
            )

    def _set_state(self, index: np.ndarray, state: np.ndarray | None) -> None:
        c = self.config
        if state is None:
            state = np.zeros((len(index), 9))
            state[:, 3] = 1.0  # cos(0)
        self.position[index] = np.clip(state[:, 0:2], -c.wall, c.wall)
        self.heading[index] = np.arctan2(state[:, 2], state[:, 3])
        self.velocity[index] = np.clip(state[:, 4:6], -c.max_speed, c.max_speed)
        self.wheels[index] = np.clip(state[:, 7:9] / c.wheel_radius, -c.max_wheel_speed, c.max_wheel_speed)

    def _advance(self, actions: np.ndarray) -> None:
        self.position, self.heading, self.wheels, self.velocity = drive(
            self.position, self.heading, self.wheels, actions, self.config
        )

    def _base_observation(self) -> np.ndarray:
        c = self.config
        yaw_rate = c.wheel_radius * (self.wheels[:, 1] - self.wheels[:, 0]) / (2.0 * c.half_axle)
        return np.concatenate(
            [
                self.position,
                np.sin(self.heading)[:, None],
                np.cos(self.heading)[:, None],
                self.velocity,
                yaw_rate[:, None],
                c.wheel_radius * self.wheels,
            ],
            axis=1,
        ).astype(np.float32)

    def progress(
        self, states: np.ndarray, stage: np.ndarray | int, *, env_index: int | slice = slice(None), discount: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        return waypoint_progress(
            states, self.targets[env_index], stage, radius=c.radius, reward_every=c.reward_every, discount=discount
        )

    def render(self, i: int) -> np.ndarray:
        c = self.config
        canvas = draw.Canvas(half_width=c.wall + 0.15)
        canvas.frame(c.wall + 0.05, width=0.1)
        draw.route(canvas, self.targets[i], int(self.stage[i]), c.radius)
        forward = np.array([np.cos(self.heading[i]), np.sin(self.heading[i])])
        left = np.array([-forward[1], forward[0]])
        center = self.position[i]
        for side in (-1.0, 1.0):  # wheels, drawn along the heading
            hub = center + side * c.half_axle * left
            canvas.segment(hub - c.wheel_radius * forward, hub + c.wheel_radius * forward, draw.AGENT_DARK, width=0.07)
        canvas.segment(center - c.half_axle * left, center + c.half_axle * left, draw.AGENT_DARK, width=0.03)
        canvas.disc(center, 0.13, draw.AGENT)
        canvas.segment(center, center + 0.2 * forward, draw.AGENT_DARK, width=0.04)
        canvas.progress_bar(self.stage[i] / self.n_stages)
        return canvas.image


class WheeledEnv(SingleEnv):
    """``zspace/Wheeled-v0`` as a ``gymnasium.Env``; arguments as :class:`~zspace.rl.envs.waypoints.WaypointsEnv`."""

    sim_class = WheeledSim


class WheeledVec(VecEnv):
    """``num_envs`` copies of :class:`WheeledEnv` stepped as arrays (a gymnasium ``VectorEnv``)."""

    sim_class = WheeledSim
