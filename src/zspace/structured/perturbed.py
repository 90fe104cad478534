"""The randomized latent SSVM of Bello & Honorio (NeurIPS 2018): max loss over sampled (y', h').

Exact learners maximise over the whole output x latent space for every example. Following Honorio
& Jaakkola (UAI 2016), Bello & Honorio replace that max by a max over a small set T_i of n pairs
(y', h') drawn from a proposal distribution, which keeps a PAC-Bayes bound on the Gibbs decoder
(weights perturbed as w + sigma * eps, eps ~ N(0, I)) up to statistical accuracy. Their loss is
slack-rescaled with a latent margin (our reading; the reviews call it that, the section was not readable to us):

    l_i(w) = max_{(y', h') in T_i} Delta(y_i, y') * max(0, 1 - [max_h w.phi(x_i, y_i, h) - w.phi(x_i, y', h')])

and the objective alpha/2 ||w||^2 + 1/m sum_i l_i(w) is minimised here by stochastic subgradient
descent with T_i re-drawn at every step. The same optimiser runs with every oracle of
:mod:`zspace.structured.oracles` (``oracle="exact"`` puts the exact loss-augmented argmax in T_i), so
that comparing oracles varies the oracle only. ``rescaling="margin"`` gives the margin-rescaled variant
max(0, max_{T_i} Delta + w.phi(y', h') - max_h w.phi(y_i, h)), the randomized version of the
exact learner's loss; for a 0/1 task loss the two coincide. ``latent="sampled"`` also restricts the
latent completion max_h to sampled latents (plus the example's previous imputation).

Our reading of the paper, which we could not check line by line: where the paper leaves a choice
open (optimiser, re-sampling per step, the latent cache, the stopping rule) the choice is ours and
documented here. Training starts from the latents H_init: the first epoch imputes nothing and
trains on them (as CCCP's first round does); later visits impute with the current w. Stopping reads
the exact objective f(w) (:func:`latent_ssvm_objective`) of the weights the learner would return, on a
fixed subset of the training set, the same noise-free rule for every oracle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import numpy as np

from zspace.errors import ConfigError
from zspace.structured.exact import FitResult, latent_ssvm_objective
from zspace.structured.oracles import make_oracle
from zspace.structured.problems import StructuredProblem, check_positive_int

__all__ = ["fit_perturbed", "randomized_loss_terms"]


def _loss_values(problem, w, X, Y, H_star, Yc, Hc, rescaling) -> tuple[np.ndarray, np.ndarray]:
    """(values (N, n) of every candidate's loss, distortions Delta (N, n))."""
    margin = problem.scores(w, X, Y, H_star)[:, None] - problem.candidate_scores(w, X, Yc, Hc)  # (N, n)
    distortion = problem.candidate_losses(Y, Yc)  # (N, n)
    if rescaling == "slack":
        return distortion * np.maximum(0.0, 1.0 - margin), distortion
    return np.maximum(0.0, distortion - margin), distortion


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
    values, distortion = _loss_values(problem, w, X, Y, H_star, Yc, Hc, rescaling)
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


class _TailAverage:
    """Polyak-Ruppert average of the iterates of the last half of the epochs run so far.

    Keeps one iterate sum per epoch, so the average is right wherever training stops (a fixed
    start epoch would leave a run that stops early with its last, unaveraged iterate).
    """

    def __init__(self) -> None:
        self.sums: list[np.ndarray] = []
        self.counts: list[int] = []

    def new_epoch(self, n_features: int) -> None:
        self.sums.append(np.zeros(n_features))
        self.counts.append(0)

    def add(self, w: np.ndarray) -> None:
        self.sums[-1] += w
        self.counts[-1] += 1

    def value(self) -> np.ndarray:
        """Mean iterate over epochs [E // 2, E) of the E epochs begun: shape (n_features,)."""
        first = len(self.sums) // 2
        return np.sum(self.sums[first:], axis=0) / sum(self.counts[first:])


def fit_perturbed(
    problem: StructuredProblem,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    alpha: float = 1e-2,
    oracle: Literal["sampled", "exact"] = "sampled",
    n_samples: int = 10,
    violator_cache: int = 0,
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
    monitor_size: int = 500,
    H_init: np.ndarray | None = None,
    seed: int = 0,
    callback: Callable[[dict, np.ndarray], None] | None = None,
) -> FitResult:
    """Train the latent SSVM by stochastic subgradient descent on a max loss over a candidate set.

    Args:
        alpha: L2 regularisation strength (the same objective scale as :func:`fit_exact`).
        oracle: "sampled" (the paper's: n_samples proposal draws per example and step) or "exact"
            (the exact loss-augmented argmax; see :mod:`zspace.structured.oracles`).
        n_samples: |T_i|, candidate (y', h') pairs drawn per example and step from the proposal.
        violator_cache: also score each example's this many highest-loss pairs of its previous
            visit (sampled oracle only; 0, the paper's setting, turns it off).
        rescaling: "slack" (the paper's loss) or "margin" (see the module docstring).
        latent: "exact" latent completion for the true outputs, or "sampled" over
            ``n_latent_samples`` proposal latents plus the example's previous imputation.
        sigma: std of the Gaussian weight perturbation eps used when scoring (0: score with w
            itself). With sigma > 0 each step follows a subgradient at w + sigma * eps, a stochastic
            estimate of the Gibbs (perturbed-weights) loss the paper's bound is about.
        batch_size, max_epochs, learning_rate: step size eta_t = lr / (1 + lr * alpha * t), the
            Pegasos 1/(alpha t) rate with a bounded first step; default lr = 0.1 / alpha.
        average: return the average of the iterates of the last half of the epochs run (Polyak-Ruppert).
        tol, n_iter_no_change: stop when the exact objective f of the returned weights, on a fixed
            subset of ``monitor_size`` training examples, has not improved by tol for that many epochs.
        H_init: starting latents, trained on in the first epoch; default ``problem.initial_latents``.
        callback: called after every epoch with (that epoch's history entry, the weights the learner
            would return now); its time is not counted in ``seconds``.

    Returns:
        FitResult; ``history`` has one entry per epoch: ``objective`` (f on the monitor subset),
        ``seconds`` (training time, the monitor's excluded), ``monitor_seconds``, ``exact_calls``
        (exact loss-augmented inferences), ``completions`` (exact latent completions),
        ``sampled_scores`` (candidate pairs scored), all cumulative and counted per example.
    """
    learning_rate = _checked_options(
        alpha=alpha,
        learning_rate=learning_rate,
        sigma=sigma,
        violator_cache=violator_cache,
        rescaling=rescaling,
        latent=latent,
        counts={
            "n_samples": n_samples,
            "n_latent_samples": n_latent_samples,
            "batch_size": batch_size,
            "max_epochs": max_epochs,
            "n_iter_no_change": n_iter_no_change,
            "monitor_size": monitor_size,
        },
    )
    source = make_oracle(problem, oracle, n_samples, violator_cache, rescaling)
    problem.validate(X, Y)
    X, Y = np.asarray(X, dtype=float), np.asarray(Y)
    m = len(X)
    rng = np.random.default_rng(seed)
    H = problem.initial_latents(X, Y, rng) if H_init is None else np.array(H_init)
    if len(H) != m:
        raise ConfigError(f"H_init must hold one latent per training example ({m}), got {len(H)}")
    monitor = np.sort(rng.permutation(m)[:monitor_size])  # fixed: the stopping rule sees no sampling noise
    if oracle == "sampled":
        source.start(X, Y, rng)
    fused = oracle == "exact" and latent == "exact"
    w = np.zeros(problem.n_features)
    tail = _TailAverage()
    result = FitResult(w=w, H=H)
    seconds, monitor_seconds, step, best, stale, completions = 0.0, 0.0, 0, np.inf, 0, 0
    for epoch in range(max_epochs):
        started = time.perf_counter()
        tail.new_epoch(problem.n_features)
        for batch in np.array_split(rng.permutation(m), max(1, m // batch_size)):
            Xb, Yb = X[batch], Y[batch]
            w_eval = w + sigma * rng.standard_normal(w.shape) if sigma > 0 else w
            if epoch > 0 and fused:  # exact inference and exact completion share one score table
                Y_hat, H_hat, H[batch] = problem.loss_augmented_and_completion(w_eval, Xb, Yb)
                Yc, Hc = np.asarray(Y_hat)[:, None], np.asarray(H_hat)[:, None]
                source.exact_calls += len(batch)
                completions += len(batch)
            else:
                if epoch > 0:  # the first epoch trains on the starting latents, as CCCP's first round does
                    H[batch] = _impute(problem, w_eval, Xb, Yb, H[batch], latent, n_latent_samples, rng)
                    completions += len(batch) if latent == "exact" else 0
                Yc, Hc = source.candidates(w_eval, Xb, Yb, batch, rng)
            if latent == "sampled":
                result.n_oracle_calls += len(batch) * (n_latent_samples + 1)
            eta = learning_rate / (1.0 + learning_rate * alpha * step)
            w = _subgradient_step(problem, w, w_eval, Xb, Yb, H[batch], Yc, Hc, batch, source, rescaling, eta, alpha)
            step += 1
            tail.add(w)
        seconds += time.perf_counter() - started
        started = time.perf_counter()
        w_out = tail.value() if average else w
        objective = latent_ssvm_objective(problem, w_out, X[monitor], Y[monitor], alpha)
        monitor_seconds += time.perf_counter() - started
        exact_calls = getattr(source, "exact_calls", 0)
        sampled_scores = getattr(source, "sampled_scores", 0)
        entry = {
            "epoch": epoch,
            "objective": objective,
            "seconds": seconds,
            "monitor_seconds": monitor_seconds,
            "exact_calls": exact_calls,
            "completions": completions,
            "sampled_scores": sampled_scores,
        }
        result.history.append(entry)
        if callback is not None:
            callback(entry, w_out)
        if objective < best - tol:
            best, stale = objective, 0
        else:
            stale += 1
            if stale >= n_iter_no_change:
                result.converged = True
                break
    result.n_oracle_calls += exact_calls + sampled_scores
    result.w = tail.value() if average else w
    result.H = H
    return result


def _checked_options(*, alpha, learning_rate, sigma, violator_cache, rescaling, latent, counts: dict[str, int]) -> float:
    """Refuse bad options of :func:`fit_perturbed` with a clear message; returns the learning rate to use."""
    _check_choice("rescaling", rescaling, ("slack", "margin"))
    _check_choice("latent", latent, ("exact", "sampled"))
    for name, value in counts.items():
        check_positive_int(name, value)
    if isinstance(violator_cache, bool) or not isinstance(violator_cache, (int, np.integer)) or violator_cache < 0:
        raise ConfigError(f"violator_cache must be an int >= 0, got {violator_cache!r}")
    if not alpha > 0:
        raise ConfigError(f"alpha must be > 0, got {alpha!r}")
    learning_rate = 0.1 / alpha if learning_rate is None else learning_rate
    if not (learning_rate > 0 and sigma >= 0):
        raise ConfigError(f"learning_rate must be > 0 and sigma >= 0, got {learning_rate=}, {sigma=}")
    return learning_rate


def _subgradient_step(problem, w, w_eval, Xb, Yb, Hb, Yc, Hc, batch, source, rescaling, eta, alpha) -> np.ndarray:
    """One SGD step on a batch: the max loss over each example's candidates (Yc, Hc: (B, n)), scored at w_eval.

    Returns ``(1 - eta alpha) w - eta * mean subgradient``; the oracle ``source`` sees every
    candidate's loss value (for its violator cache).
    """
    values, distortion = _loss_values(problem, w_eval, Xb, Yb, Hb, Yc, Hc, rescaling)
    source.remember(batch, Yc, Hc, values)
    best_j = np.argmax(values, axis=1)
    rows = np.arange(len(batch))
    losses = values[rows, best_j]
    coef = np.where(losses > 0, distortion[rows, best_j] if rescaling == "slack" else 1.0, 0.0)
    active = np.flatnonzero(coef > 0)
    # subgradient of the mean loss: coef * (phi(x, y', h') - phi(x, y, h*)) over the active examples
    violator = problem.joint_feature_sum(Xb[active], Yc[active, best_j[active]], Hc[active, best_j[active]], coef[active])
    truth = problem.joint_feature_sum(Xb[active], Yb[active], Hb[active], coef[active])
    return (1.0 - eta * alpha) * w - eta * (violator - truth) / len(batch)
