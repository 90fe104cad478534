"""SeCTAR's online outer loop: plan, explore, fit the trajectory VAE, make the policy self-consistent.

Co-Reyes et al. (ICML 2018), Algorithm 1, with the data set starting empty and growing online.
Each iteration:

1. **plan** one episode with :class:`~zspace.rl.planner.LatentMPC` on the task's own progress
   function: at every segment, search K sequences of H latents through the state decoder, run the
   first latent with the policy decoder for ``segment_len`` steps (sampled actions by default),
   replan. Its return is what the learning curve records;
2. **explore** from states that episode visited with the explorer (:mod:`zspace.rl.exploration`),
   rewarded by the model's negative ELBO of its segments;
3. ``rounds`` x (``vae_steps`` minibatches of :func:`~zspace.rl.sectar.sectar_loss`, then one
   **consistency** PPO step): the policy runs z ~ N(0, I) from start states in the buffer and is
   rewarded per step by the decoder's log-likelihood of the state it actually reached.

Every environment step (planning, exploration, consistency rollouts) counts toward the budget,
and every segment collected goes into the buffer. Exploration and consistency rollouts restart
``num_envs`` vectorised copies at buffer states (``reset(options={"state": S})``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch
from safetensors.torch import save
from torch import Tensor

from zspace.core.config import from_dict, to_dict
from zspace.core.io import atomic_write
from zspace.core.seeds import derive_seed
from zspace.errors import CheckpointError, ConfigError, TrainingDivergedError
from zspace.rl.exploration import Explorer, ExplorerConfig, novelty_rewards
from zspace.rl.planner import PLAN_METHODS, SHAPINGS, LatentMPC, Plan
from zspace.rl.policy import ActorCritic, sample_action
from zspace.rl.ppo import PPOConfig, RolloutBatch, gae, ppo_update
from zspace.rl.results import LearningCurve
from zspace.rl.sectar import SECTAR_PRESETS, SeCTAR, SectarConfig, consistency_error, sectar_loss
from zspace.train.checkpoint import CONFIG, WEIGHTS, load_weights, read_config, write_json_atomic

__all__ = ["SectarTrainConfig", "SegmentBuffer", "load_sectar", "save_sectar", "train_sectar"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SectarTrainConfig:
    """The outer loop. Defaults are the CPU preset the benchmark runs (one thread, minutes per seed)."""

    model: SectarConfig = dataclasses.field(default_factory=lambda: SECTAR_PRESETS["small"])  # bound to the env in train_sectar
    explorer: ExplorerConfig = dataclasses.field(default_factory=ExplorerConfig)
    # Consistency PPO: one short update per round; no value clipping (its returns are tens of nats).
    consistency: PPOConfig = dataclasses.field(
        default_factory=lambda: PPOConfig(update_epochs=2, n_minibatches=2, clip_vloss=False, ent_coef=0.0)
    )
    consistency_reward_scale: float = 0.1  # nats -> reward units: keeps the critic's targets O(1-10)
    num_envs: int = 16  # vectorised copies for exploration and consistency rollouts
    # planning (the authors: K 2048, H 10; K 256, H 3 keep a plan under ~50 ms on one CPU thread)
    n_candidates: int = 256
    plan_horizon: int = 3
    plan_method: str = "shooting"
    # Tie-break the sparse reward by targets completed and the distance to the next one (see planner): with
    # "stage" alone most of K candidates score 0 and the choice is random (Waypoints: 3.0 vs ~0.1 at 40k steps).
    plan_shaping: str = "distance"
    # Execute sampled actions, as the consistency step trains them: the decoder's prediction is the mean of
    # *sampled* segments, and with an informative latent (kl_weight 0.02) the mode of pi(a | s, z) overshoots it.
    # Waypoints at 60k steps, 8 planning episodes of the final model: sampled 4.0 / 4.6 vs greedy 2.9 / 2.9 (seeds 0 / 1).
    # (With the old kl_weight 2 greedy was better, 3.0 vs 1.2: the near-uninformative skills needed the mode.)
    plan_greedy: bool = False
    # data and optimisation
    explore_rounds: int = 1  # batches of num_envs explorer segments per iteration
    buffer_segments: int = 20_000  # the oldest are overwritten beyond this
    batch_size: int = 64
    lr: float = 1e-3
    grad_clip: float = 10.0  # BC weight 100 makes early gradients large
    rounds: int = 4  # (vae_steps minibatches + one consistency step) per iteration
    vae_steps: int = 20  # data is scarce and compute is not: many updates per segment collected
    # Whether the consistency step's own rollouts join the VAE's data. The authors' loop adds only the explorer's
    # segments; ours make ~2/3 of all steps, so with them the data drifts towards the policy's own behaviour.
    buffer_consistency: bool = True
    # The other half of self-consistency: also fit the state decoder, by maximum likelihood, to what the policy
    # reached for the same prior z (the consistency term trained w.r.t. both decoders). Without it the decoder
    # learns only from encoded segments and the planner exploits its errors. bench/sectar.py, 3 seeds, 100k steps:
    # Blocks 0.50 +- 0.10 vs 0.12 +- 0.10 without; Waypoints 3.03 +- 1.60 vs 3.67 +- 1.39 (noise); the final
    # consistency error on Waypoints 0.25-0.28 m vs 0.37-1.06 m.
    decoder_consistency: bool = True

    def __post_init__(self) -> None:
        for name in ("num_envs", "n_candidates", "plan_horizon", "buffer_segments", "batch_size", "rounds"):
            if getattr(self, name) < 1:
                raise ConfigError(f"SectarTrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("explore_rounds", "vae_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"SectarTrainConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.plan_method not in PLAN_METHODS:
            raise ConfigError(f"SectarTrainConfig.plan_method must be one of {PLAN_METHODS}, got {self.plan_method!r}")
        if self.plan_shaping not in SHAPINGS:
            raise ConfigError(f"SectarTrainConfig.plan_shaping must be one of {SHAPINGS}, got {self.plan_shaping!r}")
        if not self.lr > 0 or not self.consistency_reward_scale > 0:
            raise ConfigError("SectarTrainConfig.lr and consistency_reward_scale must be > 0")


class SegmentBuffer:
    """A ring buffer of segments: states ``(capacity, T+1, S)`` float32, actions ``(capacity, T, ...)``."""

    def __init__(self, capacity: int, horizon: int, state_dim: int, action_shape: tuple[int, ...], action_dtype: torch.dtype):
        self.states = torch.zeros(capacity, horizon + 1, state_dim)
        self.actions = torch.zeros(capacity, horizon, *action_shape, dtype=action_dtype)
        self.capacity, self.size, self.next = capacity, 0, 0

    def add(self, states: Tensor, actions: Tensor) -> None:
        for s, a in zip(states, actions, strict=True):
            self.states[self.next], self.actions[self.next] = s, a
            self.next = (self.next + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        index = torch.randint(self.size, (n,), generator=generator)
        return self.states[index], self.actions[index]


def _check_finite(what: str, value: Tensor | np.ndarray | float, iteration: int, env_steps: int) -> None:
    """Raise :class:`TrainingDivergedError` naming ``what`` and the iteration if ``value`` has a NaN/inf."""
    array = value.detach().cpu().numpy() if isinstance(value, Tensor) else np.asarray(value)
    if not np.all(np.isfinite(array)):
        raise TrainingDivergedError(
            f"SeCTAR {what} is not finite ({array.ravel()[~np.isfinite(array.ravel())][0]}) at iteration {iteration} "
            f"({env_steps} env steps); lower SectarTrainConfig.lr or check the environment's observations"
        )


@torch.no_grad()
def rollout_segments(
    envs: gymnasium.vector.VectorEnv, starts: np.ndarray, horizon: int, act: Callable[[Tensor], torch.distributions.Distribution]
) -> dict[str, Tensor]:
    """Restart ``envs`` at ``starts (N, S)`` and run ``act(states (N, S)) -> pi`` (sampled) for ``horizon`` steps.

    Returns ``states (N, T+1, S)``, ``actions (N, T, ...)``, ``logprobs (N, T)`` and ``valid (N,)``
    (False where an episode ended inside the segment, whose states then mix two episodes).
    """
    obs, _ = envs.reset(options={"state": starts})
    states, actions, logprobs = [torch.as_tensor(obs)], [], []
    valid = np.ones(len(starts), dtype=bool)
    for t in range(horizon):
        dist = act(states[-1])
        action = dist.sample()
        obs, _, terminated, truncated, _ = envs.step(action.numpy())
        if t < horizon - 1:
            valid &= ~(terminated | truncated)
        states.append(torch.as_tensor(obs)), actions.append(action), logprobs.append(dist.log_prob(action))
    return {
        "states": torch.stack(states, dim=1),
        "actions": torch.stack(actions, dim=1),
        "logprobs": torch.stack(logprobs, dim=1),
        "valid": torch.as_tensor(valid),
    }


def _ppo_batch(
    agent: ActorCritic,
    obs: Tensor,
    actions: Tensor,
    logprobs: Tensor,
    rewards: Tensor,
    config: PPOConfig,
    cond: Tensor | None = None,
) -> RolloutBatch:
    """Segments as independent episodes: obs ``(N, T+1, ...)`` (s_0..s_T), the rest ``(N, T, ...)``; no bootstrap at T."""
    n, horizon = rewards.shape
    flat_obs = obs[:, :-1].reshape(n * horizon, -1)
    flat_cond = None if cond is None else cond[:, None].expand(n, horizon, cond.shape[-1]).reshape(n * horizon, -1)
    with torch.no_grad():
        values = agent.get_value(flat_obs, flat_cond).reshape(n, horizon)
    zeros = torch.zeros(horizon, n)
    advantages, returns = gae(
        rewards.T, values.T, zeros, torch.zeros(n), torch.ones(n), gamma=config.gamma, lam=config.gae_lambda
    )  # (T, N)
    return RolloutBatch(
        obs=flat_obs, actions=actions.reshape(n * horizon, *actions.shape[2:]), logprobs=logprobs.reshape(-1),
        advantages=advantages.T.reshape(-1), returns=returns.T.reshape(-1), values=values.reshape(-1), cond=flat_cond,
    )  # fmt: skip


def plan_episode(
    env: gymnasium.Env,
    model: SeCTAR,
    config: SectarTrainConfig,
    *,
    seed: int,
    on_segment: Callable[[Plan, np.ndarray, int], None] | None = None,
) -> tuple[float, bool, list[np.ndarray], list[np.ndarray], int]:
    """One planning episode (layout, latents and sampled actions drawn from ``seed``: reproducible).

    ``on_segment(plan, states (t+1, S), stage)`` is called after each executed segment with the
    plan chosen for it, the states it visited and the stage reached (figures use it).
    Returns (return, success, the full segments' states ``(T+1, S)`` and actions, env steps taken).
    """
    c = model.config
    n_segments = env.unwrapped.max_episode_steps // c.segment_len
    obs, info = env.reset(seed=seed)
    mpc = LatentMPC(
        model.predict, env.unwrapped.progress, z_size=c.z_size, horizon=config.plan_horizon,
        n_candidates=config.n_candidates, method=config.plan_method, shaping=config.plan_shaping,
        distance=env.unwrapped.distance_to_go, seed=seed,
    )  # fmt: skip
    total, steps, done = 0.0, 0, False
    seg_states, seg_actions = [], []
    generator = torch.Generator().manual_seed(seed)
    for k in range(n_segments):
        plan = mpc.plan(obs, int(info["stage"]), horizon=min(mpc.horizon, n_segments - k))
        states, actions = [obs], []
        for _ in range(c.segment_len):
            with torch.no_grad():
                dist = model.policy.distribution(*model.policy_inputs(torch.as_tensor(obs)[None], plan.z[None]))
            action = sample_action(dist, greedy=config.plan_greedy, generator=generator)[0].numpy()
            obs, reward, terminated, truncated, info = env.step(action)
            total, steps = total + float(reward), steps + 1
            states.append(obs), actions.append(action)
            if terminated or truncated:
                done = True
                break
        if on_segment is not None:
            on_segment(plan, np.stack(states), int(info["stage"]))
        if len(actions) == c.segment_len:
            seg_states.append(np.stack(states)), seg_actions.append(np.stack(actions))
        if done:
            break
    return total, bool(info["is_success"]), seg_states, seg_actions, steps


def train_sectar(
    env_id: str,
    *,
    total_env_steps: int,
    seed: int = 0,
    config: SectarTrainConfig = SectarTrainConfig(),
    env_kwargs: dict[str, Any] | None = None,
    log: Callable[[int, dict[str, float]], None] | None = None,
    on_iteration: Callable[[SeCTAR, LearningCurve, int], None] | None = None,
) -> tuple[SeCTAR, LearningCurve]:
    """Train SeCTAR online on ``env_id`` within ``total_env_steps`` environment steps.

    The curve records, after each planning episode, the total env steps so far and that episode's
    return and success. Everything random derives from ``seed`` (weights, actions, latents,
    minibatches, layouts), so a CPU run is reproducible; torch's global RNG is restored after.
    ``log(env_steps, metrics)`` receives ``sectar/*``, ``consistency/*`` and ``explore/*`` each iteration;
    ``on_iteration(model, curve, env_steps)`` is called after it (e.g. to save a checkpoint; the
    model is in train mode and must not be changed).

    Raises:
        TrainingDivergedError: a loss or reward became NaN/inf (the message names the iteration).
    """
    import zspace.rl.envs  # noqa: F401 - registers the zspace/... ids

    kwargs = dict(env_kwargs or {})
    env = gymnasium.make(env_id, **kwargs)
    envs = gymnasium.make_vec(env_id, num_envs=config.num_envs, **kwargs)
    mc = config.model.for_env(env)
    episode_len = env.unwrapped.max_episode_steps
    if total_env_steps < episode_len:
        raise ConfigError(f"total_env_steps={total_env_steps} is less than one {env_id} episode ({episode_len} steps)")
    curve = LearningCurve(method="sectar", env_id=env_id, seed=seed)
    start_time = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        rng = np.random.default_rng(seed)
        model = SeCTAR(mc)
        explorer = Explorer(mc.state_dim, mc.action_space, config.explorer, generator=generator)
        vae_opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        policy_opt = torch.optim.Adam(model.policy.parameters(), lr=config.consistency.lr, eps=1e-5)
        policy = model.policy
        buffer = SegmentBuffer(config.buffer_segments, mc.segment_len, mc.state_dim, policy.action_shape,
                               torch.int64 if policy.discrete else torch.float32)  # fmt: skip
        envs.reset(seed=seed + 1)
        segment_steps = config.num_envs * mc.segment_len
        env_steps, iteration = 0, 0

        def afford(steps: int) -> bool:
            return env_steps + steps <= total_env_steps

        def add(roll: dict[str, Tensor]) -> None:
            buffer.add(roll["states"][roll["valid"]], roll["actions"][roll["valid"]])

        while afford(episode_len):
            iteration += 1
            metrics: dict[str, float] = {}
            # 1. plan one episode
            model.eval()
            ret, success, states, actions, steps = plan_episode(
                env, model, config, seed=derive_seed(seed, "plan-episode", iteration)
            )
            _check_finite("planning return", ret, iteration, env_steps)
            env_steps += steps
            curve.record(env_steps, ret, float(success))
            if states:
                buffer.add(torch.as_tensor(np.stack(states)), torch.as_tensor(np.stack(actions)))
            visited = np.concatenate([s[:-1] for s in states]) if states else buffer.states[: buffer.size, 0].numpy()
            model.train()
            # 2. explore from visited states
            for _ in range(config.explore_rounds):
                if not afford(segment_steps) or len(visited) == 0:
                    break
                starts = visited[rng.integers(len(visited), size=config.num_envs)]
                roll = rollout_segments(envs, starts, mc.segment_len, lambda s: explorer.agent.distribution(model.normalize(s)))
                env_steps += segment_steps
                rewards = novelty_rewards(model, roll["states"]) * config.explorer.reward_scale
                _check_finite("exploration reward", rewards, iteration, env_steps)
                add(roll)
                obs = model.normalize(roll["states"])
                batch = _ppo_batch(explorer.agent, obs, roll["actions"], roll["logprobs"], rewards, config.explorer.ppo)
                metrics.update(explorer.update(batch))
                metrics["explore/neg_elbo_per_step"] = rewards.mean().item() / config.explorer.reward_scale
            # 3. rounds of VAE minibatches + one consistency step
            for _ in range(config.rounds):
                if buffer.size == 0:
                    break
                for _ in range(config.vae_steps):
                    loss, terms = sectar_loss(model, *buffer.sample(config.batch_size, generator))
                    _check_finite("loss", loss, iteration, env_steps)
                    vae_opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                    vae_opt.step()
                    metrics.update({f"sectar/{k}": v.item() for k, v in terms.items()})
                if not afford(segment_steps):
                    continue
                metrics.update(
                    _consistency_step(model, policy_opt, vae_opt, envs, buffer, config, generator, iteration, env_steps)
                )
                env_steps += segment_steps
            metrics["charts/buffer_segments"] = float(buffer.size)
            metrics["charts/return"] = ret
            if log is not None:
                log(env_steps, metrics)
            if on_iteration is not None:
                on_iteration(model, curve, env_steps)
        curve.extra.update({k: v for k, v in metrics.items() if k.startswith(("consistency/", "sectar/"))})
    env.close()
    envs.close()
    curve.wall_s = time.perf_counter() - start_time
    curve.extra.update(iterations=iteration, env_steps=env_steps, explorer_resets=explorer.resets)
    return model, curve


def _consistency_step(model, optimizer, vae_opt, envs, buffer, config, generator, iteration, env_steps) -> dict[str, float]:
    """Run pi(a | s, z), z ~ N(0, I), from buffer start states; PPO on the decoder's log-likelihood of what it reached
    (and, with ``config.decoder_consistency``, one maximum-likelihood step of the decoder on those segments)."""
    mc = model.config
    starts = buffer.sample(config.num_envs, generator)[0][:, 0]  # (N, S) start states s_0
    z = torch.randn(config.num_envs, mc.z_size, generator=generator)
    roll = rollout_segments(envs, starts.numpy(), mc.segment_len, lambda s: model.policy.distribution(*model.policy_inputs(s, z)))
    states, valid = roll["states"], roll["valid"]
    with torch.set_grad_enabled(config.decoder_consistency):  # the decoder's own step below reuses this pass
        step_log_probs = model.step_log_probs(states[:, 0], z, states[:, 1:])  # (N, T)
    log_probs = step_log_probs.detach()
    _check_finite("consistency reward", log_probs, iteration, env_steps)
    if config.buffer_consistency:
        buffer.add(states[valid], roll["actions"][valid])
    batch = _ppo_batch(
        model.policy, model.normalize(states), roll["actions"], roll["logprobs"], log_probs * config.consistency_reward_scale,
        config.consistency, cond=z,
    )  # fmt: skip
    metrics = ppo_update(model.policy, optimizer, batch, config.consistency, generator=generator)
    out = {f"consistency/{k.split('/')[-1]}": v for k, v in metrics.items()}
    out["consistency/log_prob_per_step"] = log_probs.mean().item()
    out["consistency/error"] = consistency_error(model, states[:, 0], z, states[:, 1:]).mean().item()
    if config.decoder_consistency and valid.any():
        nll = -step_log_probs[valid].sum(dim=1).mean() / mc.segment_len
        vae_opt.zero_grad()
        nll.backward()  # reaches the state decoder (and its log-std) only
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        vae_opt.step()
        out["consistency/decoder_nll_per_step"] = nll.item()
    return out


# --- checkpoints --------------------------------------------------------------------------------
def save_sectar(run_dir: str | os.PathLike, model: SeCTAR, config: SectarTrainConfig | None = None) -> Path:
    """Write ``run_dir/model.safetensors`` and ``run_dir/config.json`` (``{"model": ..., "train": ...}``)."""
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    atomic_write(
        run / WEIGHTS, lambda f: f.write(save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}))
    )
    write_json_atomic(run / CONFIG, {"model": to_dict(model.config), "train": None if config is None else to_dict(config)})
    return run


def load_sectar(run_dir: str | os.PathLike) -> SeCTAR:
    """Rebuild the model from ``run_dir/config.json`` and load ``run_dir/model.safetensors`` into it.

    Raises:
        CheckpointError: a file is missing, the config is invalid, or the weights do not match it.
    """
    data = read_config(run_dir)
    file = Path(run_dir) / CONFIG
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise CheckpointError(f"{file} has no 'model' section: it was not written by save_sectar")
    try:
        config = from_dict(SectarConfig, data["model"], where=f"{file}: model")
        model = SeCTAR(config)
    except ConfigError as err:
        raise CheckpointError(f"{file} does not describe a SeCTAR model: {err}") from err
    return load_weights(model, run_dir).eval()
