"""Proximal Policy Optimization (Schulman et al. 2017), readable in the spirit of CleanRL's ``ppo.py``.

Three layers, kept apart (STYLE rule 9):

1. pure functions: :func:`gae` (advantages and returns) and :func:`ppo_loss` (clipped surrogate,
   clipped value loss, entropy bonus) on tensors;
2. :func:`ppo_update`: epochs of shuffled minibatches of one :class:`RolloutBatch`;
3. :func:`collect_rollout` (vector-environment rollouts) and :func:`train_ppo`, the flat PPO
   baseline (optionally with an exploration bonus, see :mod:`zspace.rl.baselines`).

SeCTAR's self-consistency update reuses 1 and 2 with its own rollouts and rewards.

Vector environments run in gymnasium's **SAME_STEP** autoreset mode (:func:`make_envs`): when a
sub-environment finishes, ``step`` returns the first observation of the next episode and puts the
state it actually reached in ``info["final_obs"]``. No step is wasted on a reset (as in NEXT_STEP
mode), and the reached state is available both to a reward function (count bonus) and to
bootstrap the value of time-limit truncations.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.wrappers.vector import RecordEpisodeStatistics
from torch import Tensor

from zspace.errors import ConfigError, DataError, TrainingDivergedError
from zspace.rl.envs import check_env_id  # importing registers the zspace/... ids
from zspace.rl.policy import ActorCritic
from zspace.rl.results import LearningCurve

__all__ = [
    "PPOConfig",
    "Rollout",
    "RolloutBatch",
    "collect_rollout",
    "gae",
    "make_envs",
    "ppo_loss",
    "ppo_update",
    "train_ppo",
]

RewardFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (reached states (N, D), env reward (N,)) -> reward (N,)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PPOConfig:
    """PPO hyper-parameters; CleanRL's defaults (after Andrychowicz et al. 2021, "What matters in on-policy RL")."""

    lr: float = 3e-4  # Adam, eps 1e-5 as CleanRL
    gamma: float = 0.99  # discount; long sparse tasks may want 0.995 (see zspace.rl.baselines)
    gae_lambda: float = 0.95  # bias-variance trade-off of GAE
    update_epochs: int = 4  # passes over each rollout
    n_minibatches: int = 4  # minibatches per pass
    clip_coef: float = 0.2  # trust region of the surrogate (and of the value function if clip_vloss)
    clip_vloss: bool = True
    vf_coef: float = 0.5
    ent_coef: float = 0.01  # keeps the policy exploring before the first sparse reward
    max_grad_norm: float = 0.5
    norm_adv: bool = True  # normalise advantages per minibatch
    target_kl: float | None = None  # stop the update early when the approximate KL exceeds this

    def __post_init__(self) -> None:
        positive = ("lr", "clip_coef", "max_grad_norm")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(f"PPOConfig.{name} must be > 0, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"PPOConfig.{name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("update_epochs", "n_minibatches"):
            if getattr(self, name) < 1:
                raise ConfigError(f"PPOConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("vf_coef", "ent_coef"):
            if getattr(self, name) < 0:
                raise ConfigError(f"PPOConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.target_kl is not None and not self.target_kl > 0:
            raise ConfigError(f"PPOConfig.target_kl must be > 0 or None, got {self.target_kl}")


# --- 1. pure functions --------------------------------------------------------------------------
def gae(
    rewards: Tensor, values: Tensor, dones: Tensor, next_value: Tensor, next_done: Tensor, *, gamma: float, lam: float
) -> tuple[Tensor, Tensor]:
    """Generalized advantage estimation (Schulman et al. 2016, eq. 16), backwards over time, vectorised over envs.

    Args:
        rewards, values, dones: ``(T, N)``; ``dones[t] = 1`` if ``obs[t]`` *started* a new episode
            (CleanRL's convention), so no value is bootstrapped across it into step ``t - 1``.
        next_value, next_done: ``(N,)`` the value and done flag of the observation after step ``T - 1``.

    Returns:
        ``(advantages, returns)``, both ``(T, N)``; ``returns = advantages + values`` (the critic's target).
    """
    if rewards.shape != values.shape or rewards.shape != dones.shape or rewards.ndim != 2:
        raise ValueError(f"rewards, values, dones must share a (T, N) shape, got {rewards.shape}, {values.shape}, {dones.shape}")
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        if t == rewards.shape[0] - 1:
            nonterminal, next_values = 1.0 - next_done, next_value
        else:
            nonterminal, next_values = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + gamma * next_values * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        advantages[t] = last
    return advantages, advantages + values


def ppo_loss(
    new_logprob: Tensor,
    entropy: Tensor,
    new_value: Tensor,
    *,
    old_logprob: Tensor,
    advantages: Tensor,
    returns: Tensor,
    old_values: Tensor,
    config: PPOConfig,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The PPO objective on one minibatch (every argument ``(B,)``), to be minimised.

    ``loss = policy - ent_coef * entropy + vf_coef * value`` where ``policy`` is the clipped
    surrogate (Schulman et al. 2017, eq. 7, negated) and ``value`` is ``0.5 * (V - R)^2``, clipped
    around the old value when ``config.clip_vloss``. Means over the batch.

    Returns the loss and detached metrics ``losses/policy``, ``losses/value``, ``losses/entropy``,
    ``losses/approx_kl`` (the low-variance estimator ``E[(r - 1) - log r]``) and ``losses/clipfrac``.
    """
    log_ratio = new_logprob - old_logprob
    ratio = log_ratio.exp()
    if config.norm_adv and advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    clip = config.clip_coef
    policy_loss = torch.max(-advantages * ratio, -advantages * ratio.clamp(1 - clip, 1 + clip)).mean()
    if config.clip_vloss:
        clipped_value = old_values + (new_value - old_values).clamp(-clip, clip)
        value_loss = 0.5 * torch.max((new_value - returns) ** 2, (clipped_value - returns) ** 2).mean()
    else:
        value_loss = 0.5 * ((new_value - returns) ** 2).mean()
    entropy_loss = entropy.mean()
    loss = policy_loss - config.ent_coef * entropy_loss + config.vf_coef * value_loss
    with torch.no_grad():
        metrics = {
            "losses/policy": policy_loss.detach(),
            "losses/value": value_loss.detach(),
            "losses/entropy": entropy_loss.detach(),
            "losses/approx_kl": ((ratio - 1) - log_ratio).mean(),
            "losses/clipfrac": ((ratio - 1.0).abs() > clip).float().mean(),
        }
    return loss, metrics


# --- 2. the update ------------------------------------------------------------------------------
@dataclasses.dataclass
class RolloutBatch:
    """A flattened rollout (``M = T * N`` samples) ready for :func:`ppo_update`.

    obs ``(M, obs_dim)``, actions ``(M, *action_shape)``, logprobs / advantages / returns / values
    ``(M,)`` (log-probabilities and values at collection time), cond ``(M, cond_dim)`` or None.
    """

    obs: Tensor
    actions: Tensor
    logprobs: Tensor
    advantages: Tensor
    returns: Tensor
    values: Tensor
    cond: Tensor | None = None

    def __len__(self) -> int:
        return self.obs.shape[0]

    def __getitem__(self, index: Tensor) -> RolloutBatch:
        return RolloutBatch(
            **{f.name: (None if (v := getattr(self, f.name)) is None else v[index]) for f in dataclasses.fields(self)}
        )


def ppo_update(
    agent: ActorCritic,
    optimizer: torch.optim.Optimizer,
    batch: RolloutBatch,
    config: PPOConfig,
    *,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """``config.update_epochs`` passes of ``config.n_minibatches`` shuffled minibatches over ``batch``.

    Gradients are clipped to ``max_grad_norm``; with ``target_kl`` the update stops after the
    first epoch whose mean approximate KL exceeds it. Returns the metrics of :func:`ppo_loss`
    averaged over the minibatches taken, plus ``losses/explained_variance`` (of the returns by
    the old values) and ``losses/epochs`` (epochs run).
    """
    if len(batch) < config.n_minibatches:
        raise ConfigError(
            f"a rollout of {len(batch)} samples cannot be split into PPOConfig.n_minibatches={config.n_minibatches}"
        )
    totals: dict[str, float] = {}
    n_taken, epochs = 0, 0
    for _ in range(config.update_epochs):
        epochs += 1
        epoch_kl = []
        for index in torch.randperm(len(batch), generator=generator).tensor_split(config.n_minibatches):
            mb = batch[index]
            _, new_logprob, entropy, new_value = agent.get_action_and_value(mb.obs, mb.cond, mb.actions)
            loss, metrics = ppo_loss(
                new_logprob, entropy, new_value,
                old_logprob=mb.logprobs, advantages=mb.advantages, returns=mb.returns, old_values=mb.values, config=config,
            )  # fmt: skip
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"PPO loss is {loss.item()} ({ {k: v.item() for k, v in metrics.items()} }); lower PPOConfig.lr"
                )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
            optimizer.step()
            for key, value in metrics.items():
                totals[key] = totals.get(key, 0.0) + value.item()
            n_taken += 1
            epoch_kl.append(metrics["losses/approx_kl"].item())
        if config.target_kl is not None and np.mean(epoch_kl) > config.target_kl:
            break
    out = {key: value / n_taken for key, value in totals.items()}
    var = batch.returns.var()
    out["losses/explained_variance"] = float("nan") if var == 0 else (1 - (batch.returns - batch.values).var() / var).item()
    out["losses/epochs"] = float(epochs)
    return out


# --- 3. rollouts and the training loop --------------------------------------------------------
def make_envs(env_id: str, *, num_envs: int, env_kwargs: dict[str, Any] | None = None) -> VectorEnv:
    """``num_envs`` copies of ``env_id`` in SAME_STEP autoreset, recording episode returns (``info["episode"]``).

    Uses the id's numpy vector entry point when it has one, else gymnasium's ``SyncVectorEnv``.
    """
    check_env_id(env_id)
    kwargs = dict(env_kwargs or {})
    if gymnasium.spec(env_id).vector_entry_point is not None:
        envs = gymnasium.make_vec(env_id, num_envs, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
    else:
        envs = gymnasium.make_vec(
            env_id, num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}, **kwargs
        )
    return RecordEpisodeStatistics(envs)


@dataclasses.dataclass
class Rollout:
    """``T`` steps of ``N`` envs. ``rewards`` are after the reward function; ``dones[t]`` flags that
    ``obs[t]`` started an episode; ``truncation_values[t]`` is V(final state) where step ``t`` hit a
    time limit (else 0); episode statistics are those of episodes that ended in this rollout."""

    obs: Tensor  # (T, N, obs_dim)
    actions: Tensor  # (T, N, *action_shape)
    logprobs: Tensor  # (T, N)
    rewards: Tensor  # (T, N)
    dones: Tensor  # (T, N)
    values: Tensor  # (T, N)
    truncation_values: Tensor  # (T, N)
    next_obs: Tensor  # (N, obs_dim)
    next_done: Tensor  # (N,)
    episode_returns: list[float]  # task (environment) return of each finished episode, no bonus
    episode_successes: list[float]  # info["is_success"] at its end (0 when the env reports none)

    def to_batch(self, advantages: Tensor, returns: Tensor) -> RolloutBatch:
        """Flatten ``(T, N, ...)`` -> ``(T * N, ...)``."""
        return RolloutBatch(
            obs=self.obs.flatten(0, 1), actions=self.actions.flatten(0, 1), logprobs=self.logprobs.flatten(),
            advantages=advantages.flatten(), returns=returns.flatten(), values=self.values.flatten(),
        )  # fmt: skip


def _sample(dist: torch.distributions.Distribution, generator: torch.Generator | None) -> Tensor:
    """``dist.sample()`` drawn from ``generator`` (categorical via multinomial, Gaussian as mean + std * noise)."""
    if generator is None:
        return dist.sample()
    if isinstance(dist, torch.distributions.Categorical):
        return torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1)
    return dist.mean + dist.stddev * torch.randn(dist.mean.shape, generator=generator)


def _reached_states(next_obs: np.ndarray, info: dict[str, Any], done: np.ndarray) -> np.ndarray:
    """``(N, obs_dim)`` the state each env reached this step: ``info["final_obs"]`` where it finished."""
    reached = next_obs.copy()
    for i in np.flatnonzero(done):
        reached[i] = info["final_obs"][i]
    return reached


@torch.no_grad()
def collect_rollout(
    envs: VectorEnv,
    agent: ActorCritic,
    next_obs: Tensor,
    next_done: Tensor,
    n_steps: int,
    *,
    reward_fn: RewardFn | None = None,
    generator: torch.Generator | None = None,
    global_step: int = 0,
) -> Rollout:
    """Run ``agent`` for ``n_steps`` in the SAME_STEP-autoreset ``envs`` (see :func:`make_envs`).

    ``next_obs (N, obs_dim)`` / ``next_done (N,)`` carry over from the previous rollout (or reset).
    ``reward_fn(reached, reward)`` may replace the reward (e.g. add a count bonus); a NaN or
    infinite reward raises :class:`DataError` naming the environment step (``global_step`` +
    steps taken here). Episode returns in the result are the environment's, without the bonus.
    """
    if envs.metadata.get("autoreset_mode") is not AutoresetMode.SAME_STEP:
        raise ConfigError(f"collect_rollout needs SAME_STEP autoreset, got {envs.metadata.get('autoreset_mode')}; use make_envs")
    n = envs.num_envs
    obs, actions, logprobs, rewards, dones, values, trunc_values = ([] for _ in range(7))
    episode_returns: list[float] = []
    episode_successes: list[float] = []
    for t in range(n_steps):
        dist = agent.distribution(next_obs)
        action = _sample(dist, generator)
        obs.append(next_obs)
        dones.append(next_done)
        actions.append(action)
        logprobs.append(dist.log_prob(action))
        values.append(agent.get_value(next_obs))
        raw_obs, reward, terminated, truncated, info = envs.step(action.numpy())
        done = terminated | truncated
        if reward_fn is not None:
            reward = reward_fn(_reached_states(raw_obs, info, done), reward)
        bad = np.flatnonzero(~np.isfinite(reward))
        if bad.size:
            raise DataError(
                f"reward is {reward[bad[0]]} at environment step {global_step + t * n + bad[0]} (rollout step {t}, "
                f"sub-env {bad[0]}); check the environment or reward_fn"
            )
        trunc_value = torch.zeros(n)
        if np.any(truncated & ~terminated):  # a time limit, not a real end: bootstrap V(s_T) (Pardo et al. 2018)
            index = np.flatnonzero(truncated & ~terminated)
            final = torch.as_tensor(np.stack([info["final_obs"][i] for i in index]), dtype=torch.float32)
            trunc_value[index] = agent.get_value(final)
        if "_episode" in info:
            episode_returns += info["episode"]["r"][info["_episode"]].astype(float).tolist()
            final_info = info.get("final_info", {})
            success = np.asarray(final_info.get("is_success", np.zeros(n)), dtype=float)
            episode_successes += success[info["_episode"]].tolist()
        rewards.append(torch.as_tensor(reward, dtype=torch.float32))
        trunc_values.append(trunc_value)
        next_obs = torch.as_tensor(raw_obs, dtype=torch.float32)
        next_done = torch.as_tensor(done, dtype=torch.float32)
    return Rollout(
        obs=torch.stack(obs), actions=torch.stack(actions), logprobs=torch.stack(logprobs), rewards=torch.stack(rewards),
        dones=torch.stack(dones), values=torch.stack(values), truncation_values=torch.stack(trunc_values),
        next_obs=next_obs, next_done=next_done, episode_returns=episode_returns, episode_successes=episode_successes,
    )  # fmt: skip


def train_ppo(
    env_id: str | VectorEnv,
    *,
    total_steps: int,
    seed: int = 0,
    num_envs: int = 8,
    n_steps: int = 128,
    config: PPOConfig = PPOConfig(),
    env_kwargs: dict | None = None,
    bonus: RewardFn | None = None,
    hidden: Sequence[int] = (64, 64),
    log: Callable[[int, dict[str, float]], None] | None = None,
    method: str | None = None,
) -> tuple[ActorCritic, LearningCurve]:
    """Flat PPO on ``env_id`` for ``total_steps`` environment steps (rounded down to whole rollouts).

    ``bonus`` (e.g. :class:`zspace.rl.baselines.CountBonus`) adds to the reward the agent learns
    from; the curve records the task return only: after each iteration in which episodes ended,
    their mean return and success rate (iterations with no finished episode record nothing).
    Everything random derives from ``seed`` (initial weights, actions, minibatches, env layouts),
    so a seeded CPU run is reproducible; the global torch RNG is left as it was.
    ``log(env_steps, metrics)`` receives CleanRL-style ``losses/*`` and ``charts/*`` per iteration.

    ``env_id`` may instead be a ready SAME_STEP vector env recording episode statistics (e.g.
    :class:`zspace.rl.skills.SkillVecEnv`, whose one step is ``env_steps_per_step`` environment
    steps: budgets and the curve count environment steps); ``method`` names the curve.
    """
    if isinstance(env_id, str):
        envs = make_envs(env_id, num_envs=num_envs, env_kwargs=env_kwargs)
    else:
        envs, num_envs = env_id, env_id.num_envs
        env_id = envs.spec.id if envs.spec is not None else type(envs.unwrapped).__name__
    env_steps_per_step = getattr(envs.unwrapped, "env_steps_per_step", 1)
    steps_per_iter = num_envs * n_steps * env_steps_per_step
    if total_steps < steps_per_iter:
        envs.close()
        raise ConfigError(f"total_steps={total_steps} is less than one rollout ({steps_per_iter} environment steps)")
    if len(envs.single_observation_space.shape) != 1:
        raise ConfigError(f"{env_id}: train_ppo needs flat observations, got {envs.single_observation_space}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        agent = ActorCritic(envs.single_observation_space.shape[0], envs.single_action_space, hidden=hidden)
    optimizer = torch.optim.Adam(agent.parameters(), lr=config.lr, eps=1e-5)
    generator = torch.Generator().manual_seed(seed)
    method = method or ("ppo" if bonus is None else "ppo_count")
    curve = LearningCurve(method=method, env_id=env_id, seed=seed)
    start = time.perf_counter()
    obs, _ = envs.reset(seed=seed)
    next_obs, next_done = torch.as_tensor(obs, dtype=torch.float32), torch.zeros(num_envs)
    env_steps = 0
    try:
        for _ in range(total_steps // steps_per_iter):
            roll = collect_rollout(
                envs, agent, next_obs, next_done, n_steps, reward_fn=bonus, generator=generator, global_step=env_steps
            )
            env_steps += steps_per_iter
            next_obs, next_done = roll.next_obs, roll.next_done
            with torch.no_grad():
                advantages, returns = gae(
                    roll.rewards + config.gamma * roll.truncation_values, roll.values, roll.dones,
                    agent.get_value(next_obs), next_done, gamma=config.gamma, lam=config.gae_lambda,
                )  # fmt: skip
            metrics = ppo_update(agent, optimizer, roll.to_batch(advantages, returns), config, generator=generator)
            if roll.episode_returns:
                curve.record(env_steps, float(np.mean(roll.episode_returns)), float(np.mean(roll.episode_successes)))
            metrics["charts/sps"] = env_steps / (time.perf_counter() - start)
            metrics["charts/episodes"] = float(len(roll.episode_returns))
            if log is not None:
                log(env_steps, metrics)
    finally:
        envs.close()
    curve.wall_s = time.perf_counter() - start
    curve.extra.update(sps=env_steps / curve.wall_s, num_envs=num_envs, n_steps=n_steps)
    return agent, curve
