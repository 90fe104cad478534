"""SeCTAR's planning episodes: latent MPC run in the environment, one episode or many in parallel.

:func:`plan_latents` is the authors' ``VAEPDEntropy.mpc`` batched over episodes: for each of E
episodes, K sequences of H latents z ~ N(0, I) are rolled through the state decoder from that
episode's current state, all E x K rollouts in one decoder call per segment (``chunk`` episodes
at a time if memory asks; the authors planned 5 at a time), scored with the task's own progress
function (:func:`~zspace.rl.planner.score_states`) on each episode's layout and stage, and each
episode gets the first latent of its best sequence. :func:`plan_episodes` runs E episodes
(``SectarTrainConfig.plan_episodes``; the authors' ``mpc_batch`` 40) in a vector environment,
replanning every segment, the policy decoder executing the chosen latent for one segment.
:func:`plan_episode` is the single-episode version over :class:`~zspace.rl.planner.LatentMPC`
(the CLI's ``sectar plan`` and the figures use it; it reports each segment's plan).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import gymnasium
import numpy as np
import torch
from torch import Tensor

from zspace.rl.planner import LatentMPC, Plan, score_states
from zspace.rl.policy import sample_action
from zspace.rl.sectar.model import SeCTAR
from zspace.rl.timing import timed

if TYPE_CHECKING:
    from zspace.rl.sectar.config import SectarTrainConfig

__all__ = ["PlannedEpisodes", "plan_episode", "plan_episodes", "plan_latents"]


@torch.no_grad()
def plan_latents(
    model: SeCTAR,
    states: np.ndarray,
    stages: np.ndarray,
    *,
    horizon: int,
    n_candidates: int,
    progress: Callable[..., tuple[np.ndarray, np.ndarray]],
    distance: Callable[..., np.ndarray] | None,
    shaping: str,
    discount: float,
    generator: torch.Generator,
    chunk: int | None = None,
) -> Tensor:
    """The first latent of the best of K random latent sequences, for each of E episodes.

    Args:
        states: ``(E, S)`` each episode's current state; stages: ``(E,)`` its task stage.
        horizon: H segments planned ahead; n_candidates: K.
        progress: ``(states (E K, L, S), stage (E K,), env_index=rows (E K,), discount=) -> (reward, stage)``
            where ``rows`` names each candidate's episode (e.g. a vector env's ``sim.progress``).
        distance: likewise ``(states (E K, S), stage (E K,), env_index=rows) -> (E K,)``; needed by "distance".
        shaping, discount: the objective, see :func:`~zspace.rl.planner.score_states`.
        generator: draws the candidates (CPU), so a plan is reproducible on any device.
        chunk: episodes per decoder call (None: all E at once).

    Returns:
        ``(E, Z)`` latents on the model's device.
    """
    device = next(model.parameters()).device
    n_episodes, z_size, seg = len(states), model.config.z_size, model.config.segment_len
    chosen = []
    for first in range(0, n_episodes, chunk or n_episodes):
        index = np.arange(first, min(first + (chunk or n_episodes), n_episodes))
        e = len(index)
        latents = torch.randn(e * n_candidates, horizon, z_size, generator=generator).to(device)  # (E K, H, Z)
        start = torch.as_tensor(states[index], dtype=torch.float32, device=device).repeat_interleave(n_candidates, 0)
        segments = []
        for h in range(horizon):  # one decoder call per segment for all E x K candidates
            with timed("decode"):
                segment = model.predict(start, latents[:, h])  # (E K, T, S)
            segments.append(segment)
            start = segment[:, -1]
        with timed("score"):
            predicted = torch.cat(segments, dim=1).cpu().numpy()  # (E K, H T, S)
            rows = np.repeat(index, n_candidates)
            row_progress = functools.partial(progress, env_index=rows)
            row_distance = None if distance is None else functools.partial(distance, env_index=rows)
            scores = score_states(row_progress, predicted, np.repeat(stages[index], n_candidates), shaping=shaping,
                                  discount=discount, segment_len=seg, distance=row_distance)  # fmt: skip
        best = scores.reshape(e, n_candidates).argmax(axis=1)  # ties: the lowest index, as np.argmax in the authors'
        pick = torch.as_tensor(best, device=device)
        chosen.append(latents.reshape(e, n_candidates, horizon, z_size)[torch.arange(e, device=device), pick, 0])
    return torch.cat(chosen)


class PlannedEpisodes(NamedTuple):
    """What :func:`plan_episodes` ran: E episodes in parallel."""

    returns: np.ndarray  # (E,) each episode's return
    successes: np.ndarray  # (E,) bool: every target completed
    segment_starts: np.ndarray  # (M, S) the states each planned segment started from (the explorer's starts)
    states: np.ndarray  # (N, T+1, S) the complete executed segments
    actions: np.ndarray  # (N, T, ...) their actions
    env_steps: int  # steps taken by live episodes (a finished episode's further steps are not counted)


@torch.no_grad()
def plan_episodes(
    envs: gymnasium.vector.VectorEnv, model: SeCTAR, config: SectarTrainConfig, *, seed: int, generator: torch.Generator
) -> PlannedEpisodes:
    """Run ``envs.num_envs`` planning episodes in parallel (``envs`` without autoreset, ``reset(seed=seed)``).

    Every segment, :func:`plan_latents` plans all live episodes at once and the policy decoder
    executes each episode's latent for ``segment_len`` steps (sampled actions unless
    ``config.plan_greedy``). An episode that ends keeps stepping with its siblings but earns and
    counts nothing more.
    """
    device = next(model.parameters()).device
    seg, sim = model.config.segment_len, envs.unwrapped.sim
    n_segments = sim.max_episode_steps // seg
    with timed("env"):
        obs, info = envs.reset(seed=seed)
    n = envs.num_envs
    live, returns, env_steps = np.ones(n, dtype=bool), np.zeros(n), 0
    starts, seg_states, seg_actions = [], [], []
    z = torch.zeros(n, model.config.z_size, device=device)
    for k in range(n_segments):
        alive = np.flatnonzero(live)
        if alive.size == 0:
            break
        z[torch.as_tensor(alive, device=device)] = plan_latents(
            model, obs[alive], info["stage"][alive], horizon=min(config.plan_horizon, n_segments - k),
            n_candidates=config.n_candidates, progress=_rows(sim.progress, alive),
            distance=_rows(sim.distance_to_go, alive) if config.plan_shaping == "distance" else None,
            shaping=config.plan_shaping, discount=config.plan_discount, generator=generator, chunk=config.plan_chunk,
        )  # fmt: skip
        starts.append(obs[alive])
        states, actions, complete = [obs], [], live.copy()
        for t in range(seg):
            s = torch.as_tensor(obs, device=device)
            dist = model.policy.distribution(*model.policy_inputs(s, z))
            action = sample_action(dist, greedy=config.plan_greedy, generator=_cpu(generator, device)).cpu().numpy()
            with timed("env"):
                obs, reward, terminated, truncated, info = envs.step(action)
            returns += np.where(live, reward, 0.0)
            env_steps += int(live.sum())
            ended = live & (terminated | truncated)
            if t < seg - 1:
                complete &= ~ended  # cut short: not a whole segment
            live &= ~ended
            states.append(obs), actions.append(action)
        seg_states.append(np.stack(states, axis=1)[complete]), seg_actions.append(np.stack(actions, axis=1)[complete])
    return PlannedEpisodes(
        returns=returns, successes=np.asarray(info["is_success"], dtype=bool), segment_starts=np.concatenate(starts),
        states=np.concatenate(seg_states), actions=np.concatenate(seg_actions), env_steps=env_steps,
    )  # fmt: skip


def _rows(function: Callable[..., Any], alive: np.ndarray) -> Callable[..., Any]:
    """``function(..., env_index=rows)`` with rows numbering the live episodes mapped to their sub-environments."""
    return lambda *args, env_index, **kwargs: function(*args, env_index=alive[env_index], **kwargs)


def _cpu(generator: torch.Generator, device: torch.device) -> torch.Generator | None:
    """The CPU generator for CPU sampling; on an accelerator the policy samples from torch's (seeded) global RNG."""
    return generator if device.type == "cpu" else None


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
        discount=config.plan_discount, distance=env.unwrapped.distance_to_go, seed=seed,
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
