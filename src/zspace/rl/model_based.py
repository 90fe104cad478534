"""The paper's model-based baseline: state-space MPC with a learned one-step dynamics model.

SeCTAR's authors compare against random-shooting MPC through an MLP dynamics model trained on
aggregated data (their ``mpc/main_solution.py``, after Nagabandi et al. 2018): fit the model to
random-action transitions, then alternate "run MPC episodes through the model" and "add their
transitions to the data and refit". The model predicts the normalised change of state from
(state, action) (one-hot for discrete actions). The planner samples ``n_paths`` uniformly random
action sequences, rolls them through the model and scores the predicted states with the task's
own progress function (:func:`zspace.rl.planner.score_states`, the same objective and shaping
as the latent planner, so the comparison is fair).

Defaults are the authors' (``exps/*/baselines_*.py`` calling ``mpc/main_solution.py:train_dagger``):
2048 i.i.d. uniform action sequences per plan, 19 actions executed per plan, a 3 x 200 ReLU MLP
on state deltas refit for 60 epochs (minibatches of 512, Adam 1e-3) after the random episodes and
then every 100 MPC episodes, plans scored by the sparse task reward alone, undiscounted
(``mpc/cost_functions.py:trajectory_cost_fn``). The horizon and the number of random episodes
are per task, :meth:`MPCConfig.for_task`: Waypoints 190 steps / 40 episodes, Wheeled 380 / 100,
Blocks 95 / 40. ``shaping="distance"`` (our tie-break) is an option, off by default.

The model sees the environment's base observation (``include_stage=False``): it predicts
states, and the planner tracks the task stage with ``progress`` as the latent planner does.
As the authors (``plan_every=19``), the best sequence's first ``plan_every`` actions are executed
open-loop before replanning; every executed step is an environment step and counts towards
``total_steps``; planning itself costs no environment steps.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor, nn

import zspace.rl.envs  # noqa: F401 - registers the zspace/... ids
from zspace.core.constraints import Positive, Sizes, configclass
from zspace.errors import ConfigError
from zspace.nn.mlp import MLP
from zspace.rl.planner import SHAPINGS, Shaping, random_shooting, score_states
from zspace.rl.results import LearningCurve

__all__ = [
    "MPC_TASKS", "DynamicsModel", "MPCConfig", "MPCEpisode", "fit_dynamics", "model_simulator", "mpc_episodes", "plan_actions",
    "run_mpc_episode", "sample_actions", "state_mpc",
]  # fmt: skip


class DynamicsModel(nn.Module):
    """s_{t+1} = s_t + unnormalise(MLP(normalise(s_t), features(a_t))).

    Args:
        state_dim: S.
        action_space: ``Discrete`` (actions become one-hot) or ``Box`` (used as they are).
        hidden: MLP widths (the authors' waypoint baseline: three layers of 200).
    """

    def __init__(self, state_dim: int, action_space: spaces.Space, *, hidden: Sequence[int] = (200, 200, 200)) -> None:
        super().__init__()
        if isinstance(action_space, spaces.Discrete):
            self.n_actions: int | None = int(action_space.n)
            action_dim = self.n_actions
        elif isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
            self.n_actions, action_dim = None, action_space.shape[0]
        else:
            raise ConfigError(f"DynamicsModel: action_space must be Discrete or a 1-D Box, got {action_space}")
        self.net = MLP(state_dim + action_dim, hidden, state_dim)
        # Normalisation statistics (set once by `set_normalization`): saved with the weights.
        for name in ("state_mean", "delta_mean"):
            self.register_buffer(name, torch.zeros(state_dim))
        for name in ("state_std", "delta_std"):
            self.register_buffer(name, torch.ones(state_dim))

    def features(self, actions: Tensor) -> Tensor:
        """``(N,)`` integer or ``(N, A)`` float actions -> ``(N, A)`` network inputs."""
        if self.n_actions is None:
            return actions.to(self.state_mean.dtype)
        return nn.functional.one_hot(actions.long(), self.n_actions).to(self.state_mean.dtype)

    @torch.no_grad()
    def set_normalization(self, states: Tensor, next_states: Tensor, *, min_std: float = 1e-2) -> None:
        """Fit the input and output scalings to transitions ``(N, S)`` (stds floored as the authors')."""
        delta = next_states - states
        self.state_mean.copy_(states.mean(0))
        self.state_std.copy_(states.std(0, unbiased=False).clamp_min(min_std))
        self.delta_mean.copy_(delta.mean(0))
        self.delta_std.copy_(delta.std(0, unbiased=False).clamp_min(min_std))

    def normalized_delta(self, states: Tensor, actions: Tensor) -> Tensor:
        """``(N, S)``, ``(N,)|(N, A)`` -> ``(N, S)`` the predicted change of state, normalised."""
        inputs = torch.cat([(states - self.state_mean) / self.state_std, self.features(actions)], dim=-1)
        return self.net(inputs)

    def forward(self, states: Tensor, actions: Tensor) -> Tensor:
        """``(N, S)`` states and their actions -> ``(N, S)`` predicted next states."""
        return states + self.normalized_delta(states, actions) * self.delta_std + self.delta_mean

    def loss(self, states: Tensor, actions: Tensor, next_states: Tensor) -> Tensor:
        """Mean squared error of the normalised state change (mean over batch and state dims)."""
        target = (next_states - states - self.delta_mean) / self.delta_std
        return nn.functional.mse_loss(self.normalized_delta(states, actions), target)


def fit_dynamics(
    model: DynamicsModel,
    optimizer: torch.optim.Optimizer,
    states: Tensor,
    actions: Tensor,
    next_states: Tensor,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
) -> float:
    """Minibatch Adam epochs over all transitions ``(N, ...)``; returns the last epoch's mean loss."""
    n = states.shape[0]
    mean_loss = float("nan")
    for _ in range(epochs):
        order, total = torch.randperm(n, generator=generator), 0.0
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            loss = model.loss(states[index], actions[index], next_states[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        mean_loss = total / n
    return mean_loss


@configclass
class MPCConfig:
    """The state-space MPC baseline; defaults are the authors' Waypoints run (:meth:`for_task` for the others)."""

    n_paths: int = 2048  # random action sequences per plan (authors' num_simulated_paths)
    horizon: int = 190  # planned steps (authors' mpc_horizon 19 x 10 on Waypoints), shortened at the episode end
    plan_every: int = 19  # actions executed open-loop per plan (authors' plan_every)
    random_episodes: int = 40  # random-action episodes before the first fit (authors' num_paths_random)
    episodes_per_iter: int = 100  # MPC episodes between refits (authors' num_paths_dagger)
    hidden: Sizes = (200, 200, 200)  # authors: n_layers 3, size 200, ReLU
    lr: Positive = 1e-3
    batch_size: int = 512
    epochs: int = 60  # per refit, over all aggregated data, warm-started (authors' dynamics_iters)
    shaping: Shaping = "none"  # the sparse task reward alone (authors); "distance" is our tie-break (zspace.rl.planner)
    discount: float = 1.0  # authors' trajectory_cost_fn sums the rewards undiscounted

    @classmethod
    def for_task(cls, env_id: str, **overrides) -> MPCConfig:
        """The authors' configuration for ``env_id`` (its horizon and random episodes), with ``overrides``."""
        return cls(**{**MPC_TASKS.get(env_id, {}), **overrides})

    def __post_init__(self) -> None:
        for name in ("n_paths", "horizon", "plan_every", "episodes_per_iter", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"MPCConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.random_episodes < 1:  # the model needs data before its first plan
            raise ConfigError(f"MPCConfig.random_episodes must be >= 1, got {self.random_episodes}")
        if self.shaping not in SHAPINGS:
            raise ConfigError(f"MPCConfig.shaping must be one of {SHAPINGS}, got {self.shaping!r}")


# Per task (exps/waypoint/baselines_waypoint_discrete.py, exps/wheeled/baselines_wheeled.py, exps/block/baselines_block.py).
MPC_TASKS: dict[str, dict[str, int]] = {
    "zspace/Waypoints-v0": {"horizon": 19 * 10, "random_episodes": 40},
    "zspace/Wheeled-v0": {"horizon": 19 * 20, "random_episodes": 100},
    "zspace/Blocks-v0": {"horizon": 19 * 5, "random_episodes": 40},
    # exps/swimmer/baselines_swimmer.py: 4000 sequences of 30 segments of 99 steps, 99 executed, refit every 20
    "zspace/SwimmerWaypoints-v1": {"n_paths": 4000, "horizon": 99 * 30, "plan_every": 99, "random_episodes": 100,
                                   "episodes_per_iter": 20},
}  # fmt: skip
MPC_TASKS["zspace/Wheeled-v1"] = MPC_TASKS["zspace/Wheeled-v0"]  # the same task on the authors' MuJoCo car


def sample_actions(space: spaces.Space, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """Uniform random actions of ``shape`` (+ the action shape for a Box)."""
    if isinstance(space, spaces.Discrete):
        return torch.randint(int(space.n), shape, generator=generator) + int(space.start)
    low, high = (torch.as_tensor(b, dtype=torch.float32) for b in (space.low, space.high))
    return low + (high - low) * torch.rand((*shape, *space.shape), generator=generator)


Simulate = Callable[[np.ndarray, Tensor], np.ndarray]  # (state (S,), actions (K, L, ...)) -> states s_1..s_L (K, L, S)


def model_simulator(model: DynamicsModel) -> Simulate:
    """Roll action sequences through the learned one-step model (no gradients)."""

    device = model.state_mean.device

    @torch.no_grad()
    def simulate(state: np.ndarray, actions: Tensor) -> np.ndarray:
        s = torch.as_tensor(state, dtype=torch.float32, device=device).expand(actions.shape[0], -1)
        actions = actions.to(device)
        predicted = []
        for t in range(actions.shape[1]):
            s = model(s, actions[:, t])
            predicted.append(s)
        return torch.stack(predicted, dim=1).cpu().numpy()  # (K, L, S)

    return simulate


def plan_actions(
    simulate: Simulate, env, state: np.ndarray, stage: int, horizon: int, config: MPCConfig, generator
) -> np.ndarray:
    """Random shooting over ``(K, horizon)`` uniform action sequences through ``simulate``; the best ``(horizon, ...)``."""

    def score(actions: Tensor) -> Tensor:  # (K, L, ...) -> (K,)
        states = simulate(state, actions)  # (K, L, S)
        scores = score_states(env.unwrapped.progress, states, stage, shaping=config.shaping, discount=config.discount,
                              segment_len=config.plan_every, distance=env.unwrapped.distance_to_go)  # fmt: skip
        return torch.from_numpy(scores)

    sample = lambda k: sample_actions(env.action_space, (k, horizon), generator)
    best, _ = random_shooting(score, sample, config.n_paths)
    return best.numpy()


@dataclasses.dataclass
class MPCEpisode:
    """One episode of :func:`run_mpc_episode`: its return, steps taken, whether it ended, success and plan times."""

    episode_return: float = 0.0
    steps: int = 0
    done: bool = False
    success: float = 0.0
    plan_s: list[float] = dataclasses.field(default_factory=list)


def run_mpc_episode(
    env,
    obs: np.ndarray,
    info: dict,
    simulate: Simulate | None,
    config: MPCConfig,
    generator: torch.Generator,
    *,
    max_steps: int | None = None,
    on_step: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None,
) -> MPCEpisode:
    """Run ``env`` from its reset ``(obs, info)``: every ``config.plan_every`` steps, random shooting through ``simulate``
    (:func:`plan_actions`; None: uniform random actions), the plan's first ``plan_every`` actions executed open-loop.

    Shared by the state MPC (a learned ``simulate``) and the oracle (the true dynamics). Stops at the
    episode's end or after ``max_steps`` steps (then ``done`` is False); ``on_step(obs, action, next_obs)``
    sees every transition.
    """
    episode = MPCEpisode()
    queue: list = []
    while not episode.done and (max_steps is None or episode.steps < max_steps):
        if not queue:
            if simulate is not None:
                tic = time.perf_counter()
                horizon = min(config.horizon, env.unwrapped.max_episode_steps - episode.steps)
                plan = plan_actions(simulate, env, obs, info["stage"], horizon, config, generator)
                episode.plan_s.append(time.perf_counter() - tic)
                queue = list(plan[: config.plan_every])
            else:
                queue = list(sample_actions(env.action_space, (config.plan_every,), generator).numpy())
        action = queue.pop(0)
        next_obs, reward, terminated, truncated, info = env.step(action)
        if on_step is not None:
            on_step(obs, np.asarray(action), next_obs)
        obs, episode.episode_return, episode.done = next_obs, episode.episode_return + reward, terminated or truncated
        episode.steps += 1
    episode.success = float(info["is_success"])
    return episode


def mpc_episodes(
    env_id: str,
    make_simulate: Callable[[gymnasium.Env], Simulate],
    *,
    episodes: int,
    seed: int = 0,
    config: MPCConfig | None = None,
    env_kwargs: dict | None = None,
    method: str = "mpc",
) -> LearningCurve:
    """Run ``episodes`` episodes of random-shooting MPC through ``make_simulate(env)``, learning nothing.

    Episode e resets with seed ``seed + e`` on ``gymnasium.make(env_id, include_stage=False,
    **env_kwargs)``; ``config`` defaults to :meth:`MPCConfig.for_task` (only its planning fields are
    used). Shared by the oracle (the true dynamics) and the evaluation of a trained state MPC.

    Returns:
        The curve (``method``): each episode's return and success against the env steps so far;
        ``extra["plan_s"]`` is the mean wall seconds per plan.
    """
    if episodes < 1:
        raise ConfigError(f"mpc_episodes ({method}): episodes must be >= 1, got {episodes}")
    config = MPCConfig.for_task(env_id) if config is None else config
    env = gymnasium.make(env_id, **{**(env_kwargs or {}), "include_stage": False})
    generator = torch.Generator().manual_seed(seed)
    curve = LearningCurve(method=method, env_id=env_id, seed=seed)
    start_time, steps, plan_s = time.perf_counter(), 0, []
    try:
        simulate = make_simulate(env)
        for episode in range(episodes):
            obs, info = env.reset(seed=seed + episode)
            run = run_mpc_episode(env, obs, info, simulate, config, generator)
            steps += run.steps
            plan_s += run.plan_s
            curve.record(steps, run.episode_return, run.success)
    finally:
        env.close()
    curve.extra.update(plan_s=float(np.mean(plan_s)))
    curve.wall_s = time.perf_counter() - start_time
    return curve


def state_mpc(
    env_id: str,
    *,
    total_steps: int,
    seed: int = 0,
    config: MPCConfig | None = None,
    env_kwargs: dict | None = None,
    device: str = "cpu",
    time_limit_s: float | None = None,
    final_fit: bool = False,
) -> tuple[DynamicsModel, LearningCurve]:
    """Train the state-space MPC baseline for ``total_steps`` environment steps.

    Episodes run one at a time on ``gymnasium.make(env_id, include_stage=False, **env_kwargs)``:
    ``config.random_episodes`` with uniform actions, then MPC episodes, refitting the model on all
    transitions so far every ``config.episodes_per_iter`` of them (default config: the authors' for
    ``env_id``, :meth:`MPCConfig.for_task`). Every completed episode's
    return and success is recorded against the env steps taken so far; an episode cut short by
    the budget is not recorded. ``device`` holds the model (fits and planning rollouts);
    ``time_limit_s`` stops after the first episode that ends past that many wall seconds
    (``curve.extra["stopped_early"]``). ``final_fit`` refits the model on every transition once more
    after the last episode (the refit the authors' loop would do next), so that a budget which ends
    between refits, or before the first one, leaves a model fit to all the data it paid for.

    Returns:
        The final dynamics model and the learning curve (method ``"mpc"``); ``curve.extra`` has
        ``model_loss`` (last refit), ``plan_s`` (mean wall seconds per plan) and ``random_episodes``.
    """
    if total_steps < 1:
        raise ConfigError(f"state_mpc: total_steps must be >= 1, got {total_steps}")
    config = MPCConfig.for_task(env_id) if config is None else config
    start_time = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    env = gymnasium.make(env_id, **{**(env_kwargs or {}), "include_stage": False})
    with torch.random.fork_rng(devices=[]):  # seeded initial weights, global RNG left as it was
        torch.manual_seed(seed)
        model = DynamicsModel(env.observation_space.shape[0], env.action_space, hidden=config.hidden).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    curve = LearningCurve(method="mpc", env_id=env_id, seed=seed)
    data: dict[str, list[np.ndarray]] = {"states": [], "actions": [], "next_states": []}
    steps, episode, fits, plan_s, model_loss = 0, 0, 0, [], float("nan")

    def record(*transition: np.ndarray) -> None:  # (obs, action, next_obs) joins the aggregated data
        for key, value in zip(data, transition, strict=True):
            data[key].append(value)

    def refit() -> float:  # on all transitions so far, warm-started
        nonlocal fits
        states, next_states = (torch.as_tensor(np.stack(data[k]), dtype=torch.float32, device=device)
                               for k in ("states", "next_states"))  # fmt: skip
        actions = torch.as_tensor(np.stack(data["actions"]), device=device)
        if fits == 0:
            model.set_normalization(states, next_states)  # fixed from the first data fit, as the authors'
        fits += 1
        return fit_dynamics(model, optimizer, states, actions, next_states, epochs=config.epochs,
                            batch_size=config.batch_size, generator=generator)  # fmt: skip

    stopped = False
    while steps < total_steps:
        if time_limit_s is not None and time.perf_counter() - start_time > time_limit_s:
            stopped = True
            break
        use_model = episode >= config.random_episodes
        if use_model and (episode - config.random_episodes) % config.episodes_per_iter == 0:  # aggregate, refit
            model_loss = refit()
        obs, info = env.reset(seed=seed + episode)
        run = run_mpc_episode(env, obs, info, model_simulator(model) if use_model else None, config, generator,
                              max_steps=total_steps - steps, on_step=record)  # fmt: skip
        steps += run.steps
        plan_s += run.plan_s
        if run.done:
            curve.record(steps, run.episode_return, run.success)
        episode += 1
    if final_fit and steps:
        model_loss = refit()
    curve.extra.update(model_loss=model_loss, fits=fits, plan_s=float(np.mean(plan_s)) if plan_s else 0.0,
                       random_episodes=min(episode, config.random_episodes), stopped_early=stopped, env_steps=steps)  # fmt: skip
    curve.wall_s = time.perf_counter() - start_time
    env.close()
    return model, curve
