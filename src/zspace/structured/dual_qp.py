"""An exact active-set solver for the 1-slack dual QP of the cutting-plane method.

    max_a  a . b - 1/2 a^T K a   s.t.  a >= 0,  sum(a) <= cap

With a slack coordinate a_0 = cap - sum(a) (a zero plane: b_0 = 0, K_0. = 0) this is a convex
quadratic over the scaled simplex {a >= 0, sum = cap}. The active-set method (as Lawson-Hanson's
NNLS, with the equality constraint kept in the KKT system) solves a small linear system per change
of the support instead of taking hundreds of projected-gradient steps; warm-started from the
previous solve's support it usually needs a handful. Shapes: K (k, k), b (k,), a (k,).

K is only positive *semi*-definite (more planes than features make them linearly dependent), so
the QP restricted to a support can be unbounded below along a direction of zero curvature. The
method then moves along that direction until a coordinate reaches zero (Nocedal & Wright,
Numerical Optimization, 2nd ed., Sec. 16.5, the singular case of the primal active-set method).
"""

from __future__ import annotations

import numpy as np

__all__ = ["active_set_one_slack_dual"]


def _equality_qp(Q: np.ndarray, c: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, float, np.ndarray | None]:
    """argmin 1/2 x^T Q_SS x - c_S . x s.t. sum(x) = 1 on S.

    Returns (x, nu, None) with Q_SS x - c_S + nu = 0 when a minimiser exists; otherwise
    (x, nu, d): the problem is unbounded below along d (s,), which has Q_SS d = 0, sum(d) = 0 and
    c_S . d > 0. d is the least-squares residual of the KKT system [[Q_SS, 1], [1^T, 0]]: for a
    symmetric matrix the residual is the right-hand side's component in the null space, and every
    null vector (d, mu) has Q_SS d = 0 (Q_SS is PSD), mu = 0 and sum(d) = 0.
    """
    s = len(support)
    kkt = np.zeros((s + 1, s + 1))
    kkt[:s, :s] = Q[np.ix_(support, support)]
    kkt[:s, s] = kkt[s, :s] = 1.0
    rhs = np.append(c[support], 1.0)
    # rcond relative to the largest singular value: nearly dependent planes count as dependent, so
    # the unbounded case shows up as a residual instead of a huge, inaccurate x
    solution = np.linalg.lstsq(kkt, rhs, rcond=1e-10)[0]
    residual = rhs - kkt @ solution
    unbounded = float(np.linalg.norm(residual)) > 1e-9 * max(1.0, float(np.linalg.norm(rhs)))
    return solution[:s], solution[s], residual[:s] if unbounded else None


def _ratio_step(lam: np.ndarray, support: np.ndarray, direction: np.ndarray, t_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Move lam[support] along direction by the largest t <= t_max keeping lam >= 0; drop zeroed coordinates."""
    current = lam[support]
    falling = direction < 0
    t = min(t_max, float(np.min(current[falling] / -direction[falling]))) if falling.any() else t_max
    lam = np.zeros_like(lam)
    lam[support] = np.maximum(current + t * direction, 0.0)
    return lam, support[lam[support] > 1e-15]


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
        x, nu, ray = _equality_qp(Q, c, support)
        if ray is not None:  # unbounded on the support: follow the zero-curvature descent ray to a bound
            lam, support = _ratio_step(lam, support, ray, np.inf)
            if not support.size:
                return None
            continue
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
        lam, support = _ratio_step(lam, support, x - lam[support], 1.0)
        if not support.size:
            return None
    return None
