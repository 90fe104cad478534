"""Planning by search: random shooting, the cross-entropy method, and SeCTAR's latent MPC.

SeCTAR (Co-Reyes et al., ICML 2018, Sec. 4.3) controls a long-horizon task by model-predictive
control in the latent space of trajectory segments: sample K sequences of H latents, roll each
through the state decoder (segment h starts where the prediction of segment h-1 ends; no
environment calls), score the predicted states with the task's own reward, execute the first
latent with the latent-conditioned policy for one segment, and replan. The authors'
``VAEPDEntropy.mpc`` does exactly this with random shooting, K = 2048, z ~ N(0, I) and the sparse
task reward (discount 0.99); :class:`LatentMPC` offers that and the cross-entropy method (CEM).

Scoring (:func:`score_states`) is shared with the state-space MPC baseline
(:mod:`zspace.rl.model_based`) so both planners optimise the same objective. With a sparse reward
most candidates score 0 and the authors' ``argmax`` then picks an arbitrary one; the ``shaping``
option breaks such ties with information the task already exposes, too small to outweigh a reward:

- ``"none"`` (the default, as everywhere in zspace): the task reward alone (the authors' scorer);
  ties go to the lowest candidate index.
- ``"stage"``: + 1e-3 per target completed within the plan (the progress function's new stage),
  discounted per segment like the reward, so plans reaching unrewarded intermediate waypoints
  (sooner) win ties.
- ``"distance"``: ``"stage"`` and - 1e-4 per metre of work the final predicted state still has
  to do on the current target (needs the task's ``distance`` function, every zspace env's
  ``distance_to_go``: position to waypoint; for Blocks gripper to object plus object to goal);
  a weak pull towards the next target.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, NamedTuple, get_args

import numpy as np
import torch
from torch import Tensor

from zspace.errors import ConfigError

__all__ = ["PLAN_METHODS", "SHAPINGS", "LatentMPC", "Plan", "PlanMethod", "Shaping", "cem", "random_shooting", "score_states"]

Progress = Callable[..., tuple[np.ndarray, np.ndarray]]  # (states (K, L, S), stage (K,)) -> (reward (K,), stage (K,))
Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (states (K, S), stage (K,)) -> metres still to go (K,)
Shaping = Literal["none", "stage", "distance"]
PlanMethod = Literal["shooting", "cem"]
SHAPINGS: tuple[str, ...] = get_args(Shaping)
PLAN_METHODS: tuple[str, ...] = get_args(PlanMethod)
STAGE_WEIGHT = 1e-3  # per target completed: < any reward step (1, or discount**t >= 0.15 for t < 190)
DISTANCE_WEIGHT = 1e-4  # per metre: < 8 m to the next waypoint, so distance never outweighs one stage (Blocks pays each)


def random_shooting(
    score: Callable[[Tensor], Tensor], sample: Callable[[int], Tensor], n_candidates: int
) -> tuple[Tensor, Tensor]:
    """The best of ``n_candidates`` samples.

    Args:
        score: ``(K, ...) -> (K,)`` the objective to maximise.
        sample: ``K -> (K, ...)`` draws K candidates (it owns the randomness).
        n_candidates: K.

    Returns:
        The best candidate ``(...)`` and its score ``()``; ties go to the lowest index.
    """
    if n_candidates < 1:
        raise ConfigError(f"random_shooting: n_candidates must be >= 1, got {n_candidates}")
    candidates = sample(n_candidates)
    scores = score(candidates)
    best = int(torch.argmax(scores))  # first maximum
    return candidates[best], scores[best]


def cem(
    score: Callable[[Tensor], Tensor],
    mean: Tensor,
    std: Tensor,
    *,
    n_candidates: int,
    n_iters: int,
    elite_frac: float,
    generator: torch.Generator | None,
    min_std: float = 0.05,
) -> tuple[Tensor, Tensor]:
    """Cross-entropy method: sample from a diagonal Gaussian, refit it to the elites, repeat.

    Args:
        score: ``(K, ...) -> (K,)`` the objective to maximise.
        mean, std: ``(...)`` the initial sampling distribution.
        n_candidates: samples per iteration.
        n_iters: iterations (total score evaluations = n_candidates * n_iters).
        elite_frac: share of each iteration's samples the distribution is refitted to (>= 1 sample).
        generator: torch generator for the Gaussian noise (None: the global one).
        min_std: floor on the refitted std, so the search never collapses on a tie of
            equal-scoring elites (common with sparse rewards).

    Returns:
        The best candidate ever sampled ``(...)`` and its score ``()``; ties go to the earliest.
    """
    if n_candidates < 1 or n_iters < 1:
        raise ConfigError(f"cem: n_candidates and n_iters must be >= 1, got {n_candidates} and {n_iters}")
    if not 0.0 < elite_frac <= 1.0:
        raise ConfigError(f"cem: elite_frac must lie in (0, 1], got {elite_frac}")
    n_elite = max(1, round(elite_frac * n_candidates))
    device = generator.device if generator is not None else mean.device
    best, best_score = mean, torch.tensor(-math.inf)
    for _ in range(n_iters):
        noise = torch.randn((n_candidates, *mean.shape), generator=generator, dtype=mean.dtype, device=device)
        candidates = mean + std * noise.to(mean.device)  # (K, ...)
        scores = score(candidates)  # (K,)
        order = torch.argsort(scores, descending=True, stable=True)[:n_elite]
        if scores[order[0]] > best_score:
            best, best_score = candidates[order[0]], scores[order[0]]
        elites = candidates[order]
        mean, std = elites.mean(0), elites.std(0, unbiased=False).clamp_min(min_std)
    return best, best_score


def score_states(
    progress: Progress,
    states: np.ndarray,
    stage: int | np.ndarray,
    *,
    shaping: Shaping = "none",
    discount: float = 1.0,
    segment_len: int | None = None,
    distance: Distance | None = None,
) -> np.ndarray:
    """The planning objective of K predicted trajectories (see the module docstring for ``shaping``).

    The trajectory is scored segment by segment (one ``progress`` call each, the stage carried
    over), so the stage bonus of segment c can be discounted like its reward, by
    ``discount**(c * segment_len)``: among plans of equal reward, earlier progress wins.

    Args:
        progress: the task's progress function ``(states, stage) -> (reward, new stage)``, e.g.
            ``env.unwrapped.progress``; called with ``discount=`` only when ``discount != 1``.
        states: ``(K, L, S)`` predicted states s_1..s_L after the current one.
        stage: the current task stage (targets completed so far), one for all rows or ``(K,)``.
        discount: the reward of step t (0-based) is weighted by ``discount**t``.
        segment_len: steps per segment (default: L, one segment).
        distance: ``(states (K, S), stage (K,)) -> (K,)`` metres of work left on the current
            target, e.g. ``env.unwrapped.distance_to_go``; required by ``shaping="distance"``.

    Returns:
        ``(K,)`` float64 scores, higher is better.
    """
    if shaping not in SHAPINGS:
        raise ConfigError(f"shaping must be one of {SHAPINGS}, got {shaping!r}")
    if shaping == "distance" and distance is None:
        raise ConfigError("shaping='distance' needs distance=, the task's distance function (env.unwrapped.distance_to_go)")
    k, length = states.shape[:2]
    chunk = length if segment_len is None else segment_len
    kwargs = {} if discount == 1.0 else {"discount": discount}
    current = np.broadcast_to(np.asarray(stage, dtype=np.int64), (k,)).copy()
    score = np.zeros(k)
    for start in range(0, length, chunk):
        reward, new_stage = progress(states[:, start : start + chunk], current, **kwargs)
        weight = discount**start  # progress discounts from the segment's own first step
        score += weight * np.asarray(reward, dtype=np.float64)
        if shaping != "none":
            score += weight * STAGE_WEIGHT * (new_stage - current)
        current = np.asarray(new_stage, dtype=np.int64)
    if shaping == "distance":
        score -= DISTANCE_WEIGHT * np.asarray(distance(states[:, -1], current), dtype=np.float64)
    return score


class Plan(NamedTuple):
    """What :meth:`LatentMPC.plan` chose."""

    z: Tensor  # (Z,) the latent to execute now (the first of the sequence)
    latents: Tensor  # (H, Z) the whole planned sequence
    predicted: np.ndarray  # (H * T, S) its predicted states s_1..s_{H T}
    score: float  # its planning objective (task reward plus the tie-breaking shaping)


class LatentMPC:
    """Model-predictive control over sequences of H latents, scored through a state decoder.

    Args:
        predict: ``(s0 (N, S), z (N, Z)) -> (N, T, S)`` predicted mean states of one segment
            (SeCTAR's ``predict``); called once per segment on all K candidates, under no_grad.
        progress: the task's ``(states (K, H T, S), stage (K,)) -> (reward (K,), stage (K,))``.
        z_size: Z.
        horizon: H, segments planned ahead (the authors used 10).
        n_candidates: K, latent sequences scored per plan; CEM spreads the same budget over
            ``cem_iters`` iterations (K / cem_iters each), so both methods cost K decoder rollouts.
        method: ``"shooting"`` (z ~ N(0, I), the authors') or ``"cem"``.
        cem_iters, elite_frac: CEM's iterations and elite share.
        seed: seeds the candidate sampler; a sequence of ``plan`` calls is reproducible.
        shaping, discount, distance: the objective, see :func:`score_states`. The default
            discount is the authors' 0.99 (it favours plans that pay sooner, which matters when
            only the first latent is executed); it needs a ``progress`` accepting ``discount=``
            (every zspace env's does); pass ``discount=1.0`` for a plain two-argument callable.
        device: where candidates and the decoder live.
    """

    def __init__(
        self,
        predict: Callable[[Tensor, Tensor], Tensor],
        progress: Progress,
        *,
        z_size: int,
        horizon: int,
        n_candidates: int = 2048,
        method: PlanMethod = "shooting",
        cem_iters: int = 4,
        elite_frac: float = 0.1,
        seed: int = 0,
        shaping: Shaping = "none",
        discount: float = 0.99,
        distance: Distance | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        if method not in PLAN_METHODS:
            raise ConfigError(f"LatentMPC: method must be one of {PLAN_METHODS}, got {method!r}")
        if shaping not in SHAPINGS:
            raise ConfigError(f"LatentMPC: shaping must be one of {SHAPINGS}, got {shaping!r}")
        if shaping == "distance" and distance is None:
            raise ConfigError("LatentMPC: shaping='distance' needs distance=, the task's (env.unwrapped.distance_to_go)")
        for name, value in (("z_size", z_size), ("horizon", horizon), ("n_candidates", n_candidates), ("cem_iters", cem_iters)):
            if value < 1:
                raise ConfigError(f"LatentMPC: {name} must be >= 1, got {value}")
        if method == "cem" and n_candidates < cem_iters:
            raise ConfigError(f"LatentMPC: n_candidates ({n_candidates}) must be >= cem_iters ({cem_iters})")
        self.predict, self.progress = predict, progress
        self.z_size, self.horizon, self.n_candidates = z_size, horizon, n_candidates
        self.method, self.cem_iters, self.elite_frac = method, cem_iters, elite_frac
        self.shaping, self.discount, self.distance = shaping, discount, distance
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(seed)  # CPU: the same draws on any device

    @torch.no_grad()
    def rollout(self, state: Tensor, latents: Tensor) -> Tensor:
        """Chain the decoder through ``latents (K, H, Z)`` from ``state (S,)`` -> ``(K, H T, S)``."""
        k, horizon, _ = latents.shape
        start = state.expand(k, -1)  # (K, S)
        segments = []
        for h in range(horizon):
            segment = self.predict(start, latents[:, h])  # (K, T, S)
            if segment.ndim != 3 or segment.shape[0] != k or segment.shape[2] != state.shape[0]:
                raise ValueError(f"predict must return (N, T, {state.shape[0]}) states for N = {k}, got {tuple(segment.shape)}")
            segments.append(segment)
            start = segment[:, -1]  # segment h+1 starts where segment h is predicted to end
        return torch.cat(segments, dim=1)

    def plan(self, state: np.ndarray, stage: int, *, horizon: int | None = None) -> Plan:
        """Plan from ``state (S,)`` at task ``stage``; ``horizon`` overrides H (e.g. near the episode end)."""
        horizon = self.horizon if horizon is None else horizon
        if horizon < 1:
            raise ConfigError(f"LatentMPC.plan: horizon must be >= 1, got {horizon}")
        s0 = torch.as_tensor(np.asarray(state), dtype=torch.get_default_dtype(), device=self.device)
        shape = (horizon, self.z_size)

        def score(latents: Tensor) -> Tensor:  # (K, H, Z) -> (K,)
            predicted = self.rollout(s0, latents).cpu().numpy()
            return torch.from_numpy(self._score(predicted, stage, horizon))

        if self.method == "shooting":
            sample = lambda k: torch.randn((k, *shape), generator=self.generator).to(self.device)
            latents, best = random_shooting(score, sample, self.n_candidates)
        else:
            zeros = torch.zeros(shape, device=self.device)
            latents, best = cem(
                score, zeros, torch.ones_like(zeros), n_candidates=self.n_candidates // self.cem_iters,
                n_iters=self.cem_iters, elite_frac=self.elite_frac, generator=self.generator,
            )  # fmt: skip
        predicted = self.rollout(s0, latents[None])[0].cpu().numpy()  # (H T, S), one more cheap rollout
        return Plan(z=latents[0], latents=latents, predicted=predicted, score=float(best))

    def _score(self, predicted: np.ndarray, stage: int, horizon: int) -> np.ndarray:
        return score_states(
            self.progress, predicted, stage, shaping=self.shaping, discount=self.discount,
            segment_len=predicted.shape[1] // horizon, distance=self.distance,
        )  # fmt: skip
