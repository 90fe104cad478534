"""Rollouts for PPO: vector environments in SAME_STEP autoreset, and the batches PPO learns from.

Vector environments run in gymnasium's **SAME_STEP** autoreset mode (:func:`make_envs`): when a
sub-environment finishes, ``step`` returns the first observation of the next episode and puts the
state it actually reached in ``info["final_obs"]``. No step is wasted on a reset (as in NEXT_STEP
mode), and the reached state is available both to a reward function (count bonus) and to
bootstrap the value of time-limit truncations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.wrappers.vector import RecordEpisodeStatistics
from torch import Tensor

from zspace.errors import ConfigError, DataError
from zspace.rl.envs import check_env_id  # importing registers the zspace/... ids
from zspace.rl.policy import ActorCritic, sample_action

__all__ = ["RewardFn", "Rollout", "RolloutBatch", "collect_rollout", "make_envs"]

RewardFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (reached states (N, D), env reward (N,)) -> reward (N,)


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
        action = sample_action(dist, generator=generator)
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
