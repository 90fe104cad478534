"""SeCTAR's explorer: a separate policy that seeks the segments the current model explains poorly.

Co-Reyes et al. (ICML 2018), sec. 4.2: data for the trajectory VAE comes from an exploration
policy trained with RL, without any task reward, to maximise the model's *negative ELBO* on the
segments it produces, so it moves towards behaviour the model cannot yet encode and decode. Its
segments start at states the planner visited, so exploration happens at the frontier of what
the task needs. It is an :class:`~zspace.rl.policy.ActorCritic` without a latent, trained by PPO
(:mod:`zspace.rl.ppo`), and it is re-initialised when its entropy collapses (a near-deterministic
explorer repeats one segment, which the model soon explains, and it stops learning).

Rewards, two placements (``SectarTrainConfig.explore_reward``):

- the authors' (``"segment_end"``, :func:`segment_neg_elbo`): one reward per segment at its last
  step, their ``neg_ll + kl`` (``vaepdentropy.py``, via ``VAEBC.forward_batch``): the NLL per step
  (summed over state dims, averaged over the T steps), plus the KL summed over latent dims, at one
  z sampled from q(z | tau): the same reductions as the training loss;
- ours (``"per_step"``, :func:`novelty_rewards`): the negative ELBO spread over the segment's steps,

      r_t = -log p(s_t | s_0, z) + KL(q(z | tau) || N(0, I)) / T,   z = mean of q(z | tau),

  so a segment's rewards sum to -ELBO (whole-trajectory NLL, with the posterior mean as the
  single sample), and each step is credited with how badly its own state is predicted.
"""

from __future__ import annotations

import dataclasses
import math

import gymnasium
import torch
from torch import Tensor

from zspace.core.constraints import Sizes, configclass
from zspace.core.objectives import kl_from_posterior
from zspace.errors import ConfigError
from zspace.rl.policy import ActorCritic
from zspace.rl.ppo import PPOConfig, RolloutBatch, ppo_update
from zspace.rl.sectar.model import SeCTAR

__all__ = ["Explorer", "ExplorerConfig", "explorer_rewards", "novelty_rewards", "segment_end_rewards", "segment_neg_elbo"]


@configclass
class ExplorerConfig:
    """The explorer policy and its PPO; a small net: it only has to be different, not skilful."""

    hidden: Sizes = (64, 64)
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)  # CleanRL's defaults
    reset_entropy_frac: float = 0.1  # reset when mean entropy < this share of the uniform policy's
    # An absolute threshold in nats instead (the authors' reset_ent: Waypoints 1.34, Blocks 1.6, Wheeled 0 = never).
    reset_entropy: float | None = None
    reward_scale: float = 0.1  # rewards are nats per step of normalised states; ~1 keeps the critic's targets O(1)
    act: str = "tanh"  # ours (CleanRL's); the authors' explorer: "relu"
    init: str = "orthogonal"  # ours (CleanRL's); the authors': "xavier" (see ActorCritic)
    init_std: float = 1.0  # Box: the initial std in action units (the authors' Wheeled explorer: sqrt(20) rad/s = 0.224)
    # Box: native units per action unit (Wheeled: 20 rad/s), so a reset_entropy in the authors' units (nats of
    # actions in rad/s) is compared with the entropy the authors would have measured: ours + dims * log(action_scale)
    action_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.reset_entropy_frac < 1:
            raise ConfigError(f"ExplorerConfig.reset_entropy_frac must lie in [0, 1), got {self.reset_entropy_frac}")
        if not self.reward_scale > 0 or not self.init_std > 0 or not self.action_scale > 0:
            raise ConfigError(f"ExplorerConfig.reward_scale, init_std and action_scale must be > 0, got {self.reward_scale}, "
                              f"{self.init_std} and {self.action_scale}")  # fmt: skip


@torch.no_grad()
def novelty_rewards(model: SeCTAR, states: Tensor) -> Tensor:
    """The explorer's per-step rewards (see the module docstring): states ``(N, T+1, S)`` -> ``(N, T)`` nats.

    ``rewards.sum(1)`` is the segment's negative ELBO under ``model``, evaluated at the posterior mean.
    """
    posterior = model.encode(states)
    z = posterior.mean
    nll = -model.step_log_probs(states[:, 0], z, states[:, 1:])  # (N, T)
    normal = posterior.base_dist
    kl = kl_from_posterior(normal).sum(dim=-1)  # (N,)
    return nll + kl[:, None] / nll.shape[1]


@torch.no_grad()
def segment_neg_elbo(model: SeCTAR, states: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """The authors' explorer reward of each segment: states ``(N, T+1, S)`` -> ``(N,)`` nats.

    ``-log p(s_1..T | s_0, z) / T + KL(q(z | tau) || N(0, I))`` at one ``z ~ q(z | tau)`` drawn
    with ``generator`` (CPU): their ``neg_ll + kl`` of ``VAEBC.forward_batch``, unweighted.
    """
    posterior = model.encode(states)
    normal = posterior.base_dist
    noise = torch.randn(normal.loc.shape, generator=generator).to(normal.loc)
    z = normal.loc + normal.scale * noise
    nll_per_step = -model.state_log_prob(states[:, 0], z, states[:, 1:]) / (states.shape[1] - 1)
    return nll_per_step + kl_from_posterior(posterior).sum(dim=-1)


def explorer_rewards(values: Tensor, placement: str) -> Tensor:
    """The explorer's rewards over a rollout of M segments of T steps joined by one unrewarded step each.

    ``values (N, M, T)``: "per_step" (ours) pays each step its own term; "segment_end" pays each
    segment's sum over T at its last step (:func:`segment_end_rewards`). Returns ``(N, M (T + 1) - 1)``.
    """
    n, m, seg = values.shape
    if placement == "per_step":
        padded = torch.cat([values, torch.zeros_like(values[:, :, :1])], dim=2)  # the joining step pays 0
        return padded.reshape(n, -1)[:, : m * (seg + 1) - 1]
    return segment_end_rewards(values.sum(dim=2), seg)


def segment_end_rewards(per_segment: Tensor, segment_len: int) -> Tensor:
    """``per_segment (N, M)`` rewards paid at each segment's last step -> ``(N, M (T + 1) - 1)`` (zeros elsewhere)."""
    n, m = per_segment.shape
    length = m * (segment_len + 1) - 1
    rewards = torch.zeros(n, length, device=per_segment.device, dtype=per_segment.dtype)
    ends = torch.clamp(torch.arange(m, device=per_segment.device) * (segment_len + 1) + segment_len, max=length - 1)
    rewards[:, ends] = per_segment
    return rewards


def max_entropy(action_space: gymnasium.spaces.Space) -> float | None:
    """The entropy of the uniform policy over a Discrete space (nats); None for a Box (unbounded)."""
    if isinstance(action_space, gymnasium.spaces.Discrete):
        return math.log(int(action_space.n))
    return None


class Explorer:
    """The exploration policy, its optimiser, and the entropy-collapse reset.

    Args:
        obs_dim: size of the (normalised) state the explorer reads.
        action_space: the environment's action space.
        config: sizes, PPO and reset threshold.
        generator: PPO's minibatch shuffling (initial weights come from torch's global RNG).
    """

    def __init__(
        self,
        obs_dim: int,
        action_space: gymnasium.spaces.Space,
        config: ExplorerConfig,
        *,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.obs_dim, self.action_space, self.config, self.generator = obs_dim, action_space, config, generator
        self.device = torch.device(device)
        self.resets = 0
        self._build()

    def _build(self) -> None:
        c = self.config
        self.agent = ActorCritic(self.obs_dim, self.action_space, hidden=c.hidden, act=c.act, init=c.init,
                                 init_std=c.init_std).to(self.device)  # fmt: skip
        self.optimizer = torch.optim.Adam(self.agent.parameters(), lr=self.config.ppo.lr, eps=1e-5)

    def update(self, batch: RolloutBatch) -> dict[str, float]:
        """One PPO update on ``batch``; resets the explorer afterwards if its entropy collapsed.

        Returns PPO's metrics (``explore/...``) plus ``explore/resets`` (resets so far).
        """
        metrics = ppo_update(self.agent, self.optimizer, batch, self.config.ppo, generator=self.generator)
        if self.collapsed(metrics["losses/entropy"]):
            self._build()
            self.resets += 1
        out = {f"explore/{k.split('/')[-1]}": v for k, v in metrics.items()}
        out["explore/resets"] = float(self.resets)
        return out

    def collapsed(self, mean_entropy: float) -> bool:
        """Whether ``mean_entropy`` (nats) is below the reset threshold (Box spaces: below the log-std floor)."""
        if self.config.reset_entropy is not None:
            if isinstance(self.action_space, gymnasium.spaces.Box):  # in the units the threshold was set in
                mean_entropy += int(math.prod(self.action_space.shape)) * math.log(self.config.action_scale)
            return mean_entropy < self.config.reset_entropy
        top = max_entropy(self.action_space)
        if top is None:  # Gaussian: entropy per dim 0.5 log(2 pi e sigma^2); collapse = sigma below ~0.1
            dims = int(math.prod(self.action_space.shape))
            return mean_entropy < dims * (0.5 * math.log(2 * math.pi * math.e) + math.log(0.1))
        return mean_entropy < self.config.reset_entropy_frac * top
