"""An exact active-set solver for the 1-slack dual QP of the cutting-plane method.

    max_a  a . b - 1/2 a^T K a   s.t.  a >= 0,  sum(a) <= cap

With a slack coordinate a_0 = cap - sum(a) (a zero plane: b_0 = 0, K_0. = 0) this is a convex
quadratic over the scaled simplex {a >= 0, sum = cap}. The active-set method (as Lawson-Hanson's
NNLS, with the equality constraint kept in the KKT system) solves a small linear system per change
of the support instead of taking hundreds of projected-gradient steps; warm-started from the
previous solve's support it usually needs a handful. Shapes: K (k, k), b (k,), a (k,).
"""

from __future__ import annotations

import numpy as np

__all__ = ["active_set_one_slack_dual"]


def _equality_qp(Q: np.ndarray, c: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, float]:
    """argmin 1/2 x^T Q_SS x - c_S . x s.t. sum(x) = 1 on S: (x, nu) with Q_SS x - c_S + nu = 0."""
    s = len(support)
    kkt = np.zeros((s + 1, s + 1))
    kkt[:s, :s] = Q[np.ix_(support, support)]
    kkt[:s, s] = kkt[s, :s] = 1.0
    rhs = np.append(c[support], 1.0)
    solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0]  # lstsq: planes may be linearly dependent
    return solution[:s], solution[s]


def active_set_one_slack_dual(
    K: np.ndarray, b: np.ndarray, cap: float, a0: np.ndarray, max_iter: int | None = None
) -> np.ndarray | None:
    """The dual's maximiser a (k,), or None if the active set did not settle within max_iter changes.

    a0 is a warm start; its support (plus the slack) is the first active set. The caller checks
    the duality gap of the answer and falls back to a first-order method on None.
    """
    k = len(b)
    Q = np.zeros((k + 1, k + 1))  # coordinate 0 is the slack; lambda = [a_0, a] / cap lies on the simplex
    Q[1:, 1:] = cap * K
    c = np.append(0.0, b)
    a0 = np.clip(np.asarray(a0, dtype=float), 0.0, None)
    if a0.sum() > cap:
        a0 = a0 * (cap / a0.sum())
    lam = np.append(cap - a0.sum(), a0) / cap  # feasible
    support = np.flatnonzero(lam > 0)
    scale = max(1.0, float(np.abs(c).max()), float(np.abs(Q).max()))
    for _ in range(max_iter or 10 * (k + 1) + 20):
        x, nu = _equality_qp(Q, c, support)
        if np.all(x > 0):
            lam = np.zeros(k + 1)
            lam[support] = x
            grad = Q @ lam - c  # KKT: grad_i = -nu on the support and >= -nu off it
            outside = np.setdiff1d(np.arange(k + 1), support)
            if not outside.size:
                return cap * lam[1:]
            worst = outside[np.argmin(grad[outside])]
            if grad[worst] >= -nu - 1e-10 * scale:
                return cap * lam[1:]
            support = np.sort(np.append(support, worst))
            continue
        # step from the feasible lam towards x until the first support coordinate reaches zero
        current = lam[support]
        shrinking = x <= 0
        steps = current[shrinking] / np.maximum(current[shrinking] - x[shrinking], 1e-300)
        t = float(np.min(steps))
        lam = np.zeros(k + 1)
        lam[support] = current + t * (x - current)
        support = support[lam[support] > 1e-15]
        if not support.size:
            return None
    return None
