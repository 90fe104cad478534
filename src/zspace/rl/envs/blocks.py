"""``zspace/Blocks-v0``: a kinematic gripper brings 4 objects to their goals, in order, +1 for each.

The authors' block play pen (traj2vec/envs/playpen/blockplaypengym.py) without MuJoCo. The
gripper moves 0.2 m per step in the square [-2.8, 2.8]^2 (clipped). ``grasp`` picks up the
nearest object strictly within 0.4 m if the hand is empty; a held object keeps its offset and
moves with the gripper; ``drop`` releases it where it is. Object m counts as placed (+1) at the
first step its centre is strictly within 0.8 m of goal m (the authors' ``reward_fn``) *while it
is the current object* (held or not, as the authors' reward); objects are taken in the order 0,
1, 2, 3. Episodes are 50 segments of 19 steps (950 steps, the authors' ``mpc_max`` 50 in
``exps/block/block_exp.py``). Positions in metres. Layout (``config.layout``), drawn at reset:

- ``"uniform"`` (default, the authors'): the gripper, the 4 objects and the 4 goals i.i.d.
  uniform in the square, as the authors' ``goals/block.npy`` (5 layouts, coordinates within
  +-2.8 m; an object may start on or near its goal);
- ``"walk"`` (ours): the gripper at the centre, objects and goals at least 0.8 m apart and 0.3 m
  inside the walls, with a goal radius of 0.5 m.

Observation ``(14,)``: gripper ``(x, y)``, the 4 object positions ``(x_0, y_0, ..., x_3, y_3)``,
and which object is held as 4 indicators (all zero: empty hand); it determines the state, so
``reset(options={"state": obs})`` restores it. With ``include_stage=True``,
``[stage / 4, goal_x, goal_y]`` of the current object follows ``(17,)``.
Actions: ``Discrete(6)``: 0..3 move +x, +y, -x, -y (as Waypoints); 4 grasp; 5 drop.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from zspace.core.constraints import configclass
from zspace.errors import ConfigError
from zspace.rl.envs import render as draw
from zspace.rl.envs.base import BatchedSim, SingleEnv, StageOption, VecEnv, capped, check_layout
from zspace.rl.envs.tasks import blocks_distance, blocks_progress, sample_separated_points
from zspace.rl.envs.waypoints import MOVES

__all__ = ["DROP", "GRASP", "BlocksConfig", "BlocksEnv", "BlocksSim", "BlocksVec", "gripper_step"]

GRASP, DROP = 4, 5
EMPTY = -1  # value of `held` for an empty hand


@configclass
class BlocksConfig:
    """The ordered pick-and-place task; lengths in metres. ``BlocksConfig.for_layout("walk")`` is our variant."""

    layout: str = "uniform"  # "uniform" (authors' goal files) or "walk" (ours): see the module docstring
    n_objects: int = 4  # one goal each; +1 per placement, at most 4 per episode
    step_size: float = 0.2  # gripper move per step (authors' move_distance)
    half_width: float = 2.8  # the gripper is clipped to [-half_width, half_width]^2 (authors' border)
    grasp_radius: float = 0.4  # grasp reaches objects strictly closer than this (authors' threshold)
    goal_radius: float = 0.8  # placed when strictly closer than this to its goal (authors' reward_fn)
    min_separation: float = 0.8  # "walk" only: between any two objects or goals at the start
    layout_margin: float = 0.3  # "walk" only: objects and goals start in [-(half_width - margin), half_width - margin]^2
    segment_len: int = 19
    n_segments: int = 50  # 950 steps

    def __post_init__(self) -> None:
        check_layout("BlocksConfig", self.layout)
        for name in ("n_objects", "segment_len", "n_segments"):
            if getattr(self, name) < 1:
                raise ConfigError(f"BlocksConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("step_size", "half_width", "grasp_radius", "goal_radius"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"BlocksConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.layout == "walk" and self.min_separation < self.goal_radius:
            raise ConfigError(
                f"BlocksConfig.min_separation ({self.min_separation}) must be >= goal_radius ({self.goal_radius}), "
                "or an object could start on its goal"
            )
        if not 0 <= self.layout_margin < self.half_width:
            raise ConfigError(f"BlocksConfig.layout_margin must lie in [0, half_width), got {self.layout_margin}")

    @property
    def max_episode_steps(self) -> int:
        return self.segment_len * self.n_segments

    @classmethod
    def for_layout(cls, layout: str) -> BlocksConfig:
        """The default task with ``layout``; "walk" also has its goal radius of 0.5 m."""
        if check_layout("BlocksConfig", layout) == "walk":
            return cls(layout="walk", goal_radius=0.5)
        return cls(layout=layout)


def gripper_step(
    gripper: np.ndarray, objects: np.ndarray, held: np.ndarray, actions: np.ndarray, config: BlocksConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batched dynamics: move (carrying the held object), grasp or drop.

    Args:
        gripper: ``(n, 2)`` m. objects: ``(n, M, 2)`` m. held: ``(n,)`` index of the held object
            or -1. actions: ``(n,)`` in 0..5.

    Returns:
        New ``gripper``, ``objects`` and ``held`` (new arrays).
    """
    n = len(actions)
    rows = np.arange(n)
    moving = actions < GRASP
    delta = np.where(moving[:, None], config.step_size * MOVES[np.minimum(actions, 3)], 0.0)
    new_gripper = np.clip(gripper + delta, -config.half_width, config.half_width)
    objects = objects.copy()
    carrying = held != EMPTY
    objects[rows[carrying], held[carrying]] += (new_gripper - gripper)[carrying]  # rigid grip: offset kept

    distance = np.linalg.norm(objects - new_gripper[:, None], axis=-1)  # (n, M)
    nearest = distance.argmin(axis=1)
    grasps = (actions == GRASP) & ~carrying & (distance[rows, nearest] < config.grasp_radius)
    held = np.where(grasps, nearest, held)
    held = np.where(actions == DROP, EMPTY, held)
    return new_gripper, objects, held


class BlocksSim(BatchedSim):
    """Arrays of ``num_envs`` pick-and-place tasks; see the module docstring."""

    config_class = BlocksConfig
    layout_key = "goals"
    count_key = "objects_placed"

    def __init__(
        self,
        *,
        num_envs: int,
        config: BlocksConfig,
        include_stage: StageOption,
        layout_seed: int | None,
        max_episode_steps: int | None,
    ) -> None:
        self.config = c = config
        m = c.n_objects
        reach = c.half_width + c.grasp_radius  # a held object can overhang the gripper's square
        super().__init__(
            num_envs=num_envs,
            targets_shape=(m, 2),
            base_low=np.concatenate([np.full(2, -c.half_width), np.full(2 * m, -reach), np.zeros(m)]),
            base_high=np.concatenate([np.full(2, c.half_width), np.full(2 * m, reach), np.ones(m)]),
            target_bound=c.half_width,
            action_space=spaces.Discrete(6),
            max_episode_steps=capped(c.max_episode_steps, max_episode_steps),
            include_stage=include_stage,
            layout_seed=layout_seed,
        )
        self.gripper = np.zeros((num_envs, 2))  # m; hand empty at the start
        self.start_gripper = np.zeros((num_envs, 2))  # each episode's initial gripper position
        self.objects = np.zeros((num_envs, m, 2))  # m
        self.held = np.full(num_envs, EMPTY)
        self.start_objects = np.zeros((num_envs, m, 2))  # each episode's initial object positions

    @property
    def goals(self) -> np.ndarray:
        """``(n, M, 2)`` goal of each object, metres."""
        return self.targets

    def _sample_layout(self, i: int, rng: np.random.Generator) -> None:
        c = self.config
        if c.layout == "uniform":
            points = rng.uniform(-c.half_width, c.half_width, (1 + 2 * c.n_objects, 2))
            self.start_gripper[i], points = points[0], points[1:]
        else:
            points = sample_separated_points(
                rng, 2 * c.n_objects, half_width=c.half_width - c.layout_margin, min_separation=c.min_separation
            )
            self.start_gripper[i] = 0.0
        self.start_objects[i], self.targets[i] = points[: c.n_objects], points[c.n_objects :]

    def _set_state(self, index: np.ndarray, state: np.ndarray | None) -> None:
        c = self.config
        m = c.n_objects
        if state is None:
            self.gripper[index] = self.start_gripper[index]
            self.objects[index] = self.start_objects[index]
            self.held[index] = EMPTY
            return
        self.gripper[index] = np.clip(state[:, 0:2], -c.half_width, c.half_width)
        reach = c.half_width + c.grasp_radius
        self.objects[index] = np.clip(state[:, 2 : 2 + 2 * m].reshape(-1, m, 2), -reach, reach)
        flags = state[:, 2 + 2 * m :]
        self.held[index] = np.where(flags.max(axis=1) > 0.5, flags.argmax(axis=1), EMPTY)

    def _advance(self, actions: np.ndarray) -> None:
        self.gripper, self.objects, self.held = gripper_step(self.gripper, self.objects, self.held, actions, self.config)

    def _base_observation(self) -> np.ndarray:
        n, m = self.num_envs, self.config.n_objects
        holding = np.zeros((n, m))
        carrying = self.held != EMPTY
        holding[np.flatnonzero(carrying), self.held[carrying]] = 1.0
        return np.concatenate([self.gripper, self.objects.reshape(n, 2 * m), holding], axis=1).astype(np.float32)

    def progress(
        self, states: np.ndarray, stage: np.ndarray | int, *, env_index: int | slice = slice(None), discount: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        m = self.config.n_objects
        return blocks_progress(
            states, self.targets[env_index], stage, radius=self.config.goal_radius, discount=discount, objects=slice(2, 2 + 2 * m)
        )

    def distance_to_go(self, states: np.ndarray, stage: np.ndarray | int, *, env_index: int | slice = slice(None)) -> np.ndarray:
        return blocks_distance(states, self.targets[env_index], stage, objects=slice(2, 2 + 2 * self.config.n_objects))

    def info(self) -> dict[str, np.ndarray]:
        return {**super().info(), "held": self.held.copy()}

    def render(self, i: int) -> np.ndarray:
        c = self.config
        canvas = draw.Canvas(half_width=c.half_width + c.grasp_radius)
        canvas.frame(c.half_width)
        stage = int(self.stage[i])
        for k, (goal, obj) in enumerate(zip(self.targets[i], self.objects[i], strict=True)):
            color = draw.OBJECT_COLORS[k % len(draw.OBJECT_COLORS)]
            canvas.disc(goal, c.goal_radius, color, alpha=0.55 if k < stage else 0.15)
            canvas.ring(goal, c.goal_radius, color, width=(4.0 if k == stage else 1.5) / canvas.pixels_per_metre)
            canvas.square(obj, 0.14, color)
            if k == self.held[i]:
                canvas.ring(obj, 0.2, draw.AGENT_DARK)
        g = self.gripper[i]
        for corner in (np.array([1.0, 1.0]), np.array([1.0, -1.0])):  # an X marks the gripper
            canvas.segment(g - 0.12 * corner, g + 0.12 * corner, draw.AGENT_DARK, width=0.06)
        canvas.progress_bar(stage / self.n_stages)
        return canvas.image


class BlocksEnv(SingleEnv):
    """``zspace/Blocks-v0`` as a ``gymnasium.Env``; arguments as :class:`~zspace.rl.envs.waypoints.WaypointsEnv`
    (``layout_seed`` fixes the objects' start positions and goals)."""

    sim_class = BlocksSim


class BlocksVec(VecEnv):
    """``num_envs`` copies of :class:`BlocksEnv` stepped as arrays (a gymnasium ``VectorEnv``)."""

    sim_class = BlocksSim
