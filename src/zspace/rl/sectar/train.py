"""SeCTAR's online outer loop: plan, explore, fit the trajectory VAE, make the policy self-consistent.

Co-Reyes et al. (ICML 2018), Algorithm 1, as the authors' ``VAEPDEntropy.train`` runs it
(``traj2vec/algos/vaepdentropy.py``), the data set starting empty. Each iteration:

1. **plan** ``plan_episodes`` episodes in parallel (:func:`~zspace.rl.sectar.plan.plan_episodes`;
   the authors' ``mpc_batch`` 40): every segment, K latent sequences per episode through the state
   decoder, the best first latent executed by the policy decoder. Their returns make the curve;
2. **explore** (``train_explorer``): ``explore_starts`` rollouts of ``explore_segments`` segments
   by the explorer (:mod:`zspace.rl.exploration`) from the planning episodes' segment starts,
   rewarded by the model's negative ELBO of each segment (the authors: at the segment's end, and
   not on the first iteration, before the model has seen data); the segments go to the buffer;
3. ``rounds`` x (``vae_steps`` minibatches of :func:`~zspace.rl.sectar.model.sectar_loss`, then one
   **consistency** PPO step): the policy runs z ~ N(0, I) for one segment from
   ``consistency_rollouts`` buffer start states, rewarded per step by the decoder's
   log-likelihood of the state it reached (the authors' ``train_pd_match_sd(dataset, 20)``).

Every environment step (planning, exploration, consistency rollouts) counts toward the budget.
Defaults are the authors' (Waypoints); :meth:`SectarTrainConfig.for_task` sets their per-task
values and ``PRESETS["cpu"]`` (:mod:`zspace.rl.sectar.config`) is ours, whose departures are named
options there.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import torch
from torch import Tensor

from zspace.errors import ConfigError, TrainingDivergedError
from zspace.rl.exploration import Explorer, explorer_rewards, novelty_rewards, segment_end_rewards, segment_neg_elbo
from zspace.rl.ppo import ppo_update
from zspace.rl.results import LearningCurve
from zspace.rl.sectar.config import PRESETS, SectarTrainConfig
from zspace.rl.sectar.io import load_sectar, load_train_state, save_train_state
from zspace.rl.sectar.mechanism import measure_mechanism
from zspace.rl.sectar.model import SeCTAR, consistency_error, sectar_loss
from zspace.rl.sectar.plan import plan_episode, plan_episodes
from zspace.rl.segments import SegmentBuffer, ppo_segments, rollout_segments
from zspace.rl.timing import Stopwatch, timed

__all__ = [
    "PRESETS", "SectarCurve", "SectarTrainConfig", "SegmentBuffer", "explorer_rewards", "load_sectar", "plan_episode",
    "segment_end_rewards", "train_sectar",
]  # fmt: skip


@dataclasses.dataclass(kw_only=True)
class SectarCurve(LearningCurve):
    """SeCTAR's learning curve (after each iteration's planning episodes) and what else its training measured."""

    method: str = "sectar"
    iterations: int = 0  # finished iterations, a resumed run's earlier ones included
    steps_taken: int = 0  # every env step: planning, exploration and consistency
    explorer_resets: int = 0
    stopped_early: bool = False  # by time_limit_s
    # each sectar/* and consistency/* metric's last value (an iteration short of budget for its consistency step keeps
    # the one before)
    last: dict[str, float] = dataclasses.field(default_factory=dict)
    # shares of this invocation's loop wall time per phase (plan, explore, fit) and per activity (zspace.rl.timing:
    # env, decode, score, ppo, vae, other)
    time_share: dict[str, float] = dataclasses.field(default_factory=dict)
    activity_share: dict[str, float] = dataclasses.field(default_factory=dict)
    mechanism: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # measure_every's: iteration, env_steps, fields

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SectarCurve:
        """A curve from :meth:`to_json`, or from a training state of before these fields (their ``extra``)."""
        data = dict(data)
        extra = data.pop("extra", None) or {}
        data.setdefault("mechanism", extra.get("mechanism", []))
        return cls(**data)


def _check_finite(what: str, value: Tensor | np.ndarray | float, iteration: int, env_steps: int) -> None:
    """Raise :class:`TrainingDivergedError` naming ``what`` and the iteration if ``value`` has a NaN/inf."""
    array = value.detach().cpu().numpy() if isinstance(value, Tensor) else np.asarray(value)
    if not np.all(np.isfinite(array)):
        raise TrainingDivergedError(
            f"SeCTAR {what} is not finite ({array.ravel()[~np.isfinite(array.ravel())][0]}) at iteration {iteration} "
            f"({env_steps} env steps); lower SectarTrainConfig.lr or check the environment's observations"
        )


@dataclasses.dataclass
class _Run:
    """Everything one training run holds between phases (the state a resume needs)."""

    config: SectarTrainConfig
    model: SeCTAR
    explorer: Explorer
    vae_opt: torch.optim.Optimizer
    policy_opt: torch.optim.Optimizer
    buffer: SegmentBuffer
    generator: torch.Generator
    rng: np.random.Generator
    device: torch.device
    plan_envs: Any
    explore_envs: Any
    consistency_envs: Any
    total_env_steps: int
    env_steps: int = 0
    iteration: int = 0

    def afford(self, steps: int) -> bool:
        return self.env_steps + steps <= self.total_env_steps

    def close(self) -> None:
        for envs in (self.plan_envs, self.explore_envs, self.consistency_envs):
            if envs is not None:
                envs.close()

    def check(self, what: str, value: Any) -> None:
        _check_finite(what, value, self.iteration, self.env_steps)


def _start(env_id: str, config: SectarTrainConfig, kwargs: dict, seed: int, total_env_steps: int, device: str) -> _Run:
    """Build the envs (no autoreset: every rollout restarts them), the model, explorer, optimisers and buffer."""
    vec = lambda n: gymnasium.make_vec(env_id, num_envs=n, autoreset_mode="Disabled", **kwargs)
    plan_envs = vec(config.plan_episodes)
    try:
        explore_envs = vec(config.explore_starts) if config.explore_starts > 0 else None
        consistency_envs = vec(config.consistency_rollouts)
        for envs in (explore_envs, consistency_envs):  # seeded once: their layout draws feed nothing training reads
            if envs is not None:
                envs.reset(seed=seed + 1)
    except Exception:
        plan_envs.close()
        raise
    mc = config.model.for_env(plan_envs)
    torch.manual_seed(seed)
    dev = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    model = SeCTAR(mc).to(dev)
    explorer = Explorer(mc.state_dim, mc.action_space, config.explorer, generator=generator, device=dev)
    policy = model.policy
    return _Run(
        config=config, model=model, explorer=explorer,
        vae_opt=torch.optim.Adam(model.parameters(), lr=config.lr, eps=1e-5),
        policy_opt=torch.optim.Adam(policy.parameters(), lr=config.consistency.lr, eps=1e-5),
        buffer=SegmentBuffer(config.buffer_segments, mc.segment_len, mc.state_dim, policy.action_shape,
                             torch.int64 if policy.discrete else torch.float32),
        generator=generator, rng=np.random.default_rng(seed), device=dev, plan_envs=plan_envs,
        explore_envs=explore_envs, consistency_envs=consistency_envs, total_env_steps=total_env_steps,
    )  # fmt: skip


def _plan_phase(run: _Run, curve: LearningCurve, seed: int) -> np.ndarray:
    """1. Plan ``plan_episodes`` episodes; record their returns; returns the segment start states (explorer's starts)."""
    run.model.eval()
    episodes = plan_episodes(run.plan_envs, run.model, run.config, seed=seed * 100_003 + run.iteration * 1_009,
                             generator=run.generator)  # fmt: skip
    run.check("planning return", episodes.returns)
    run.env_steps += episodes.env_steps
    curve.record(run.env_steps, float(episodes.returns.mean()), float(episodes.successes.mean()))
    if run.config.buffer_planning and len(episodes.states):
        run.buffer.add(torch.as_tensor(episodes.states), torch.as_tensor(episodes.actions))
    run.model.train()
    return episodes.segment_starts


def _explore_phase(run: _Run, starts: np.ndarray) -> dict[str, float]:
    """2. Explorer rollouts of ``explore_segments`` segments from the planning episodes' segment starts."""
    c, mc, model, explorer = run.config, run.model.config, run.model, run.explorer
    seg, n = mc.segment_len, c.explore_starts
    length = c.explore_segments * (seg + 1) - 1  # the authors' ((path_len + 1) * mpc_explore_len) - 1 steps
    if n == 0 or len(starts) == 0 or not run.afford(n * length):
        return {}
    first = starts[run.rng.choice(len(starts), size=n, replace=n > len(starts))]
    dev = run.device
    roll = rollout_segments(run.explore_envs, first, length, lambda s: explorer.agent.distribution(model.normalize(s.to(dev))))
    run.env_steps += n * length
    # n x explore_segments segments of T+1 states; the step between two consecutive ones belongs to neither
    states = roll["states"].reshape(n * c.explore_segments, seg + 1, -1)
    padded = torch.cat([roll["actions"], roll["actions"][:, -1:]], dim=1)  # (n, M (T+1), ...): the joining steps dropped below
    chunks = padded.reshape(n, c.explore_segments, seg + 1, *roll["actions"].shape[2:])[:, :, :seg]
    actions = chunks.reshape(n * c.explore_segments, seg, *roll["actions"].shape[2:])
    valid = roll["valid"].repeat_interleave(c.explore_segments)
    untrained = run.buffer.size == 0  # the authors neither reward nor train the explorer before the model has data
    run.buffer.add(states[valid], actions[valid])
    if untrained:
        return {}
    with timed("decode"):
        if c.explore_reward == "per_step":  # ours
            per_step = novelty_rewards(model, states.to(dev)).reshape(n, c.explore_segments, seg)  # (n, segments, T) nats
            rewards, neg_elbo = explorer_rewards(per_step, "per_step"), per_step.mean()
        else:  # the authors': each segment's NLL per step + KL (one z ~ q), at its end
            per_segment = segment_neg_elbo(model, states.to(dev), run.generator).reshape(n, c.explore_segments)
            rewards, neg_elbo = segment_end_rewards(per_segment, seg), per_segment.mean()
    rewards = rewards * c.explorer.reward_scale
    run.check("exploration reward", rewards)
    with timed("ppo"):
        batch = ppo_segments(explorer.agent, model.normalize(roll["states"].to(dev)), roll["actions"].to(dev),
                             roll["logprobs"].to(dev), rewards, c.explorer.ppo)  # fmt: skip
        metrics = explorer.update(batch)
    metrics[f"explore/neg_elbo_{c.explore_reward}"] = neg_elbo.item()
    return metrics


def _fit_phase(run: _Run) -> dict[str, float]:
    """3. ``rounds`` x (``vae_steps`` VAE minibatches, then one consistency PPO step)."""
    c, metrics = run.config, {}
    steps = c.consistency_rollouts * run.model.config.segment_len
    for _ in range(c.rounds):
        if run.buffer.size == 0:
            break
        for _ in range(c.vae_steps):
            with timed("vae"):
                states, actions = (t.to(run.device) for t in run.buffer.sample(c.batch_size, run.generator))
                loss, terms = sectar_loss(run.model, states, actions)
                run.check("loss", loss)
                run.vae_opt.zero_grad()
                loss.backward()
                if c.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(run.model.parameters(), c.grad_clip)
                run.vae_opt.step()
                metrics.update({f"sectar/{k}": v.item() for k, v in terms.items()})
        if run.afford(steps):
            metrics.update(_consistency_step(run))
            run.env_steps += steps
    return metrics


def train_sectar(
    env_id: str,
    *,
    total_env_steps: int,
    seed: int = 0,
    config: SectarTrainConfig | None = None,
    env_kwargs: dict[str, Any] | None = None,
    log: Callable[[int, dict[str, float]], None] | None = None,
    on_iteration: Callable[[SeCTAR, SectarCurve, int], None] | None = None,
    on_start: Callable[[SeCTAR], None] | None = None,
    device: str = "cpu",
    state_dir: str | os.PathLike | None = None,
    keep_every: int = 0,
    time_limit_s: float | None = None,
    measure_every: int = 0,
) -> tuple[SeCTAR, SectarCurve]:
    """Train SeCTAR online on ``env_id`` within ``total_env_steps`` environment steps.

    ``config`` defaults to the authors' for the task (``SectarTrainConfig.for_task(env_id)``).
    Everything random derives from ``seed`` (weights, actions, latents, minibatches, layouts), so a
    CPU run is reproducible; torch's global RNG is restored after. ``log(env_steps, metrics)``
    receives ``sectar/*``, ``consistency/*``, ``explore/*`` and ``charts/*`` each iteration;
    ``on_iteration(model, curve, env_steps)`` is called after it (the model is in train mode and
    must not be changed); ``on_start(model)`` once, when the arguments are checked and before the
    first iteration (e.g. to write the run's config).

    ``state_dir``: after every iteration a checkpoint ``state_dir/checkpoints/step-<env steps>/``
    holds the model and the whole training state (:func:`~zspace.rl.sectar.io.save_train_state`;
    the one before it is removed unless ``keep_every`` > 0 env steps lie between it and the last
    one kept). If ``state_dir`` already holds one (same task, seed and config), training resumes
    from it and continues exactly as the uninterrupted run would have (on CPU), up to
    ``total_env_steps`` (which may be raised to train longer). ``time_limit_s`` stops before an
    iteration that would end past that many wall seconds, judged by the last one.
    ``measure_every`` > 0: every that many iterations and after the last, the skills are measured
    (:func:`~zspace.rl.sectar.mechanism.measure_mechanism` from 16 buffer start states, once it has
    any) into ``curve.mechanism``; its env steps are not training's and it changes no random stream.

    Raises:
        ConfigError: the budget is less than one planning iteration.
        TrainingDivergedError: a loss or reward became NaN/inf (the message names the iteration).
    """
    import zspace.rl.envs  # noqa: F401 - registers the zspace/... ids

    config = SectarTrainConfig.for_task(env_id) if config is None else config
    kwargs = dict(env_kwargs or {})
    curve = SectarCurve(env_id=env_id, seed=seed)
    start_time = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        run = _start(env_id, config, kwargs, seed, total_env_steps, device)
        try:
            plan_cost = config.plan_episodes * run.plan_envs.unwrapped.sim.max_episode_steps
            if total_env_steps < plan_cost:
                raise ConfigError(
                    f"total_env_steps={total_env_steps} is less than one iteration's {config.plan_episodes} planning "
                    f"episodes of {env_id} ({plan_cost} steps); raise it or lower SectarTrainConfig.plan_episodes"
                )
            if on_start is not None:
                on_start(run.model)
            saved = None if state_dir is None else load_train_state(state_dir, run, env_id=env_id, seed=seed)
            curve = curve if saved is None else SectarCurve.from_json(saved)
            prior_wall_s, last_iteration_s = curve.wall_s, 0.0  # a resumed run's wall time counts its earlier parts
            phase_s = {"plan": 0.0, "explore": 0.0, "fit": 0.0}  # wall seconds per phase, summed over iterations
            clock = Stopwatch()  # and per activity (env steps, decoding, PPO, VAE minibatches, plan scoring)
            while run.afford(plan_cost):
                tic = time.perf_counter()
                if time_limit_s is not None and tic - start_time + last_iteration_s > time_limit_s:
                    curve.stopped_early = True  # the next iteration would end past the limit (as long as the last one)
                    break
                run.iteration += 1
                metrics = _iteration(run, curve, seed, phase_s, clock)
                curve.last.update({k: v for k, v in metrics.items() if k.startswith(("consistency/", "sectar/"))})
                if measure_every > 0 and run.iteration % measure_every == 0 and run.buffer.size:
                    _measure(run, curve, env_id, kwargs, seed)
                _summarize(run, curve, phase_s, clock, prior_wall_s + time.perf_counter() - start_time)
                if log is not None:
                    log(run.env_steps, metrics)
                if state_dir is not None:
                    save_train_state(state_dir, run, curve, env_id=env_id, env_kwargs=kwargs, seed=seed, keep_every=keep_every)
                if on_iteration is not None:
                    on_iteration(run.model, curve, run.env_steps)
                last_iteration_s = time.perf_counter() - tic
            measured = [m["iteration"] for m in curve.mechanism]
            if measure_every > 0 and run.buffer.size and run.iteration not in measured:  # also a resumed, finished run
                _measure(run, curve, env_id, kwargs, seed)
        finally:
            run.close()
    _summarize(run, curve, phase_s, clock, prior_wall_s + time.perf_counter() - start_time)
    return run.model.cpu(), curve


def _summarize(run: _Run, curve: SectarCurve, phase_s: dict[str, float], clock: Stopwatch, wall_s: float) -> None:
    """The run's counters and this invocation's shares of wall time per phase and activity, into ``curve``."""
    total = sum(phase_s.values())
    curve.iterations, curve.steps_taken, curve.explorer_resets = run.iteration, run.env_steps, run.explorer.resets
    curve.wall_s = wall_s
    curve.time_share = {k: v / max(total, 1e-9) for k, v in phase_s.items()}
    curve.activity_share = clock.shares(total)


def _iteration(run: _Run, curve: LearningCurve, seed: int, phase_s: dict[str, float], clock: Stopwatch) -> dict[str, float]:
    """Plan, explore, fit; adds each phase's wall seconds to ``phase_s`` (and each activity's to ``clock``)."""
    with clock.recording():
        tic = time.perf_counter()
        starts = _plan_phase(run, curve, seed)
        after_plan = time.perf_counter()
        metrics = _explore_phase(run, starts)
        after_explore = time.perf_counter()
        metrics.update(_fit_phase(run))
    for phase, seconds in (("plan", after_plan - tic), ("explore", after_explore - after_plan),
                           ("fit", time.perf_counter() - after_explore)):  # fmt: skip
        phase_s[phase] += seconds
    return metrics | {"charts/buffer_segments": float(run.buffer.size), "charts/return": curve.returns[-1]}


def _measure(run: _Run, curve: SectarCurve, env_id: str, env_kwargs: dict, seed: int, starts: int = 16) -> None:
    """Append the skills' mechanism at this iteration to ``curve.mechanism`` (random streams of its own)."""
    generator = torch.Generator().manual_seed(seed * 100_003 + run.iteration)
    index = torch.randint(run.buffer.size, (starts,), generator=generator)
    model, dev = run.model, run.device
    explore = lambda s: run.explorer.agent.distribution(model.normalize(s.to(dev)))
    result = measure_mechanism(model, env_id, run.buffer.states[index, 0].numpy(), explore,
                               seed=seed * 100_003 + run.iteration, env_kwargs=env_kwargs)  # fmt: skip
    model.train()
    row = {"iteration": run.iteration, "env_steps": run.env_steps, **dataclasses.asdict(result)}
    curve.mechanism.append({k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()})


def _consistency_step(run: _Run) -> dict[str, float]:
    """Run pi(a | s, z), z ~ N(0, I), from buffer start states; PPO on the decoder's log-likelihood of what it reached
    (and, with ``config.decoder_consistency``, one maximum-likelihood step of the decoder on those segments)."""
    config, model, dev = run.config, run.model, run.device
    mc = model.config
    n = config.consistency_rollouts
    starts = run.buffer.sample(n, run.generator)[0][:, 0]  # (N, S) start states s_0
    z = torch.randn(n, mc.z_size, generator=run.generator).to(dev)
    roll = rollout_segments(run.consistency_envs, starts.numpy(), mc.segment_len,
                            lambda s: model.policy.distribution(*model.policy_inputs(s.to(dev), z)))  # fmt: skip
    states, valid = roll["states"].to(dev), roll["valid"]
    with timed("decode"), torch.set_grad_enabled(config.decoder_consistency):  # the decoder step below reuses this pass
        step_log_probs = model.step_log_probs(states[:, 0], z, states[:, 1:])  # (N, T)
    log_probs = step_log_probs.detach()
    run.check("consistency reward", log_probs)
    if config.buffer_consistency:
        run.buffer.add(roll["states"][valid], roll["actions"][valid])
    with timed("ppo"):
        batch = ppo_segments(
            model.policy, model.normalize(states), roll["actions"].to(dev), roll["logprobs"].to(dev),
            log_probs * config.consistency_reward_scale, config.consistency, cond=z,
        )  # fmt: skip
        metrics = ppo_update(model.policy, run.policy_opt, batch, config.consistency, generator=run.generator)
    out = {f"consistency/{k.split('/')[-1]}": v for k, v in metrics.items()}
    out["consistency/log_prob_per_step"] = log_probs.mean().item()
    with timed("decode"):
        out["consistency/error"] = consistency_error(model, states[:, 0], z, states[:, 1:]).mean().item()
    if config.decoder_consistency and valid.any():
        with timed("vae"):
            nll = -step_log_probs[valid.to(dev)].sum(dim=1).mean() / mc.segment_len
            run.vae_opt.zero_grad()
            nll.backward()  # reaches the state decoder (and its log-std) only
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            run.vae_opt.step()
        out["consistency/decoder_nll_per_step"] = nll.item()
    return out
