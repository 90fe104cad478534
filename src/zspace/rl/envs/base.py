"""Shared machinery of the numpy environments: a batched simulator and its two Gymnasium front-ends.

Each numpy environment is written once, as a :class:`BatchedSim` holding the state of
``num_envs`` copies as arrays and stepping them together. :class:`SingleEnv` (a ``gymnasium.Env``)
drives a sim of size 1 and :class:`VecEnv` (a ``gymnasium.vector.VectorEnv``) one of size n. The
single and the vectorised environment therefore run the same dynamics, reward and observation
code, and ``VecEnv.reset(seed=s)`` reproduces n single environments reset with seeds
``s, s + 1, ..., s + n - 1`` step for step (autoresets included).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from zspace.errors import ConfigError
from zspace.rl.envs.tasks import waypoint_distance

__all__ = [
    "LAYOUTS",
    "BatchedSim",
    "SingleEnv",
    "StageOption",
    "VecEnv",
    "capped",
    "check_layout",
    "stage_bounds",
    "stage_features",
    "stage_mode",
]

METADATA: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}  # shared, never mutated


def capped(steps: int, cap: int | None) -> int:
    """The episode length: a config's ``steps``, truncated earlier by an optional ``cap``."""
    return steps if cap is None else min(steps, cap)


# "uniform": the authors' goal-file layouts (the registered ids' default); "walk": ours, easier (see each task).
LAYOUTS: tuple[str, ...] = ("uniform", "walk")


def check_layout(owner: str, layout: str) -> str:
    """``layout`` if it is one of :data:`LAYOUTS`, else a ConfigError naming ``owner``'s field."""
    if layout not in LAYOUTS:
        raise ConfigError(f"{owner}.layout must be one of {list(LAYOUTS)}, got {layout!r}")
    return layout


StageOption = bool | Literal["index", "target"]  # what the baselines observe of the task progress


def stage_mode(include_stage: StageOption) -> Literal["index", "target"] | None:
    """``include_stage`` as a mode: False -> None, "index" -> the stage alone, True / "target" -> stage and target."""
    if include_stage is False:
        return None
    if include_stage is True:
        return "target"
    if include_stage in ("index", "target"):
        return include_stage
    raise ConfigError(f"include_stage must be False, True, 'index' or 'target', got {include_stage!r}")


def stage_bounds(mode: str | None, target_bound: float) -> tuple[list[float], list[float]]:
    """Low and high bounds of :func:`stage_features` of ``mode`` (empty lists for None)."""
    if mode is None:
        return [], []
    if mode == "index":
        return [0.0], [1.0]
    return [0.0, -target_bound, -target_bound], [1.0, target_bound, target_bound]


def stage_features(stage: np.ndarray, targets: np.ndarray, mode: str = "target") -> np.ndarray:
    """The baselines' task features, float32: ``[stage / N]`` ("index", ``(n, 1)``) or
    ``[stage / N, target_x, target_y]`` ("target", ``(n, 3)``).

    ``stage (n,)`` indexes ``targets (n, N, 2)``; the target is (0, 0) once all N are done. The
    paper's baselines saw the index of the current waypoint; "target" also gives its position,
    which makes the task a plain goal-reaching one (flat PPO nearly solves Waypoints with it).
    """
    n, n_targets, _ = targets.shape
    index = stage[:, None] / n_targets
    if mode == "index":
        return index.astype(np.float32)
    padded = np.concatenate([targets, np.zeros((n, 1, 2))], axis=1)
    current = padded[np.arange(n), stage]  # (n, 2)
    return np.concatenate([index, current], axis=1).astype(np.float32)


class BatchedSim(abc.ABC):
    """``num_envs`` copies of one sequential task, as arrays.

    The base keeps what every task shares: the step counter, the stage (index of the current
    waypoint or object = number completed), truncation, the optional stage features, and the
    layout generator. A task implements the layout, the dynamics, the base observation, the
    progress function and the drawing. The reward of a step is the task's progress function
    applied to the *returned* observation, so a planner scoring recorded or predicted
    observations with the same function reproduces the environment's rewards exactly.

    Args:
        num_envs: number of copies.
        targets_shape: ``(N, 2)``: N waypoints (or object goals) per episode.
        base_low, base_high: ``(obs_dim,)`` bounds of the task's own observation.
        target_bound: bound of a target coordinate, for the stage features' space.
        action_space: the action space of one copy.
        max_episode_steps: steps before truncation.
        include_stage: append :func:`stage_features` to the observation: True or "target" (the
            stage and the current target's position), "index" (the stage alone), False (nothing).
        layout_seed: if given, every episode's layout is drawn from this seed alone (a fixed task,
            as the authors' goal files); otherwise from the episode's generator at each reset.
    """

    config_class: ClassVar[type]  # the task's frozen config dataclass, built with defaults when none is given
    layout_key = "targets"  # info key of the layout, e.g. "waypoints"
    count_key = "completed"  # info key of the number completed, e.g. "waypoints_reached"

    def __init__(
        self,
        *,
        num_envs: int,
        targets_shape: tuple[int, int],
        base_low: np.ndarray,
        base_high: np.ndarray,
        target_bound: float,
        action_space: spaces.Space,
        max_episode_steps: int,
        include_stage: StageOption,
        layout_seed: int | None,
    ) -> None:
        if num_envs < 1:
            raise ConfigError(f"num_envs must be >= 1, got {num_envs}")
        if max_episode_steps < 1:
            raise ConfigError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.stage_mode = stage_mode(include_stage)
        self.layout_seed = layout_seed
        self.base_dim = len(base_low)
        stage_low, stage_high = stage_bounds(self.stage_mode, target_bound)
        base_low = np.concatenate([base_low, stage_low])
        base_high = np.concatenate([base_high, stage_high])
        self.single_observation_space = spaces.Box(
            np.asarray(base_low, np.float32), np.asarray(base_high, np.float32), dtype=np.float32
        )
        self.single_action_space = action_space
        self.targets = np.zeros((num_envs, *targets_shape))  # (n, N, 2), filled at reset
        self.elapsed = np.zeros(num_envs, dtype=np.int64)
        self.stage = np.zeros(num_envs, dtype=np.int64)

    # --- what a task implements -------------------------------------------------------------
    @abc.abstractmethod
    def _sample_layout(self, i: int, rng: np.random.Generator) -> None:
        """Draw env ``i``'s layout (``self.targets[i]`` and any object positions) from ``rng``."""

    @abc.abstractmethod
    def _set_state(self, index: np.ndarray, state: np.ndarray | None) -> None:
        """Put envs ``index`` at their start configuration, or at ``state (len(index), base_dim)``."""

    @abc.abstractmethod
    def _advance(self, actions: np.ndarray) -> None:
        """Integrate one step of the dynamics of every env; ``actions`` are validated."""

    @abc.abstractmethod
    def _base_observation(self) -> np.ndarray:
        """``(n, base_dim)`` the task's observation of every env."""

    @abc.abstractmethod
    def progress(
        self, states: np.ndarray, stage: np.ndarray | int, *, env_index: int | slice = slice(None), discount: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """The task's progress function bound to the layout of ``env_index`` (see :mod:`.tasks`)."""

    def distance_to_go(self, states: np.ndarray, stage: np.ndarray | int, *, env_index: int | slice = slice(None)) -> np.ndarray:
        """Metres from ``states (..., obs_dim)`` to the target of ``stage`` (0 when done): a planner's
        tie-break between sparse rewards. Default: the position ``[..., 0:2]`` to the current target."""
        return waypoint_distance(states, self.targets[env_index], stage)

    @abc.abstractmethod
    def render(self, i: int) -> np.ndarray:
        """``(H, W, 3)`` uint8 top-down picture of env ``i``."""

    # --- the true dynamics, for an oracle planner ---------------------------------------------
    def simulate(self, state: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Roll the true dynamics from one state under K action sequences, leaving this sim untouched.

        Args:
            state: ``(base_dim,)`` or ``(obs_dim,)`` an observation (stage features are ignored).
            actions: ``(K, L, ...)`` K sequences of L actions.

        Returns:
            ``(K, L, base_dim)`` float32 base observations after each step (s_1..s_L), the states a
            learned model would predict; score them with :meth:`progress`.
        """
        actions = np.asarray(actions)
        k, length = actions.shape[:2]
        scratch = self._scratch(k)
        start = np.asarray(state, dtype=np.float64)[: self.base_dim]
        scratch._set_state(np.arange(k), np.broadcast_to(start, (k, self.base_dim)))
        out = np.empty((k, length, self.base_dim), dtype=np.float32)
        for t in range(length):
            scratch._advance(scratch._check_actions(actions[:, t]))
            out[:, t] = scratch._base_observation()
        return out

    def _scratch(self, k: int) -> BatchedSim:
        """A sim of ``k`` copies with this one's config (cached), for :meth:`simulate`."""
        cached = getattr(self, "_scratch_sim", None)
        if cached is None or cached.num_envs != k:
            cached = type(self)(num_envs=k, config=self.config, include_stage=False, layout_seed=None,
                                max_episode_steps=self.max_episode_steps)  # fmt: skip
            self._scratch_sim = cached
        return cached

    # --- shared bookkeeping -------------------------------------------------------------------
    @property
    def n_stages(self) -> int:
        return self.targets.shape[1]

    def reset(
        self,
        index: np.ndarray,
        rngs: Sequence[np.random.Generator],
        *,
        state: np.ndarray | None = None,
        stage: np.ndarray | int | None = None,
    ) -> None:
        """Start new episodes in envs ``index``, drawing their layouts from ``rngs`` (one per env).

        ``state`` (an observation, with or without the stage features; one row per env or one
        row for all) restarts from a visited state instead of the start configuration; ``stage``
        sets the task progress (default 0).
        """
        for i, rng in zip(index, rngs, strict=True):
            self._sample_layout(int(i), rng if self.layout_seed is None else seeding.np_random(self.layout_seed)[0])
        if state is not None:
            state = np.asarray(state, dtype=np.float64)
            obs_dim = self.single_observation_space.shape[0]
            if state.shape[-1] not in (self.base_dim, obs_dim) or state.ndim > 2:
                raise ConfigError(f"reset option 'state' must have shape (..., {self.base_dim}), got {state.shape}")
            state = np.broadcast_to(state[..., : self.base_dim], (len(index), self.base_dim))
        self._set_state(index, state)
        stage = np.broadcast_to(np.asarray(0 if stage is None else stage, dtype=np.int64), (len(index),))
        if np.any((stage < 0) | (stage > self.n_stages)):
            raise ConfigError(f"reset option 'stage' must lie in [0, {self.n_stages}], got {stage}")
        self.stage[index] = stage
        self.elapsed[index] = 0

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance every env one step.

        Returns:
            obs ``(n, obs_dim)`` float32, reward ``(n,)`` float64, terminated ``(n,)`` (all
            targets done), truncated ``(n,)`` (``max_episode_steps`` reached).
        """
        self._advance(self._check_actions(actions))
        self.elapsed += 1
        obs = self.observe()
        reward, self.stage = self.progress(obs[:, None, : self.base_dim], self.stage)  # one step, (n, 1, base_dim)
        terminated = self.stage >= self.n_stages
        truncated = self.elapsed >= self.max_episode_steps
        return obs, reward, terminated, truncated

    def observe(self) -> np.ndarray:
        """``(n, obs_dim)`` float32 observation of every env (a new array)."""
        obs = self._base_observation()
        if self.stage_mode is not None:
            obs = np.concatenate([obs, stage_features(self.stage, self.targets, self.stage_mode)], axis=1)
        return obs

    def info(self) -> dict[str, np.ndarray]:
        """Per-env task status: stage, number completed, success flag and the layout (new arrays)."""
        return {
            "stage": self.stage.copy(),
            self.count_key: self.stage.copy(),
            "is_success": self.stage >= self.n_stages,
            self.layout_key: self.targets.copy(),
        }

    def _check_actions(self, actions: Any) -> np.ndarray:
        space = self.single_action_space
        actions = np.asarray(actions)
        if isinstance(space, spaces.Discrete):
            if actions.shape != (self.num_envs,) or not np.issubdtype(actions.dtype, np.integer):
                raise ValueError(
                    f"expected {self.num_envs} integer action(s), got {actions.dtype} array of shape {actions.shape}"
                )
            if np.any((actions < 0) | (actions >= space.n)):
                raise ValueError(f"discrete actions must lie in [0, {space.n}), got {actions}")
            return actions.astype(np.int64)
        expected = (self.num_envs, *space.shape)
        if actions.shape != expected:
            raise ValueError(f"expected actions of shape {expected}, got {actions.shape}")
        if not np.all(np.isfinite(actions)):
            raise ValueError(f"actions must be finite, got {actions}")
        return actions.astype(np.float64)


def _check_options(options: Mapping[str, Any] | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    options = dict(options or {})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown reset option(s) {unknown}; valid options are {sorted(allowed)}")
    return options


def _row(value: np.ndarray, i: int = 0) -> Any:
    """Row ``i`` of a batched info value; scalars become Python scalars (as gymnasium's infos)."""
    return value[i].item() if value.ndim == 1 else value[i]


def _check_render_mode(render_mode: str | None) -> None:
    if render_mode not in (None, *METADATA["render_modes"]):
        raise ConfigError(f"render_mode {render_mode!r} is not one of {[None, *METADATA['render_modes']]}")


def _build_sim(sim_class, num_envs, config, layout, include_stage, layout_seed, max_episode_steps) -> BatchedSim:
    """The task's sim with ``config``, else the default config of ``layout`` (shared by the single and vector fronts)."""
    if config is not None and layout is not None:
        raise ConfigError(f"give either config or layout, not both (set {type(config).__name__}.layout instead)")
    return sim_class(
        num_envs=num_envs,
        config=config if config is not None else sim_class.config_class.for_layout(layout or LAYOUTS[0]),
        include_stage=include_stage,
        layout_seed=layout_seed,
        max_episode_steps=max_episode_steps,
    )


class SingleEnv(gym.Env):
    """A Gymnasium environment that drives a :class:`BatchedSim` of size 1.

    Constructor: ``config`` (the task's config) or ``layout`` (the default config of that layout,
    see :data:`LAYOUTS`), ``include_stage``, ``layout_seed``, ``max_episode_steps``, ``render_mode``.
    Reset options: ``state`` (an observation to restart from, e.g. a state a planner visited) and
    ``stage`` (the task progress to start with). ``info`` holds ``stage``, the count completed,
    ``is_success`` and the layout.
    """

    metadata: ClassVar[dict[str, Any]] = {**METADATA}
    sim_class: ClassVar[type[BatchedSim]]  # each task's env names its sim

    def __init__(
        self,
        *,
        config: Any = None,
        layout: str | None = None,
        include_stage: StageOption = False,
        layout_seed: int | None = None,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        _check_render_mode(render_mode)
        sim = _build_sim(self.sim_class, 1, config, layout, include_stage, layout_seed, max_episode_steps)
        self.sim = sim
        self.render_mode = render_mode
        self.observation_space = sim.single_observation_space
        self.action_space = sim.single_action_space

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        options = _check_options(options, ("state", "stage"))
        self.sim.reset(np.array([0]), [self.np_random], **options)  # the layout comes from gymnasium's np_random
        return self.sim.observe()[0], self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated = self.sim.step(np.asarray(action)[None])
        return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), self._info()

    def render(self) -> np.ndarray | None:
        return self.sim.render(0) if self.render_mode == "rgb_array" else None

    def progress(self, states: np.ndarray, stage: np.ndarray | int, *, discount: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Score ``states (..., T, obs_dim)`` from ``stage (...)`` on this episode's layout.

        Returns ``(reward (...), stage (...))``; see :func:`~zspace.rl.envs.tasks.waypoint_progress`.
        A plain callable a planner can apply to predicted states.
        """
        return self.sim.progress(states, stage, env_index=0, discount=discount)

    def distance_to_go(self, states: np.ndarray, stage: np.ndarray | int) -> np.ndarray:
        """Metres of work left from ``states (..., obs_dim)`` at ``stage (...)`` on this episode's layout
        (position to waypoint; for Blocks gripper to object plus object to goal); 0 when done."""
        return self.sim.distance_to_go(states, stage, env_index=0)

    @property
    def max_episode_steps(self) -> int:
        return self.sim.max_episode_steps

    def _info(self) -> dict[str, Any]:
        return {key: _row(value) for key, value in self.sim.info().items()}


class VecEnv(VectorEnv):
    """A Gymnasium vector environment over a :class:`BatchedSim` of size ``num_envs``.

    Each sub-environment has its own generator: ``reset(seed=s)`` seeds env i with ``s + i``
    (a list seeds each), as gymnasium's ``SyncVectorEnv``. ``autoreset_mode`` follows gymnasium:
    NEXT_STEP (default) resets a finished env on the following ``step`` (its action is ignored and
    it returns reward 0); SAME_STEP resets at once and puts the last observation and info in
    ``info["final_obs"]`` / ``info["final_info"]`` (masks ``_final_obs`` / ``_final_info``);
    DISABLED leaves resets to ``reset(options={"reset_mask": mask})``.
    Reset options: ``state``, ``stage`` (as :class:`SingleEnv`) and ``reset_mask`` ``(n,)`` bool.
    """

    metadata: ClassVar[dict[str, Any]] = {**METADATA, "autoreset_mode": AutoresetMode.NEXT_STEP}

    sim_class: ClassVar[type[BatchedSim]]

    def __init__(
        self,
        num_envs: int = 1,
        *,
        config: Any = None,
        layout: str | None = None,
        include_stage: StageOption = False,
        layout_seed: int | None = None,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ) -> None:
        _check_render_mode(render_mode)
        sim = _build_sim(self.sim_class, num_envs, config, layout, include_stage, layout_seed, max_episode_steps)
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ConfigError(f"autoreset_mode {autoreset_mode!r} is not one of {[m.value for m in AutoresetMode]}") from None
        self.sim = sim
        self.num_envs = sim.num_envs
        self.render_mode = render_mode
        self.metadata = {**METADATA, "autoreset_mode": mode}
        self.single_observation_space = sim.single_observation_space
        self.single_action_space = sim.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)

    def reset(
        self, *, seed: int | Sequence[int] | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        options = _check_options(options, ("state", "stage", "reset_mask"))
        mask = np.asarray(options.pop("reset_mask", np.ones(self.num_envs, dtype=bool)), dtype=bool)
        if mask.shape != (self.num_envs,):
            raise ConfigError(f"reset option 'reset_mask' must have shape ({self.num_envs},), got {mask.shape}")
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, (int, np.integer)) else list(seed)
            if len(seeds) != self.num_envs:
                raise ConfigError(f"expected {self.num_envs} seeds, got {len(seeds)}")
            for i in np.flatnonzero(mask):
                self.rngs[i] = seeding.np_random(int(seeds[i]))[0]
        index = np.flatnonzero(mask)
        self.sim.reset(index, self._rngs(index), **options)
        self._needs_reset[index] = False
        return self.sim.observe(), self.sim.info()

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        obs, reward, terminated, truncated = self.sim.step(actions)
        info: dict[str, Any] = self.sim.info()
        mode = self.metadata["autoreset_mode"]
        if mode is AutoresetMode.NEXT_STEP:
            index = np.flatnonzero(self._needs_reset)
            if index.size:  # these finished last step: this step is their reset, not a transition
                self.sim.reset(index, self._rngs(index))
                obs, info = self.sim.observe(), self.sim.info()
                reward[index], terminated[index], truncated[index] = 0.0, False, False
            self._needs_reset = terminated | truncated
        elif mode is AutoresetMode.SAME_STEP:
            done = terminated | truncated
            if done.any():
                final_obs, final_info = obs, info
                self.sim.reset(np.flatnonzero(done), self._rngs(np.flatnonzero(done)))
                obs, info = self.sim.observe(), self.sim.info()
                info.update(final_obs=final_obs, _final_obs=done, final_info=final_info, _final_info=done)
        return obs, reward, terminated, truncated, info

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode != "rgb_array":
            return None
        return tuple(self.sim.render(i) for i in range(self.num_envs))

    def progress(
        self, states: np.ndarray, stage: np.ndarray | int, *, env_index: int, discount: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`SingleEnv.progress` on the current layout of sub-environment ``env_index``."""
        return self.sim.progress(states, stage, env_index=env_index, discount=discount)

    def distance_to_go(self, states: np.ndarray, stage: np.ndarray | int, *, env_index: int) -> np.ndarray:
        """:meth:`SingleEnv.distance_to_go` on the current layout of sub-environment ``env_index``."""
        return self.sim.distance_to_go(states, stage, env_index=env_index)

    @property
    def max_episode_steps(self) -> int:
        return self.sim.max_episode_steps

    def _rngs(self, index: np.ndarray) -> list[np.random.Generator]:
        for i in index:
            if self.rngs[i] is None:  # never seeded: fresh OS entropy, as gymnasium does
                self.rngs[i] = seeding.np_random()[0]
        return [self.rngs[i] for i in index]
