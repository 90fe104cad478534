"""The actor-critic of every PPO in zspace: flat baselines, count bonus, SeCTAR's pi(a | s, z).

As CleanRL's ``Agent``: separate actor and critic MLPs, orthogonal initialisation (gain sqrt(2)
in the torso, 0.01 on the policy head so the first policy is near uniform / near zero-mean,
1.0 on the value head), and ``get_value`` / ``get_action_and_value``. An optional conditioning
vector ``c`` (SeCTAR's latent z) is concatenated to the observation of both networks.

Action heads: a categorical over logits for ``Discrete``; for ``Box`` a diagonal Gaussian whose
log-std is a learned, state-independent parameter (CleanRL's continuous PPO). Gaussian actions
are **not** squashed or clipped here: the environments clip them to their bounds, so the
log-probabilities PPO uses are exactly those of the sampled (unclipped) actions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import gymnasium
import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution

from zspace.core.distributions import gaussian
from zspace.errors import ConfigError
from zspace.nn.mlp import MLP

__all__ = ["INITS", "ActorCritic", "layer_init", "sample_action", "xavier_mlp"]


def sample_action(dist: Distribution, *, greedy: bool = False, generator: torch.Generator | None = None) -> Tensor:
    """An action of a policy's distribution: its mode (``greedy``), or a draw from ``generator``
    (categorical by multinomial, Gaussian as mean + std * noise), or from torch's global RNG if None."""
    categorical = isinstance(dist, torch.distributions.Categorical)
    if greedy:
        return dist.probs.argmax(-1) if categorical else dist.mean
    if generator is None:
        return dist.sample()
    if categorical:
        return torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1)
    return dist.mean + dist.stddev * torch.randn(dist.mean.shape, generator=generator, dtype=dist.mean.dtype)


def layer_init(layer: nn.Linear, gain: float = math.sqrt(2), bias: float = 0.0) -> nn.Linear:
    """Orthogonal weights with ``gain`` and constant bias, as CleanRL (Engstrom et al. 2020 found it matters)."""
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.constant_(layer.bias, bias)
    return layer


def _orthogonal_mlp(mlp: MLP, head_gain: float) -> MLP:
    """Orthogonal init of an :class:`MLP`: sqrt(2) on every hidden layer, ``head_gain`` on the last."""
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    for layer in linears[:-1]:
        layer_init(layer)
    layer_init(linears[-1], head_gain)
    return mlp


def xavier_mlp(mlp: nn.Module) -> nn.Module:
    """Xavier-uniform weights on every linear layer, biases left at PyTorch's default (SeCTAR's authors' ``xavier_init``)."""
    for layer in mlp.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
    return mlp


INITS = ("orthogonal", "xavier")


class ActorCritic(nn.Module):
    """pi(a | s, c) and V(s, c) as two MLPs; ``c`` is an optional conditioning vector (``cond_dim=0``: none).

    Args:
        obs_dim: size of the (flat) observation.
        action_space: ``Discrete(n)`` (categorical head) or a 1-D ``Box`` (diagonal Gaussian head).
        hidden: hidden widths of the actor.
        cond_dim: size of the conditioning vector (SeCTAR: ``z_size``); 0 for an unconditioned policy.
        value_hidden: hidden widths of the critic (default: ``hidden``).
        act: activation between layers; Tanh as CleanRL's PPO (bounded features suit small nets).
        init: "orthogonal" (CleanRL's: gain sqrt(2), 0.01 on the policy head, 1 on the value head) or
            "xavier" (SeCTAR's authors': Xavier-uniform weights, default biases, no head scaling).
        init_std: Box only, the Gaussian's initial std in action units.
    """

    def __init__(
        self,
        obs_dim: int,
        action_space: gymnasium.spaces.Space,
        *,
        hidden: Sequence[int] = (64, 64),
        cond_dim: int = 0,
        value_hidden: Sequence[int] | None = None,
        act: str = "tanh",
        init: str = "orthogonal",
        init_std: float = 1.0,
    ) -> None:
        super().__init__()
        if obs_dim < 1 or cond_dim < 0:
            raise ConfigError(f"ActorCritic needs obs_dim >= 1 and cond_dim >= 0, got obs_dim={obs_dim}, cond_dim={cond_dim}")
        if init not in INITS or not init_std > 0:
            raise ConfigError(f"ActorCritic init must be one of {INITS} and init_std > 0, got {init!r} and {init_std}")
        if isinstance(action_space, gymnasium.spaces.Discrete):
            self.discrete, n_out = True, int(action_space.n)
            self.action_shape: tuple[int, ...] = ()
        elif isinstance(action_space, gymnasium.spaces.Box) and len(action_space.shape) == 1:
            self.discrete, n_out = False, action_space.shape[0]
            self.action_shape = tuple(action_space.shape)
        else:
            raise ConfigError(f"ActorCritic supports Discrete and 1-D Box action spaces, got {action_space}")
        self.obs_dim, self.cond_dim = obs_dim, cond_dim
        in_dim = obs_dim + cond_dim
        actor, critic = MLP(in_dim, hidden, n_out, act), MLP(in_dim, hidden if value_hidden is None else value_hidden, 1, act)
        if init == "xavier":
            self.actor, self.critic = xavier_mlp(actor), xavier_mlp(critic)
        else:
            self.actor, self.critic = _orthogonal_mlp(actor, head_gain=0.01), _orthogonal_mlp(critic, head_gain=1.0)
        # Box only: log-std of each action dimension, shared by all states; starts at init_std.
        self.log_std = None if self.discrete else nn.Parameter(torch.full((n_out,), math.log(init_std)))

    def _inputs(self, obs: Tensor, cond: Tensor | None) -> Tensor:
        """``obs (B, obs_dim)`` [+ ``cond (B, cond_dim)``] -> ``(B, obs_dim + cond_dim)``."""
        if obs.shape[-1] != self.obs_dim:
            raise ValueError(f"expected observations with {self.obs_dim} features, got shape {tuple(obs.shape)}")
        if self.cond_dim == 0:
            if cond is not None:
                raise ValueError("this ActorCritic has cond_dim=0 but a conditioning vector was given")
            return obs
        if cond is None or cond.shape[-1] != self.cond_dim:
            got = None if cond is None else tuple(cond.shape)
            raise ValueError(f"expected a conditioning vector with {self.cond_dim} features, got {got}")
        return torch.cat([obs, cond], dim=-1)

    def distribution(self, obs: Tensor, cond: Tensor | None = None) -> Distribution:
        """pi(. | s, c) with batch shape ``(B,)``: ``log_prob(action)`` and ``entropy()`` are ``(B,)`` nats."""
        out = self.actor(self._inputs(obs, cond))
        if self.discrete:
            return Categorical(logits=out, validate_args=False)
        return gaussian(out, self.log_std, event_dims=1)

    def get_value(self, obs: Tensor, cond: Tensor | None = None) -> Tensor:
        """V(s, c): ``(B,)``."""
        return self.critic(self._inputs(obs, cond)).squeeze(-1)

    def get_action_and_value(
        self, obs: Tensor, cond: Tensor | None = None, action: Tensor | None = None, *, greedy: bool = False
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Sample (or, ``greedy``, take the mode of) an action unless one is given; score it.

        Returns ``action (B, *action_shape)`` (int64 for Discrete), ``logprob (B,)``,
        ``entropy (B,)`` and ``value (B,)``. Sampling uses torch's global generator, so seed it.
        """
        dist = self.distribution(obs, cond)
        if action is None:
            action = sample_action(dist, greedy=greedy)
        return action, dist.log_prob(action), dist.entropy(), self.get_value(obs, cond)
