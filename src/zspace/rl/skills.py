"""The "RL over skills" baseline: a high-level PPO picks a latent every segment for SeCTAR's frozen policy.

Co-Reyes et al. (ICML 2018, sec. 6) compare planning in the latent space with learning to choose
latents by RL: the same skills (the trained latent-conditioned policy pi(a | s, z)), chosen by a
model-free high-level policy from the task reward instead of by model-predictive search through
the state decoder. :class:`SkillVecEnv` turns a task into that high-level problem (one action =
one latent z = ``segment_len`` environment steps of the frozen policy) and :func:`skills_ppo`
trains PPO on it (method name ``"skills_ppo"``).

The high-level policy observes the task's base state plus the stage index (``include_stage=
"index"``, as the flat baselines); the skill policy reads the base state alone, as in training.
Latent actions are Gaussian and clipped to ``[-z_bound, z_bound]`` (the prior's bulk).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.wrappers.vector import RecordEpisodeStatistics

from zspace.errors import ConfigError
from zspace.rl.ppo import PPOConfig, train_ppo
from zspace.rl.results import LearningCurve
from zspace.rl.sectar.model import SeCTAR

__all__ = ["SKILLS_PPO", "SkillVecEnv", "skills_ppo"]

SKILLS_PPO = PPOConfig(gamma=0.95, ent_coef=0.0)  # per decision of 19 steps; see skills_ppo


class SkillVecEnv(VectorEnv):
    """``num_envs`` copies of ``env_id`` in which an action is a latent skill z ``(Z,)``.

    ``step(z (N, Z))`` runs the frozen ``model.policy`` (greedy) for ``segment_len`` steps in every
    copy and returns the summed task reward. An episode that ends inside a segment stops counting
    there (its final observation and info go in ``info["final_obs"]`` / ``["final_info"]``, SAME_STEP
    autoreset); one step is charged as ``env_steps_per_step = segment_len`` environment steps, an
    upper bound only when an episode ends early.
    """

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self, env_id: str, model: SeCTAR, *, num_envs: int = 8, env_kwargs: dict[str, Any] | None = None, z_bound: float = 3.0
    ) -> None:
        kwargs = {**(env_kwargs or {}), "include_stage": "index", "autoreset_mode": AutoresetMode.DISABLED}
        self.inner = gymnasium.make_vec(env_id, num_envs, **kwargs)
        self.spec = self.inner.spec
        self.model = model.eval()
        self.base_dim = model.config.state_dim
        inner_dim = self.inner.single_observation_space.shape[0]
        if inner_dim != self.base_dim + 1:
            raise ConfigError(f"{env_id}: the SeCTAR model reads {self.base_dim}-dim states, the env observes {inner_dim - 1}")
        self.num_envs = num_envs
        self.env_steps_per_step = model.config.segment_len
        self.single_observation_space = self.inner.single_observation_space
        z = model.config.z_size
        self.single_action_space = spaces.Box(-z_bound, z_bound, (z,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._obs: np.ndarray | None = None

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None):
        self._obs, info = self.inner.reset(seed=seed, options=options)
        return self._obs, info

    @torch.no_grad()
    def step(self, actions: Any):
        if self._obs is None:
            raise ConfigError("SkillVecEnv.step before reset()")
        z = torch.as_tensor(np.clip(actions, self.single_action_space.low, self.single_action_space.high), dtype=torch.float32)
        n = self.num_envs
        obs, total = self._obs, np.zeros(n)
        alive = np.ones(n, dtype=bool)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        final_obs, final_info = obs.copy(), {}
        for _ in range(self.model.config.segment_len):
            states = torch.as_tensor(obs[:, : self.base_dim], dtype=torch.float32)
            action, *_ = self.model.policy.get_action_and_value(*self.model.policy_inputs(states, z), greedy=True)
            obs, reward, term, trunc, info = self.inner.step(action.numpy())
            total += np.where(alive, reward, 0.0)
            ended = alive & (term | trunc)
            if ended.any():
                final_obs[ended] = obs[ended]
                for key, value in info.items():
                    final_info.setdefault(key, np.zeros_like(value))[ended] = value[ended]
            terminated |= ended & term
            truncated |= ended & trunc & ~term
            alive &= ~ended
            if not alive.any():
                break
        done = terminated | truncated
        if done.any():
            obs, reset_info = self.inner.reset(options={"reset_mask": done})
            info = {**reset_info, "final_obs": final_obs, "_final_obs": done, "final_info": final_info, "_final_info": done}
        else:
            info = self.inner.sim.info()
        self._obs = obs
        return obs, total, terminated, truncated, info

    def close(self, **kwargs: Any) -> None:
        self.inner.close()


def skills_ppo(
    env_id: str,
    model: SeCTAR,
    *,
    total_steps: int,
    seed: int,
    num_envs: int = 8,
    n_steps: int = 16,
    config: PPOConfig = SKILLS_PPO,
    env_kwargs: dict | None = None,
    hidden: Sequence[int] = (64, 64),
) -> LearningCurve:
    """PPO choosing SeCTAR latents every segment; ``total_steps`` and the curve count environment steps.

    Defaults: a high-level step spans ``segment_len`` (19) environment steps, so a rollout of 8 x 16
    decisions is 2,432 environment steps (about the flat baselines' 2,048) and gamma 0.95 per
    decision is ~0.997 per environment step, as long-sighted as the flat baselines' 0.995.
    """
    envs = RecordEpisodeStatistics(SkillVecEnv(env_id, model, num_envs=num_envs, env_kwargs=env_kwargs))
    _, curve = train_ppo(
        envs, total_steps=total_steps, seed=seed, n_steps=n_steps, config=config, hidden=hidden, method="skills_ppo"
    )
    curve.env_id = env_id
    return curve
