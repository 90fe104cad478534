"""SeCTAR's run configuration and its presets: the authors' as the defaults, ours as the "cpu" preset.

:class:`SectarTrainConfig` (model, explorer, planner and schedule) defaults are the authors'
Waypoints experiment (``exps/waypoint/waypoint_discrete_exp.py`` driving
``traj2vec/algos/vaepdentropy.py``); :meth:`SectarTrainConfig.for_task` applies their per-task
values (``exps/block/block_exp.py``, ``exps/wheeled/explore_exp.py``). :data:`PRESETS` is the one
registry of complete configs: ``"paper"`` (the authors'), ``"cpu"`` (ours, sized for one CPU
thread; the CLI's default) and ``"paper-small"``. Each of ``"cpu"``'s departures is a named field,
off in ``"paper"``:

- ``buffer_planning`` / ``buffer_consistency``: the planning episodes' and the consistency
  rollouts' segments join the VAE's data (the authors add only the explorer's);
- ``decoder_consistency``: also fit the state decoder to what the policy reached for the same z;
- ``explore_reward="per_step"``: the explorer's negative ELBO spread over each segment's steps;
- ``plan_shaping="distance"``: a tie-break of the sparse planning reward (see :mod:`zspace.rl.planner`);
- a small model (KL weight 0.02, 64-unit LSTMs, linear heads, our initialisation and residual
  decoder: ``SectarConfig.init="ours"``), 1 planning episode of K 256 and
  H 3, 16 explorer rollouts of one segment, 4 rounds of 20 minibatches of 64, gradient clipping.

``"paper-small"`` is the authors' configuration with only the network sizes (64-unit LSTMs, a
(64, 64, 64) decoder head, (128, 128) policy and explorer) and K (256) shrunk.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from zspace.core.config import Registry
from zspace.core.constraints import Interval, NonNegativeInt, Positive, Size, configclass
from zspace.errors import ConfigError
from zspace.rl.exploration import ExplorerConfig
from zspace.rl.planner import PLAN_METHODS, SHAPINGS, PlanMethod, Shaping
from zspace.rl.ppo import PPOConfig
from zspace.rl.sectar.model import SectarConfig

__all__ = ["ALIASES", "EXPLORE_REWARDS", "PAPER_TASKS", "PRESETS", "SectarTrainConfig"]

EXPLORE_REWARDS = ("segment_end", "per_step")
# Every candidate's latent sequence and decoded rollout are held at once (K x H segments of
# T states): 2^16 is 32x the authors' 2048 and still fits; 10^8 would need terabytes.
Candidates = Annotated[int, Interval(1, 2**16)]


def _paper_explorer() -> ExplorerConfig:
    """The authors' explorer: a (400, 300, 200) policy, PPO 10 epochs of minibatches of 200 (400 x 99 steps), lr 3e-4."""
    return ExplorerConfig(hidden=(400, 300, 200), ppo=PPOConfig(update_epochs=10, n_minibatches=198, ent_coef=0.0),
                          reward_scale=0.1, reset_entropy=1.34, act="relu", init="xavier")  # fmt: skip


@configclass
class SectarTrainConfig:
    """The outer loop; defaults are the authors' Waypoints experiment (``exps/waypoint/waypoint_discrete_exp.py``)."""

    model: SectarConfig = dataclasses.field(default_factory=SectarConfig)  # the authors'; bound to the env in train_sectar
    explorer: ExplorerConfig = dataclasses.field(default_factory=_paper_explorer)
    # Consistency PPO (authors: epoch 10, ppo_batch_size 200 over 20 x 19 steps); no value clipping (returns are nats).
    consistency: PPOConfig = dataclasses.field(
        default_factory=lambda: PPOConfig(update_epochs=10, n_minibatches=2, clip_vloss=False, ent_coef=0.0)
    )
    consistency_reward_scale: float = 0.1  # nats -> reward units for our critic (advantages are normalised anyway)
    consistency_rollouts: Size = 20  # segments per consistency step (authors' train_pd_match_sd(dataset, 20))
    # planning (authors: mpc_batch 40, mpc_explore 2048, mpc_plan 10, discount_factor 0.99, sparse reward)
    plan_episodes: Size = 40
    n_candidates: Candidates = 2048
    plan_horizon: Size = 10
    plan_method: PlanMethod = "shooting"  # LatentMPC only (plan_episode); the training loop shoots, as the authors
    plan_shaping: Shaping = "none"
    plan_discount: float = 0.99
    plan_greedy: bool = False  # execute sampled actions (the consistency step trains sampled ones)
    plan_chunk: Size | None = None  # episodes per decoder call (None: all; the authors planned 5 at a time)
    # exploration (authors: mpc_explore_step 400 starts, mpc_explore_len 5 segments, reward at each segment's end)
    explore_starts: NonNegativeInt = 400
    explore_segments: Size = 5
    explore_reward: str = "segment_end"
    # data and optimisation (authors: batch_size 300, vae_train_steps 30, train_vae_after_add 10, Adam 1e-3)
    buffer_segments: Size = 36_000  # the oldest are overwritten beyond this (authors' Waypoints: 1800 x 20)
    buffer_planning: bool = False  # ours: the planning episodes' segments join the data too
    buffer_consistency: bool = False  # ours: the consistency rollouts join the data too
    decoder_consistency: bool = False  # ours: also fit the state decoder to the policy's rollouts for the same z
    batch_size: Size = 300
    lr: Positive = 1e-3
    grad_clip: Positive | None = None  # the authors do not clip
    rounds: Size = 10  # (vae_steps minibatches + one consistency step) per iteration
    vae_steps: NonNegativeInt = 30

    def __post_init__(self) -> None:
        names = ("consistency_rollouts", "plan_episodes", "n_candidates", "plan_horizon", "explore_segments",
                 "buffer_segments", "batch_size", "rounds")  # fmt: skip
        for name in names:
            if getattr(self, name) < 1:
                raise ConfigError(f"SectarTrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("explore_starts", "vae_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"SectarTrainConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.plan_method not in PLAN_METHODS:
            raise ConfigError(f"SectarTrainConfig.plan_method must be one of {PLAN_METHODS}, got {self.plan_method!r}")
        if self.plan_shaping not in SHAPINGS:
            raise ConfigError(f"SectarTrainConfig.plan_shaping must be one of {SHAPINGS}, got {self.plan_shaping!r}")
        if self.explore_reward not in EXPLORE_REWARDS:
            raise ConfigError(f"SectarTrainConfig.explore_reward must be one of {EXPLORE_REWARDS}, got {self.explore_reward!r}")
        if not self.lr > 0 or not self.consistency_reward_scale > 0 or not 0 < self.plan_discount <= 1:
            raise ConfigError("SectarTrainConfig.lr and consistency_reward_scale must be > 0, plan_discount in (0, 1]")

    @classmethod
    def for_task(cls, env_id: str, base: SectarTrainConfig | None = None) -> SectarTrainConfig:
        """``base`` (default: the authors' configuration) with the authors' values for ``env_id``.

        Only the fields the authors set per task change (``exps/block/block_exp.py``,
        ``exps/wheeled/explore_exp.py``); a preset of ours keeps its own planner and explorer.
        """
        base = cls() if base is None else base
        if base.explore_reward != "segment_end":  # ours: nothing per task
            return base
        task = PAPER_TASKS.get(env_id, {})
        explorer = dataclasses.replace(base.explorer, **task.get("explorer", {}))
        model = dataclasses.replace(base.model, **task.get("model", {}))
        rest = {k: v for k, v in task.items() if k not in ("explorer", "model")}
        return dataclasses.replace(base, explorer=explorer, model=model, **rest)


# The authors' per-task values; unlisted fields are as the Waypoints experiment. Their buffers of 1e6 segments are
# capped at 1e5 here (memory; an iteration adds ~3,600). Explorer minibatches: 200 samples of 400 x 199 steps.
WHEEL_RAD_S = 20.0  # rad/s per unit of Wheeled's action (the authors' actuators' ctrlrange)
PAPER_TASKS: dict[str, dict[str, Any]] = {
    "zspace/Blocks-v0": {"explore_segments": 10, "plan_discount": 0.995, "buffer_segments": 100_000,
                         "explorer": {"reset_entropy": 1.6, "ppo": PPOConfig(update_epochs=10, n_minibatches=398, ent_coef=0.0)}},
    # Wheeled's actions are fractions of the authors' +-20 rad/s: their initial stds (policy log_var log 1, explorer
    # log_var log 20, in rad/s) and their entropy threshold (nats of rad/s) in our units
    "zspace/Wheeled-v0": {"explore_segments": 10, "plan_horizon": 20, "buffer_segments": 100_000,
                          "model": {"policy_init_std": 1 / WHEEL_RAD_S},
                          "explorer": {"reset_entropy": 0.0, "init_std": WHEEL_RAD_S**0.5 / WHEEL_RAD_S, "action_scale": WHEEL_RAD_S,
                                       "ppo": PPOConfig(update_epochs=10, n_minibatches=398, ent_coef=1e-3)}},
    # exps/swimmer/swimmer_explore.py: mpc_batch 20, mpc_plan 30, 200 explorer starts of 2 segments (of 99 steps)
    "zspace/SwimmerWaypoints-v1": {"plan_episodes": 20, "plan_horizon": 30, "explore_starts": 200, "explore_segments": 2,
                                   "buffer_segments": 100_000, "explorer": {"reset_entropy": 0.0,
                                   "ppo": PPOConfig(update_epochs=10, n_minibatches=199, ent_coef=1e-3)}},
}  # fmt: skip
PAPER_TASKS["zspace/Wheeled-v1"] = PAPER_TASKS["zspace/Wheeled-v0"]  # the same task and action units, in MuJoCo

PRESETS: Registry[SectarTrainConfig] = Registry("SeCTAR")
PRESETS.register("paper", SectarTrainConfig())
# Ours for one CPU thread (minutes per seed); its departures from "paper" are listed in docs/BENCHMARKS.md. The model:
# 64-unit LSTMs, a one-layer encoder, linear heads and a (128, 128) policy make planning and minibatches ~10x cheaper.
PRESETS.register("cpu", SectarTrainConfig(
    model=SectarConfig(hidden=64, encoder_layers=1, decoder_hidden=(), policy_hidden=(128, 128), kl_weight=0.02, init="ours"),
    explorer=ExplorerConfig(),
    consistency=PPOConfig(update_epochs=2, n_minibatches=2, clip_vloss=False, ent_coef=0.0), consistency_rollouts=16,
    plan_episodes=1, n_candidates=256, plan_horizon=3, plan_shaping="distance", explore_starts=16, explore_segments=1,
    explore_reward="per_step", buffer_segments=20_000, buffer_planning=True, buffer_consistency=True,
    decoder_consistency=True, batch_size=64, grad_clip=10.0, rounds=4, vae_steps=20,
))  # fmt: skip
# The authors' algorithm, schedule and KL weight 2 with only the networks and K shrunk to CPU sizes: it separates
# what the sizes change from what the "cpu" preset's algorithmic departures change.
PRESETS.register("paper-small", SectarTrainConfig(
    model=SectarConfig(hidden=64, decoder_hidden=(64, 64, 64), policy_hidden=(128, 128)),
    explorer=dataclasses.replace(_paper_explorer(), hidden=(128, 128)), n_candidates=256,
))  # fmt: skip
ALIASES = {"small": "cpu"}  # old names the CLI still accepts (with a message naming the new one)
