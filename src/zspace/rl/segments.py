"""Segments of experience: SeCTAR's replay buffer, vectorised segment rollouts from given states, and
their PPO batches (each segment an independent episode, as the authors' samplers return them)."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium
import numpy as np
import torch
from torch import Tensor

from zspace.rl.ppo import PPOConfig, RolloutBatch, gae
from zspace.rl.timing import timed

__all__ = ["SegmentBuffer", "ppo_segments", "rollout_segments"]


class SegmentBuffer:
    """A ring buffer of segments: states ``(capacity, T+1, S)`` float32, actions ``(capacity, T, ...)``."""

    def __init__(self, capacity: int, horizon: int, state_dim: int, action_shape: tuple[int, ...], action_dtype: torch.dtype):
        self.states = torch.zeros(capacity, horizon + 1, state_dim)
        self.actions = torch.zeros(capacity, horizon, *action_shape, dtype=action_dtype)
        self.capacity, self.size, self.next = capacity, 0, 0

    def add(self, states: Tensor, actions: Tensor) -> None:
        n = len(states)
        if n > self.capacity:  # only the newest fit
            states, actions, n = states[-self.capacity :], actions[-self.capacity :], self.capacity
        index = (self.next + torch.arange(n)) % self.capacity
        self.states[index], self.actions[index] = states.to(self.states.dtype), actions.to(self.actions.dtype)
        self.next = int((self.next + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        index = torch.randint(self.size, (n,), generator=generator)
        return self.states[index], self.actions[index]


@torch.no_grad()
def rollout_segments(
    envs: gymnasium.vector.VectorEnv, starts: np.ndarray, horizon: int, act: Callable[[Tensor], torch.distributions.Distribution]
) -> dict[str, Tensor]:
    """Restart ``envs`` at ``starts (N, S)`` and run ``act(states (N, S)) -> pi`` (sampled) for ``horizon`` steps.

    ``act`` receives CPU states and may return a distribution on any device; everything returned
    is on the CPU: ``states (N, L+1, S)``, ``actions (N, L, ...)``, ``logprobs (N, L)`` and
    ``valid (N,)`` (False where an episode ended inside the rollout, whose states then mix two episodes).
    """
    with timed("env"):
        obs, _ = envs.reset(options={"state": starts})
    states, actions, logprobs = [torch.as_tensor(obs)], [], []
    valid = np.ones(len(starts), dtype=bool)
    for t in range(horizon):
        dist = act(states[-1])
        action = dist.sample()
        with timed("env"):
            obs, _, terminated, truncated, _ = envs.step(action.cpu().numpy())
        if t < horizon - 1:
            valid &= ~(terminated | truncated)
        states.append(torch.as_tensor(obs)), actions.append(action.cpu()), logprobs.append(dist.log_prob(action).cpu())
    return {
        "states": torch.stack(states, dim=1),
        "actions": torch.stack(actions, dim=1),
        "logprobs": torch.stack(logprobs, dim=1),
        "valid": torch.as_tensor(valid),
    }


def ppo_segments(agent, obs: Tensor, actions: Tensor, logprobs: Tensor, rewards: Tensor, config: PPOConfig,
                 cond: Tensor | None = None) -> RolloutBatch:  # fmt: skip
    """Segments as independent episodes: obs ``(N, L+1, ...)`` (s_0..s_L), the rest ``(N, L, ...)``; no bootstrap at L.

    Every tensor must be on the agent's device; the batch is built there.
    """
    n, horizon = rewards.shape
    flat_obs = obs[:, :-1].reshape(n * horizon, -1)
    flat_cond = None if cond is None else cond[:, None].expand(n, horizon, cond.shape[-1]).reshape(n * horizon, -1)
    with torch.no_grad():
        values = agent.get_value(flat_obs, flat_cond).reshape(n, horizon)
    zeros = torch.zeros(horizon, n, device=rewards.device)
    ones = torch.ones(n, device=rewards.device)
    advantages, returns = gae(rewards.T, values.T, zeros, zeros[0], ones, gamma=config.gamma, lam=config.gae_lambda)  # (L, N)
    return RolloutBatch(
        obs=flat_obs, actions=actions.reshape(n * horizon, *actions.shape[2:]), logprobs=logprobs.reshape(-1),
        advantages=advantages.T.reshape(-1), returns=returns.T.reshape(-1), values=values.reshape(-1), cond=flat_cond,
    )  # fmt: skip
