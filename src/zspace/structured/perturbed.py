"""The randomized latent SSVM of Bello & Honorio (NeurIPS 2018): max loss over sampled (y', h').

Exact learners maximise over the whole output x latent space for every example. Following Honorio
& Jaakkola (UAI 2016), Bello & Honorio replace that max by a max over a small set T_i of n pairs
(y', h') drawn from a proposal distribution, which keeps a PAC-Bayes bound on the Gibbs decoder
(weights perturbed as w + sigma * eps, eps ~ N(0, I)) up to statistical accuracy. Their loss is
slack-rescaled with a latent margin (Sec. 4):

    l_i(w) = max_{(y', h') in T_i} Delta(y_i, y') * max(0, 1 - [max_h w.phi(x_i, y_i, h) - w.phi(x_i, y', h')])

and the objective alpha/2 ||w||^2 + 1/m sum_i l_i(w) is minimised here by stochastic subgradient
descent with T_i re-drawn at every step. ``rescaling="margin"`` gives the margin-rescaled variant
max(0, max_{T_i} Delta + w.phi(y', h') - max_h w.phi(y_i, h)), the randomized version of the
exact learner's loss; for a 0/1 task loss the two coincide. ``latent="sampled"`` also restricts the
latent completion max_h to sampled latents (plus the example's previous imputation).

Our reading of the paper, which we could not check line by line: where the paper leaves a choice
open (optimiser, re-sampling per step, the latent cache) the choice is ours and documented here.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from zspace.errors import ConfigError
from zspace.structured.exact import FitResult
from zspace.structured.problems import StructuredProblem, check_positive_int

__all__ = ["fit_perturbed", "randomized_loss_terms"]


def randomized_loss_terms(
    problem: StructuredProblem,
    w: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    H_star: np.ndarray,
    Yc: np.ndarray,
    Hc: np.ndarray,
    rescaling: Literal["slack", "margin"] = "slack",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The randomized loss of each example and its maximiser among the candidates.

    Args:
        H_star: the imputed latents of the true outputs (N, *h_shape).
        Yc, Hc: candidate pairs (N, n, ...), from ``problem.sample_candidates``.

    Returns:
        (losses (N,) >= 0, index (N,) of the maximising candidate, its coefficient (N,): Delta for
        slack rescaling, 1 for margin rescaling, 0 where the loss is zero).
    """
    margin = problem.scores(w, X, Y, H_star)[:, None] - problem.candidate_scores(w, X, Yc, Hc)  # (N, n)
    distortion = problem.candidate_losses(Y, Yc)  # (N, n)
    if rescaling == "slack":
        values = distortion * np.maximum(0.0, 1.0 - margin)
    else:
        values = np.maximum(0.0, distortion - margin)
    best = np.argmax(values, axis=1)
    losses = values[np.arange(len(best)), best]
    coefficient = np.where(losses > 0, distortion[np.arange(len(best)), best] if rescaling == "slack" else 1.0, 0.0)
    return losses, best, coefficient


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)}, got {value!r}")


def _impute(problem, w, X, Y, H_cached, latent, n_latent_samples, rng):
    """max_h w.phi(x_i, y_i, h): exactly, or over sampled latents plus the cached imputation."""
    if latent == "exact":
        return problem.batch_latent_completion(w, X, Y)
    Hc = np.concatenate([H_cached[:, None], problem.sample_latents(X, Y, n_latent_samples, rng)], axis=1)  # (B, 1 + k, ...)
    Yc = np.broadcast_to(np.asarray(Y)[:, None], Hc.shape[:2] + np.shape(Y)[1:])
    best = np.argmax(problem.candidate_scores(w, X, Yc, Hc), axis=1)
    return Hc[np.arange(len(best)), best]


def fit_perturbed(
    problem: StructuredProblem,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    alpha: float = 1e-2,
    n_samples: int = 10,
    rescaling: Literal["slack", "margin"] = "slack",
    latent: Literal["exact", "sampled"] = "exact",
    n_latent_samples: int = 10,
    sigma: float = 0.0,
    batch_size: int = 128,
    max_epochs: int = 30,
    learning_rate: float | None = None,
    average: bool = True,
    tol: float = 1e-4,
    n_iter_no_change: int = 3,
    H_init: np.ndarray | None = None,
    seed: int = 0,
) -> FitResult:
    """Train the randomized latent SSVM by stochastic subgradient descent.

    Args:
        alpha: L2 regularisation strength (the same objective scale as :func:`fit_exact`).
        n_samples: |T_i|, candidate (y', h') pairs drawn per example and step from the proposal.
        rescaling: "slack" (the paper's loss) or "margin" (see the module docstring).
        latent: "exact" latent completion for the true outputs, or "sampled" over
            ``n_latent_samples`` proposal latents plus the example's previous imputation.
        sigma: std of the Gaussian weight perturbation eps used when scoring (0: score with w
            itself). With sigma > 0 each step follows a subgradient at w + sigma * eps, a stochastic
            estimate of the Gibbs (perturbed-weights) loss the paper's bound is about.
        batch_size, max_epochs, learning_rate: step size eta_t = lr / (1 + lr * alpha * t), the
            Pegasos 1/(alpha t) rate with a bounded first step; default lr = 0.1 / alpha.
        average: return the average of the iterates of the last half of training (Polyak-Ruppert).
        tol, n_iter_no_change: stop when the epoch's mean objective has not improved by tol for
            that many epochs.
        H_init: starting latents for the cached imputation; default ``problem.initial_latents``.

    Returns:
        FitResult; ``history`` has one entry per epoch with the mean sampled objective.
    """
    _check_choice("rescaling", rescaling, ("slack", "margin"))
    _check_choice("latent", latent, ("exact", "sampled"))
    for name, value in (
        ("n_samples", n_samples),
        ("n_latent_samples", n_latent_samples),
        ("batch_size", batch_size),
        ("max_epochs", max_epochs),
        ("n_iter_no_change", n_iter_no_change),
    ):
        check_positive_int(name, value)
    if not alpha > 0:
        raise ConfigError(f"alpha must be > 0, got {alpha!r}")
    learning_rate = 0.1 / alpha if learning_rate is None else learning_rate
    if not (learning_rate > 0 and sigma >= 0):
        raise ConfigError(f"learning_rate must be > 0 and sigma >= 0, got {learning_rate=}, {sigma=}")
    problem.validate(X, Y)
    X, Y = np.asarray(X, dtype=float), np.asarray(Y)
    m = len(X)
    rng = np.random.default_rng(seed)
    H = problem.initial_latents(X, Y, rng) if H_init is None else np.array(H_init)
    w = np.zeros(problem.n_features)
    w_sum, n_averaged = np.zeros_like(w), 0
    result = FitResult(w=w, H=H)
    start, step, best, stale = time.perf_counter(), 0, np.inf, 0
    for epoch in range(max_epochs):
        total = 0.0
        for batch in np.array_split(rng.permutation(m), max(1, m // batch_size)):
            Xb, Yb = X[batch], Y[batch]
            w_eval = w + sigma * rng.standard_normal(w.shape) if sigma > 0 else w
            Hb = H[batch] = _impute(problem, w_eval, Xb, Yb, H[batch], latent, n_latent_samples, rng)
            Yc, Hc = problem.sample_candidates(Xb, Yb, n_samples, rng)
            losses, best_j, coef = randomized_loss_terms(problem, w_eval, Xb, Yb, Hb, Yc, Hc, rescaling)
            result.n_oracle_calls += len(batch) * (n_samples + (n_latent_samples + 1 if latent == "sampled" else 0))
            total += losses.sum() + 0.5 * alpha * (w @ w) * len(batch)
            active = np.flatnonzero(coef > 0)
            rows = np.arange(len(batch))[active]
            # subgradient of the mean loss: coef * (phi(x, y', h') - phi(x, y, h*)) over the active examples
            violator = problem.joint_feature_sum(Xb[active], Yc[rows, best_j[active]], Hc[rows, best_j[active]], coef[active])
            truth = problem.joint_feature_sum(Xb[active], Yb[active], Hb[active], coef[active])
            eta = learning_rate / (1.0 + learning_rate * alpha * step)
            w = (1.0 - eta * alpha) * w - eta * (violator - truth) / len(batch)
            step += 1
            if average and epoch >= max_epochs // 2:
                w_sum += w
                n_averaged += 1
        objective = total / m
        result.history.append({"epoch": epoch, "objective": objective, "seconds": time.perf_counter() - start})
        if objective < best - tol:
            best, stale = objective, 0
        else:
            stale += 1
            if stale >= n_iter_no_change:
                result.converged = True
                break
    result.w = w_sum / n_averaged if n_averaged else w
    result.H = H
    return result
