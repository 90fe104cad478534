"""The exact latent structural SVM of Yu & Joachims (ICML 2009): CCCP around 1-slack cutting planes.

Objective (margin rescaling, regularisation ``alpha`` as in scikit-learn's SGDClassifier):

    f(w) = alpha/2 ||w||^2 + 1/m sum_i [ max_{y, h} (Delta(y_i, y) + w . phi(x_i, y, h))
                                         - max_h w . phi(x_i, y_i, h) ]

The second max makes f non-convex. CCCP (Yu & Joachims, Sec. 3) linearises it at w_t by imputing
h*_i = argmax_h w_t . phi(x_i, y_i, h), which leaves a convex upper bound g_t(w) >= f(w) with
g_t(w_t) = f(w_t); minimising g_t gives f(w_{t+1}) <= g_t(w_{t+1}) <= g_t(w_t) = f(w_t), so f
never increases. The convex step is a fully observed SSVM, solved by the 1-slack cutting-plane
method (Joachims, Finley & Yu 2009) whose planes each cost one *exact* loss-augmented
inference over the whole output x latent space per example: the cost the randomized learner avoids.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import ThreadpoolController

from zspace.errors import ConfigError
from zspace.structured.dual_qp import active_set_one_slack_dual
from zspace.structured.problems import StructuredProblem, check_positive_int

__all__ = ["FitResult", "fit_exact", "latent_ssvm_objective", "solve_one_slack_dual"]


@dataclass
class FitResult:
    """What a learner returns.

    Attributes:
        w: learned weights, shape (n_features,).
        H: the training latents imputed with the final w.
        history: one dict per CCCP round (exact) or epoch (perturbed), with at least
            ``objective`` and ``seconds`` (cumulative wall time).
        n_oracle_calls: loss-augmented / candidate evaluations, counted per example.
        converged: whether a stopping criterion (not the iteration cap) ended training.
    """

    w: np.ndarray
    H: np.ndarray
    history: list[dict] = field(default_factory=list)
    n_oracle_calls: int = 0
    converged: bool = False


def _objective_and_latents(problem, w, X, Y, alpha, chunk: int = 128) -> tuple[float, np.ndarray]:
    """f(w) with exact oracles, and the latents it imputes for the true outputs.

    Runs over ``chunk`` examples at a time: score tables of all of X at once (alignment: N x L x
    window pixels) outgrow the CPU caches and cost several times more per example.
    """
    hinges, latents = [], []
    for start in range(0, len(X), chunk):
        Xc, Yc = X[start : start + chunk], Y[start : start + chunk]
        Y_hat, H_hat, H_star = problem.loss_augmented_and_completion(w, Xc, Yc)
        hinges.append(problem.losses(Yc, Y_hat) + problem.scores(w, Xc, Y_hat, H_hat) - problem.scores(w, Xc, Yc, H_star))
        latents.append(H_star)
    return float(0.5 * alpha * w @ w + np.concatenate(hinges).mean()), np.concatenate(latents)


def latent_ssvm_objective(problem: StructuredProblem, w: np.ndarray, X: np.ndarray, Y: np.ndarray, alpha: float) -> float:
    """f(w) above, with exact oracles; the training criterion both learners are judged by."""
    return _objective_and_latents(problem, w, X, Y, alpha)[0]


def _project_capped_simplex(v: np.ndarray, cap: float) -> np.ndarray:
    """Euclidean projection of v onto {a >= 0, sum(a) <= cap} (sort-based, Duchi et al. 2008)."""
    clipped = np.maximum(v, 0.0)
    if clipped.sum() <= cap:
        return clipped
    u = np.sort(v)[::-1]
    excess = np.cumsum(u) - cap
    k = np.flatnonzero(u - excess / np.arange(1, len(u) + 1) > 0)[-1]
    return np.maximum(v - excess[k] / (k + 1), 0.0)


_THREADPOOLS = ThreadpoolController()  # built once: finding the loaded BLAS libraries is the slow part


def _duality_gap(K: np.ndarray, b: np.ndarray, cap: float, a: np.ndarray) -> float:
    """1/2||w||^2 + cap * max(0, max_k b_k - (K a)_k) minus the dual value, w = G^T a; >= 0 for feasible a."""
    Ka = K @ a
    return float(a @ Ka + cap * max(0.0, float(np.max(b - Ka))) - a @ b)


def solve_one_slack_dual(
    K: np.ndarray, b: np.ndarray, cap: float, a0: np.ndarray, tol: float, max_iter: int = 5000
) -> np.ndarray:
    """max_a a . b - 1/2 a^T K a  s.t. a >= 0, sum(a) <= cap, to a duality gap <= tol.

    First the exact active-set method of :mod:`zspace.structured.dual_qp` (a few small linear
    solves); if it does not settle or misses the gap, accelerated projected gradient from its answer.
    """
    a = active_set_one_slack_dual(K, b, cap, a0)
    if a is not None and np.all(a >= 0) and a.sum() <= cap * (1 + 1e-9) and _duality_gap(K, b, cap, a) <= tol:
        return a
    return _projected_gradient_dual(K, b, cap, a0 if a is None else a, tol, max_iter)


def _projected_gradient_dual(K: np.ndarray, b: np.ndarray, cap: float, a0: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
    """The same dual by accelerated projected gradient with adaptive restart (the fallback).

    K (k, k) is the Gram matrix of the planes' feature differences, b (k,) their losses. Every
    iteration is one (k, k) matvec, so no Python loop runs per coordinate. Stops when the
    primal-dual gap, 1/2||w||^2 + cap * max(0, max_k b_k - (K a)_k) minus the dual value, is below tol.
    """
    step = 1.0 / max(float(np.linalg.eigvalsh(K)[-1]), 1e-12)
    a = _project_capped_simplex(np.asarray(a0, dtype=float), cap)
    y, t = a.copy(), 1.0
    for _ in range(max_iter):
        Ka = K @ a
        dual = a @ b - 0.5 * a @ Ka
        primal = 0.5 * a @ Ka + cap * max(0.0, float(np.max(b - Ka)))
        if primal - dual <= tol:
            break
        a_next = _project_capped_simplex(y + step * (b - K @ y), cap)
        if (a_next - a) @ (b - Ka) < 0:  # momentum points downhill: restart (O'Donoghue & Candes 2015)
            y, t = a.copy(), 1.0
            continue
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = a_next + (t - 1) / t_next * (a_next - a)
        a, t = a_next, t_next
    return a


@dataclass
class _WorkingSet:
    """Cutting planes, kept across CCCP rounds.

    Plane k is one choice of (y^_i, h^_i) for every example, stored as Psi_k = sum_i phi(x_i, y^_i, h^_i)
    and b_k = mean_i Delta(y_i, y^_i). Its feature difference g_k = (Phi_star - Psi_k) / m depends on the
    imputed latents only through Phi_star = sum_i phi(x_i, y_i, h*_i), so planes stay valid when the
    latents change. ``idle`` counts consecutive dual solves in which a plane had zero weight.
    """

    Psi: list[np.ndarray] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    idle: list[int] = field(default_factory=list)

    def keep(self, mask: np.ndarray) -> None:
        self.Psi = [p for p, k in zip(self.Psi, mask) if k]
        self.b = [v for v, k in zip(self.b, mask) if k]
        self.idle = [v for v, k in zip(self.idle, mask) if k]


def _convex_step(problem, X, Y, Phi_star, w, alpha, tol, max_planes, planes, max_idle=50):
    """Minimise g_t (the objective with latents fixed) by 1-slack cutting planes.

    Returns (w, g_t(w), oracle passes over the data, whether the tol criterion was met).
    """
    m = len(X)
    cap = 1.0 / alpha  # the 1-slack primal 1/2||w||^2 + C xi with C = 1/alpha is our objective / alpha
    G = (Phi_star[None, :] - np.asarray(planes.Psi)) / m if planes.b else np.zeros((0, len(w)))  # (k, n_features)
    K = G @ G.T
    a = np.zeros(len(planes.b))

    def resolve(G, K, a):
        a = solve_one_slack_dual(K, np.asarray(planes.b), cap, a, tol=tol / (10 * alpha))
        planes.idle = [0 if weight > 0 else idle + 1 for weight, idle in zip(a, planes.idle)]
        mask = np.asarray(planes.idle) <= max_idle  # drop planes unused for max_idle solves
        if not mask.all():
            planes.keep(mask)
            G, K, a = G[mask], K[np.ix_(mask, mask)], a[mask]
        return G, K, a, G.T @ a

    if planes.b:  # the planes' differences moved with the new imputation: re-solve before the first check
        G, K, a, w = resolve(G, K, a)
    passes = 0
    while True:
        Y_hat, H_hat = problem.batch_loss_augmented_inference(w, X, Y)
        passes += 1
        psi = problem.joint_feature_sum(X, Y_hat, H_hat)
        b_new = float(problem.losses(Y, Y_hat).mean())
        g_new = (Phi_star - psi) / m
        hinge = b_new - g_new @ w  # the exact hinge term of g_t at w: the most violated plane
        slack = max(0.0, float(np.max(np.asarray(planes.b) - G @ w))) if planes.b else 0.0
        objective = 0.5 * alpha * w @ w + hinge
        if hinge <= slack + tol or len(planes.b) >= max_planes:
            return w, objective, passes, hinge <= slack + tol
        planes.Psi.append(psi)
        planes.b.append(b_new)
        planes.idle.append(0)
        cross = G @ g_new  # grow the Gram matrix by one row and column: O(k * n_features), not O(k^2 * n_features)
        K = np.block([[K, cross[:, None]], [cross[None, :], np.array([[g_new @ g_new]])]])
        G = np.vstack([G, g_new])
        G, K, a, w = resolve(G, K, np.append(a, 0.0))


def fit_exact(
    problem: StructuredProblem,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    alpha: float = 1e-2,
    tol: float = 1e-3,
    max_rounds: int = 20,
    max_planes: int = 500,
    H_init: np.ndarray | None = None,
    seed: int = 0,
) -> FitResult:
    """Train the exact latent SSVM by CCCP (Yu & Joachims 2009, Alg. 1).

    Args:
        problem, X, Y: the problem and training data (validated here).
        alpha: L2 regularisation strength (objective in the module docstring).
        tol: cutting-plane precision on the hinge (the convex step is tol-optimal) and the CCCP stop:
            training ends when a round lowers f by less than tol.
        max_rounds: cap on CCCP rounds; max_planes: cap on planes per convex step.
        H_init: latents for the first round; default: ``problem.initial_latents`` seeded by ``seed``
            (w = 0 would impute the same latent everywhere).
        seed: seeds the default H_init.

    Returns:
        FitResult; ``history[t]`` holds f(w_t) after round t, the planes used and the oracle passes.
    """
    if not (alpha > 0 and tol > 0):
        raise ConfigError(f"alpha and tol must be > 0, got {alpha=}, {tol=}")
    for name, value in (("max_rounds", max_rounds), ("max_planes", max_planes)):
        check_positive_int(name, value)
    problem.validate(X, Y)
    X, Y = np.asarray(X, dtype=float), np.asarray(Y)
    start = time.perf_counter()
    H = problem.initial_latents(X, Y, np.random.default_rng(seed)) if H_init is None else np.asarray(H_init)
    w = np.zeros(problem.n_features)
    planes = _WorkingSet()
    result = FitResult(w=w, H=H)
    previous = np.inf
    for round_ in range(max_rounds):
        Phi_star = problem.joint_feature_sum(X, Y, H)
        # the convex step solves thousands of small dual QPs: a multi-threaded BLAS only adds hand-offs,
        # and on a busy CPU its spinning threads made a fit over 10x slower
        with _THREADPOOLS.limit(limits=1, user_api="blas"):
            w_new, surrogate, passes, solved = _convex_step(problem, X, Y, Phi_star, w, alpha, tol, max_planes, planes)
        result.n_oracle_calls += passes * len(X)
        objective, H_new = _objective_and_latents(problem, w_new, X, Y, alpha)
        result.n_oracle_calls += len(X)
        if objective > previous:  # only possible within the tol-slack of the convex step: keep w_t
            result.converged = True
            break
        w, H = w_new, H_new
        result.history.append(
            {
                "round": round_,
                "objective": objective,
                "surrogate": surrogate,
                "planes": len(planes.b),
                "oracle_passes": passes,
                "step_solved": solved,
                "seconds": time.perf_counter() - start,
            }
        )
        if previous - objective < tol:
            result.converged = True
            break
        previous = objective
    result.w, result.H = w, H
    return result
