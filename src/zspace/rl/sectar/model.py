"""SeCTAR's trajectory VAE: encoder q(z | tau), state decoder p(s_1..T | s_0, z), policy pi(a | s, z).

Co-Reyes et al., "Self-Consistent Trajectory Autoencoder" (ICML 2018), sec. 3. One latent z
describes a segment tau = (s_0, a_0, ..., s_T) of ``segment_len`` steps. The state decoder is the
model a planner searches with (no environment calls); the policy decoder is what executes a
chosen z. Training (:func:`sectar_loss`) is the ELBO on the state decoder plus behaviour cloning
of the data's actions by the policy decoder; the self-consistency term (the policy is rewarded by
the state decoder's likelihood of what it reached) is an RL step and lives in
:mod:`zspace.rl.sectar.train`.

State normalisation: every network reads states mapped to [-1, 1] per dimension by the bounds of
the environment's observation space, ``(s - centre) / half_range`` (positions in metres up to
+-2.8, object coordinates up to +-3.2, holding flags in [0, 1]). Bounds are fixed, unlike a data
mean/std, so the networks' inputs mean the same thing while the online data set grows, and the
map is part of the config, so a checkpoint is self-describing. Likelihoods (``state_log_prob``,
the loss) are in nats *of the normalised states*: a constant sum(log half_range) away from nats of
raw states, which changes no gradient, ranking or reward difference.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Independent

from zspace.core.constraints import NonNegative, NonNegativeInt, Size, Sizes, configclass
from zspace.core.distributions import diagonal_gaussian, gaussian
from zspace.core.objectives import elbo_terms, kl_from_posterior
from zspace.errors import ConfigError
from zspace.nn.mlp import MLP
from zspace.nn.recurrent import init_lstm_, lstm_cell
from zspace.rl.policy import ActorCritic, xavier_mlp

__all__ = ["SECTAR_INITS", "SeCTAR", "SectarConfig", "consistency_error", "sectar_loss"]

SECTAR_INITS = ("authors", "ours")  # SectarConfig.init


@configclass
class SectarConfig:
    """The model and its loss weights; the environment fields are set by :meth:`for_env`.

    Defaults are the authors' experiments (``exps/waypoint/waypoint_discrete_exp.py``,
    ``exps/block/block_exp.py``, ``exps/wheeled/explore_exp.py``): z 8, a 2-layer bidirectional
    LSTM encoder of 256 mean-pooled, an LSTM state decoder of 256 with an MLP head (128, 128, 128)
    and a learned state-independent variance (``decoder_var_type="param"``), a (400, 300, 200)
    policy MLP, KL weight 2 and BC weight 100 (every experiment sets ``kl_weight: [2]`` and
    ``bc_weight: [100]``; the ``TrajVAEBC`` class defaults are overridden). Wheeled used a 512-unit
    decoder (``decoder_rnn_hidden_dim``); we keep 256 for all tasks. ``init="authors"`` is their
    initialisation and absolute-state decoder; ``init="ours"`` (the "cpu" preset's) is a named option.
    """

    # --- the environment (from its spaces; see for_env) --------------------------------------
    state_dim: NonNegativeInt = 0  # 0 = not bound to an environment yet
    state_low: tuple[float, ...] = ()  # observation-space bounds: the fixed normalisation map
    state_high: tuple[float, ...] = ()
    n_actions: NonNegativeInt = 0  # Discrete(n_actions); 0 for a Box action space
    action_low: tuple[float, ...] = ()  # Box bounds; empty for a Discrete action space
    action_high: tuple[float, ...] = ()
    segment_len: Size = 19  # T, steps per latent (authors' path_len)
    # --- the model -------------------------------------------------------------------------
    z_size: Size = 8  # latent per segment
    hidden: Size = 256  # encoder and state-decoder LSTM units
    encoder_layers: Size = 2  # bidirectional LSTM layers
    decoder_hidden: tuple[Size, ...] = (128, 128, 128)  # MLP head LSTM -> state step (authors' decoder_hidden_sizes); () = linear
    policy_hidden: Sizes = (400, 300, 200)  # pi(a | s, z) (and its PPO critic)
    min_log_std: float = -5.0  # floor of the decoder's learned log-std (normalised units): no collapse to 0
    # "authors": ReLU MLPs with Xavier-uniform weights and PyTorch's default biases, Xavier on the LSTMs' first layer, a
    # state decoder that outputs the (normalised) state itself. "ours": forget bias 1, a decoder that predicts each
    # step's change from a 0.1-scaled head, and CleanRL's tanh / orthogonal (head gain 0.01) policy.
    init: str = "authors"
    policy_init_std: float = 1.0  # Box: pi's initial std in action units (the authors' Wheeled: 1 rad/s of 20 = 0.05)
    # --- the loss --------------------------------------------------------------------------
    # The authors' kl_weight 2 in every experiment, against the NLL averaged per step (their loss_type "ll" divides
    # by path_len). The "cpu" preset's 0.02 is our departure (docs/BENCHMARKS.md has the runs behind it).
    kl_weight: NonNegative = 2.0
    bc_weight: NonNegative = 100.0  # authors' value; BC is averaged per step, so it is O(1) nats

    def __post_init__(self) -> None:
        for name in ("segment_len", "z_size", "hidden", "encoder_layers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"SectarConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.decoder_hidden and min(self.decoder_hidden) < 1:
            raise ConfigError(f"SectarConfig.decoder_hidden must be positive widths or (), got {self.decoder_hidden}")
        if not self.policy_hidden or min(self.policy_hidden) < 1:
            raise ConfigError(f"SectarConfig.policy_hidden must be positive widths, got {self.policy_hidden}")
        if self.init not in SECTAR_INITS or not self.policy_init_std > 0:
            raise ConfigError(f"SectarConfig.init must be one of {SECTAR_INITS} and policy_init_std > 0, got {self.init!r} and "
                              f"{self.policy_init_std}")  # fmt: skip
        if self.kl_weight < 0 or self.bc_weight < 0:
            raise ConfigError(f"SectarConfig kl_weight and bc_weight must be >= 0, got {self.kl_weight}, {self.bc_weight}")
        if len(self.state_low) != self.state_dim or len(self.state_high) != self.state_dim:
            raise ConfigError(
                f"SectarConfig.state_low/state_high must have state_dim={self.state_dim} entries, "
                f"got {len(self.state_low)} and {len(self.state_high)}; build them with SectarConfig.for_env(env)"
            )
        if len(self.action_low) != len(self.action_high):
            raise ConfigError("SectarConfig.action_low and action_high must have the same length")

    @property
    def bound(self) -> bool:
        return self.state_dim > 0 and (self.n_actions > 0) != bool(self.action_low)

    @property
    def action_space(self) -> gymnasium.spaces.Space:
        if self.n_actions > 0:
            return gymnasium.spaces.Discrete(self.n_actions)
        return gymnasium.spaces.Box(np.array(self.action_low, np.float32), np.array(self.action_high, np.float32))

    def for_env(self, env: Any, *, segment_len: int | None = None) -> SectarConfig:
        """This config bound to ``env``'s spaces (a gymnasium Env or VectorEnv) and segment length.

        ``segment_len`` defaults to the environment config's (``env.unwrapped.sim.config``).
        """
        env = getattr(env, "unwrapped", env)
        obs_space = getattr(env, "single_observation_space", env.observation_space)
        act_space = getattr(env, "single_action_space", env.action_space)
        if not isinstance(obs_space, gymnasium.spaces.Box) or len(obs_space.shape) != 1:
            raise ConfigError(f"SeCTAR needs a flat Box observation space, got {obs_space}")
        if not np.all(np.isfinite(obs_space.low)) or not np.all(np.isfinite(obs_space.high)):
            raise ConfigError("SeCTAR normalises states by the observation-space bounds; they must be finite")
        if segment_len is None:
            segment_len = getattr(getattr(getattr(env, "sim", None), "config", None), "segment_len", self.segment_len)
        fields: dict[str, Any] = {
            "state_dim": int(obs_space.shape[0]),
            "state_low": tuple(float(v) for v in obs_space.low),
            "state_high": tuple(float(v) for v in obs_space.high),
            "segment_len": int(segment_len),
        }
        if isinstance(act_space, gymnasium.spaces.Discrete):
            fields.update(n_actions=int(act_space.n), action_low=(), action_high=())
        elif isinstance(act_space, gymnasium.spaces.Box) and len(act_space.shape) == 1:
            fields.update(n_actions=0, action_low=tuple(map(float, act_space.low)), action_high=tuple(map(float, act_space.high)))
        else:
            raise ConfigError(f"SeCTAR supports Discrete and 1-D Box actions, got {act_space}")
        return dataclasses.replace(self, **fields)


class SeCTAR(nn.Module):
    """The trajectory VAE and its latent-conditioned policy; see the module docstring.

    Shapes: S = state_dim, Z = z_size, T = segment_len. States are raw environment observations
    everywhere in the interface; normalisation happens inside.
    """

    def __init__(self, config: SectarConfig) -> None:
        super().__init__()
        if not config.bound:
            raise ConfigError("SectarConfig is not bound to an environment; build it with config.for_env(env)")
        self.config = c = config
        s, z, h = c.state_dim, c.z_size, c.hidden
        low, high = torch.tensor(c.state_low), torch.tensor(c.state_high)
        # Derived from the config, so not saved with the weights (persistent=False).
        self.register_buffer("state_centre", (low + high) / 2, persistent=False)
        self.register_buffer("state_scale", ((high - low) / 2).clamp(min=1e-6), persistent=False)

        self.encoder = nn.LSTM(s, h, num_layers=c.encoder_layers, batch_first=True, bidirectional=True)
        self.encoder_head = nn.Linear(2 * h, 2 * z)  # -> (mean, log_var)
        self.decoder = nn.LSTMCell(s + z, h)  # fed [previous predicted state, z]
        self.decoder_head = MLP(h, c.decoder_hidden, s)  # the next (normalised) state, or ("ours") its change
        self.state_log_std = nn.Parameter(torch.full((s,), math.log(0.1)))  # learned, state-independent
        authors = c.init == "authors"
        self.policy = ActorCritic(s, c.action_space, hidden=c.policy_hidden, cond_dim=z, act="relu" if authors else "tanh",
                                  init="xavier" if authors else "orthogonal", init_std=c.policy_init_std)  # fmt: skip
        with torch.no_grad():
            if authors:  # traj2vec.nn.weight_inits.xavier_init, applied by their networks' containers
                for name, weight in [*self.encoder.named_parameters(), *self.decoder.named_parameters()]:
                    if name in ("weight_ih_l0", "weight_hh_l0", "weight_ih", "weight_hh"):
                        nn.init.xavier_uniform_(weight)
                xavier_mlp(self.encoder_head), xavier_mlp(self.decoder_head)
            else:
                init_lstm_(self.encoder), init_lstm_(self.decoder)
                self.decoder_head[-1].weight.mul_(0.1)  # start as "stand still": a small first prediction error
                self.decoder_head[-1].bias.zero_()

    # --- normalisation ---------------------------------------------------------------------
    def normalize(self, states: Tensor) -> Tensor:
        """Raw states ``(..., S)`` -> ``(..., S)`` in [-1, 1] by the observation-space bounds."""
        return (states - self.state_centre) / self.state_scale

    def denormalize(self, states: Tensor) -> Tensor:
        return states * self.state_scale + self.state_centre

    # --- q(z | tau) --------------------------------------------------------------------------
    def encode(self, states: Tensor) -> Independent:
        """q(z | s_0..s_T): states ``(B, T+1, S)`` -> diagonal Gaussian, batch (B,), event (Z,)."""
        out, _ = self.encoder(self.normalize(states))  # (B, T+1, 2H)
        mean, log_var = self.encoder_head(out.mean(dim=1)).chunk(2, dim=-1)  # mean-pooled over time
        return diagonal_gaussian(mean, log_var.clamp(-10.0, 5.0))

    # --- p(s_1..T | s_0, z) ------------------------------------------------------------------
    def _predict_normalized(self, s0: Tensor, z: Tensor) -> Tensor:
        """Open-loop means in normalised units: s0 ``(N, S)`` raw, z ``(N, Z)`` -> ``(N, T, S)``."""
        s = self.config.state_dim
        w_ih = self.decoder.weight_ih
        z_gates = F.linear(z, w_ih[:, s:], self.decoder.bias_ih)  # (N, 4H): z is the same every step
        x = self.normalize(s0)
        h = torch.zeros(len(s0), self.config.hidden, device=s0.device, dtype=s0.dtype)
        state = (h, torch.zeros_like(h))
        means = []
        for _ in range(self.config.segment_len):  # each step sees only its own previous prediction
            state = lstm_cell(F.linear(x, w_ih[:, :s]) + z_gates, state, self.decoder.weight_hh, self.decoder.bias_hh)
            step = self.decoder_head(state[0])
            x = step if self.config.init == "authors" else x + step  # ours: residual, states change little per step
            means.append(x)
        return torch.stack(means, dim=1)  # (N, T, S)

    def predict(self, s0: Tensor, z: Tensor) -> Tensor:
        """Predicted mean states s_1..s_T, raw units: s0 ``(N, S)``, z ``(N, Z)`` -> ``(N, T, S)``.

        Starts from the true s_0 and feeds back its own predictions: it never sees s_1.., so a
        planner can call it for states it has not visited (no environment calls).
        """
        return self.denormalize(self._predict_normalized(s0, z))

    def step_log_probs(self, s0: Tensor, z: Tensor, states: Tensor) -> Tensor:
        """log p(s_t | s_0, z) of each step, nats of normalised states: states ``(N, T, S)`` -> ``(N, T)``."""
        mean = self._predict_normalized(s0, z)
        return gaussian(mean, self.state_log_std.clamp(min=self.config.min_log_std), event_dims=1).log_prob(
            self.normalize(states)
        )

    def state_log_prob(self, s0: Tensor, z: Tensor, states: Tensor) -> Tensor:
        """log p(s_1..s_T | s_0, z) (sum over steps and state dims): ``(N,)`` nats of normalised states."""
        return self.step_log_probs(s0, z, states).sum(dim=1)

    # --- pi(a | s, z) ------------------------------------------------------------------------
    def policy_inputs(self, states: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        """What :attr:`policy` reads: (normalised states ``(..., S)``, z broadcast to ``(..., Z)``)."""
        return self.normalize(states), z.expand(*states.shape[:-1], z.shape[-1])


def sectar_loss(
    model: SeCTAR, states: Tensor, actions: Tensor, config: SectarConfig | None = None
) -> tuple[Tensor, dict[str, Tensor]]:
    """SeCTAR's supervised loss on segments (paper eq. 1 + the authors' behaviour cloning).

    loss = E_q[-log p(s_1..T | s_0, z)] / T + kl_weight * KL(q(z | tau) || N(0, I))
           + bc_weight * mean_t[-log pi(a_t | s_t, z)],   z ~ q(z | tau) (one reparameterised sample)

    The authors' reductions (``traj2vec/algos/vae_bc.py``: ``neg_ll = -log_likelihood / path_len``
    with the log-likelihood summed over all T x S outputs, the KL summed over the latent dims, BC
    averaged over steps): the ELBO of :func:`zspace.core.objectives.elbo_terms` (sum over event
    dims, mean over the batch) with the per-step log-likelihood as its reconstruction term, so a
    KL weight w prices one nat of KL at w T nats of trajectory NLL.

    Args:
        states: ``(B, T+1, S)`` raw s_0..s_T. actions: ``(B, T)`` (Discrete) or ``(B, T, A)``: a_0..a_{T-1}.
        config: loss weights (default ``model.config``).

    Returns:
        ``(loss, metrics)``; metrics (detached): ``loss``, ``nll_per_step``, ``kl``, ``bc``, ``elbo_per_step``.
    """
    config = config or model.config
    batch, horizon = states.shape[0], states.shape[1] - 1
    posterior = model.encode(states)
    z = posterior.rsample()  # (B, Z)
    log_likelihood_per_step = model.state_log_prob(states[:, 0], z, states[:, 1:]) / horizon  # (B,)
    elbo = elbo_terms(log_likelihood_per_step, kl_from_posterior(posterior), beta=config.kl_weight)
    obs, cond = model.policy_inputs(states[:, :-1], z[:, None, :])  # (B, T, S), (B, T, Z)
    flat_actions = actions.reshape(batch * horizon, *actions.shape[2:])
    log_pi = model.policy.distribution(obs.reshape(batch * horizon, -1), cond.reshape(batch * horizon, -1)).log_prob(flat_actions)
    bc = -log_pi.mean()
    loss = elbo.loss + config.bc_weight * bc
    metrics = {
        "loss": loss.detach(),
        "nll_per_step": elbo.reconstruction.detach(),
        "kl": elbo.kl.detach(),
        "bc": bc.detach(),
        "elbo_per_step": -(elbo.reconstruction + elbo.kl / horizon).detach(),
    }
    return loss, metrics


def consistency_error(model: SeCTAR, s0: Tensor, z: Tensor, states: Tensor) -> Tensor:
    """How far the policy's real trajectory is from what the decoder predicts for the same z.

    s0 ``(N, S)``, z ``(N, Z)``, states ``(N, T, S)`` the states the policy actually reached
    (raw units). Returns ``(N,)``: the mean over the T steps of the Euclidean distance between
    predicted and real states, in raw units (metres for positions).
    """
    with torch.no_grad():
        return (model.predict(s0, z) - states).norm(dim=-1).mean(dim=1)
