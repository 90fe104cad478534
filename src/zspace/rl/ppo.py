"""Proximal Policy Optimization (Schulman et al. 2017), readable in the spirit of CleanRL's ``ppo.py``.

Three layers, kept apart:

1. pure functions: :func:`gae` (advantages and returns) and :func:`ppo_loss` (clipped surrogate,
   clipped value loss, entropy bonus) on tensors;
2. :func:`ppo_update`: epochs of shuffled minibatches of one :class:`RolloutBatch`;
3. :func:`train_ppo`, the flat PPO baseline (optionally with an exploration bonus, see
   :mod:`zspace.rl.baselines`), on rollouts collected by :mod:`zspace.rl.rollout`.

SeCTAR's self-consistency update reuses 1 and 2 with its own rollouts and rewards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from gymnasium.vector import VectorEnv
from torch import Tensor

from zspace.core.constraints import configclass
from zspace.errors import ConfigError, TrainingDivergedError
from zspace.rl.policy import ActorCritic
from zspace.rl.results import LearningCurve
from zspace.rl.rollout import RewardFn, RolloutBatch, collect_rollout, make_envs

__all__ = ["PPOConfig", "RolloutBatch", "gae", "ppo_loss", "ppo_update", "train_ppo"]  # RolloutBatch: from rollout


@configclass
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
