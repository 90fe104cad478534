"""Sequence labelling with latent sub-states, exact by Viterbi.

Every position t carries a label y_t in [0, C) and a latent sub-state h_t in [0, L); together
they form the joint state s_t = y_t * L + h_t in [0, S), S = C * L (an HMM-like chain whose
hidden states refine the labels, as in latent-dynamic CRFs). Shapes, for one data set:

    X (N, T, d) float    Y (N, T) int in [0, C)    H (N, T) int in [0, L)
    Yc, Hc (N, n, T)     candidates, as in :mod:`zspace.structured.problems`

All sequences of a data set share the problem's ``length`` T; variable lengths are not
supported yet (they would need a mask in every oracle).

phi(x, y, h) = [emission (S, d): row s holds sum_{t: s_t = s} x_t
               | transition (S, S): entry (a, b) counts the steps with s_{t-1} = a, s_t = b
               | start (S,): one-hot of s_0], flattened in that order, so that
w . phi = sum_t E[s_t] . x_t + sum_{t >= 1} A[s_{t-1}, s_t] + pi[s_0].
Delta(y, y') = mean_t [y_t != y'_t], the normalised Hamming distance, in [0, 1].

The three exact oracles share one max-sum pass (cost N * T * (S * d + S^2), vectorised over
examples and states; the Python loop runs over T only). It runs backwards, storing the best
value of every suffix, and then decodes forwards taking the first maximiser at each step:
ties therefore break towards the lexicographically first joint-state sequence
(s_0, s_1, ...), which is what brute-force enumeration in that order returns. Continuous
random weights make ties measure-zero anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zspace.errors import ConfigError, DataError
from zspace.structured.problems import (
    StructuredDataset,
    StructuredProblem,
    check_finite_inputs,
    check_int_range,
    check_positive_int,
)

__all__ = ["PROPOSALS", "LatentSequenceLabelling", "make_synthetic_sequences", "max_sum_decode"]

PROPOSALS = ("uniform", "local")


def max_sum_decode(unary: np.ndarray, transition: np.ndarray, start: np.ndarray) -> np.ndarray:
    """argmax_s sum_t unary[i, t, s_t] + sum_{t>=1} transition[s_{t-1}, s_t] + start[s_0] per example.

    Args:
        unary: (N, T, S) scores; -inf forbids a state at a position.
        transition: (S, S), entry (a, b) scores the step a -> b.
        start: (S,).

    Returns:
        (N, T) int states; ties go to the lexicographically first sequence (module docstring).
    """
    N, T, S = unary.shape
    suffix = np.empty((N, T, S))  # suffix[:, t, s]: best score of positions t..T-1 given s_t = s
    suffix[:, -1] = unary[:, -1]
    for t in range(T - 2, -1, -1):
        suffix[:, t] = unary[:, t] + (transition[None] + suffix[:, t + 1, None, :]).max(axis=2)  # (N, S, S) -> (N, S)
    states = np.empty((N, T), dtype=np.intp)
    states[:, 0] = np.argmax(start + suffix[:, 0], axis=1)  # argmax keeps the first maximiser
    for t in range(1, T):
        states[:, t] = np.argmax(transition[states[:, t - 1]] + suffix[:, t], axis=1)  # (N, S)
    return states


@dataclass(frozen=True)
class LatentSequenceLabelling(StructuredProblem):
    """Fixed-length sequence labelling with ``n_latent`` latent sub-states per label (problem (b)).

    Args:
        n_classes: labels C per position; y_t in {0, ..., C - 1}.
        n_latent: latent sub-states L per label; h_t in {0, ..., L - 1}.
        n_input_features: length d of each position's input x_t.
        length: T, the length shared by every sequence of a data set.
        proposal: how :meth:`sample_candidates` draws (y', h'): "uniform" draws every position's
            (y_t, h_t) iid uniform; "local" starts from the true y and redraws each label
            uniformly with probability ``proposal_flip`` (so it may redraw the same label),
            latents uniform. Local proposals stay near y, where the loss-augmented argmax
            usually lies once w is decent.
        proposal_flip: per-position redraw probability of the "local" proposal, in [0, 1].

    w has n_features = S * d + S * S + S entries, S = C * L (layout in the module docstring).
    """

    n_classes: int
    n_latent: int
    n_input_features: int
    length: int
    proposal: str = "uniform"
    proposal_flip: float = 0.2

    def __post_init__(self) -> None:
        for name in ("n_classes", "n_latent", "n_input_features", "length"):
            check_positive_int(name, getattr(self, name))
        if self.proposal not in PROPOSALS:
            raise ConfigError(f"proposal must be one of {', '.join(map(repr, PROPOSALS))}, got {self.proposal!r}")
        flip = self.proposal_flip
        if isinstance(flip, bool) or not isinstance(flip, (int, float, np.floating, np.integer)) or not 0 <= flip <= 1:
            raise ConfigError(f"proposal_flip must be a probability in [0, 1], got {flip!r}")

    @property
    def n_states(self) -> int:
        """S = n_classes * n_latent joint states (y, h), state s = y * n_latent + h."""
        return self.n_classes * self.n_latent

    @property
    def n_features(self) -> int:
        S = self.n_states
        return S * self.n_input_features + S * S + S

    # --- helpers -------------------------------------------------------------------------
    def _weights(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """w split into emission E (S, d), transition A (S, S) and start pi (S,) views."""
        w = np.asarray(w, dtype=float)
        S, d = self.n_states, self.n_input_features
        if w.shape != (self.n_features,):
            raise DataError(
                f"w must have shape ({self.n_features},) = emission S * d + transition S * S + start S "
                f"= {S} * {d} + {S} * {S} + {S} with S = n_classes * n_latent = {S}, got {w.shape}"
            )
        return w[: S * d].reshape(S, d), w[S * d : S * d + S * S].reshape(S, S), w[S * d + S * S :]

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.shape[1:] != (self.length, self.n_input_features) or X.ndim != 3:
            raise DataError(
                f"X must have shape (n_samples, {self.length}, {self.n_input_features}) = (n_samples, length, "
                f"n_input_features), got {X.shape}; every sequence must have the problem's length"
            )
        return X

    def _labels(self, name: str, values: Any, high: int, n: int) -> np.ndarray:
        values = np.asarray(values)
        if values.shape != (n, self.length):
            raise DataError(f"{name} must have shape ({n}, {self.length}) = (n_samples, length), got {values.shape}")
        return check_int_range(name, values, high)

    def state_labels(self) -> np.ndarray:
        """Label y of every joint state: (S,) ints, state s = y * n_latent + h."""
        return np.arange(self.n_states) // self.n_latent

    def unary_table(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        """E[s] . X[i, t] for every state: (N, T, S), one matmul (what exact inference pays for)."""
        return self._inputs(X) @ self._weights(w)[0].T

    def _decode(self, w: np.ndarray, unary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, A, pi = self._weights(w)
        return np.divmod(max_sum_decode(unary, A, pi), self.n_latent)

    # --- the interface -------------------------------------------------------------------
    def joint_feature_sum(self, X: np.ndarray, Y: np.ndarray, H: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """sum_i weights[i] * phi(X[i], Y[i], H[i]) for X (N, T, d), Y and H (N, T); shape (n_features,)."""
        X = self._inputs(X)
        states = self._labels("y", Y, self.n_classes, len(X)) * self.n_latent + self._labels("h", H, self.n_latent, len(X))
        S, d = self.n_states, self.n_input_features
        weight = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=float)
        per_step = np.broadcast_to(weight[:, None], states.shape).ravel()  # (N * T,)
        onehot = np.zeros((per_step.size, S))  # (N * T, S): one matmul instead of np.add.at
        onehot[np.arange(per_step.size), states.ravel()] = per_step
        emission = onehot.T @ X.reshape(-1, d)  # (S, d)
        transition = np.bincount(
            (states[:, :-1] * S + states[:, 1:]).ravel(), weights=per_step.reshape(states.shape)[:, 1:].ravel(), minlength=S * S
        )
        start = np.bincount(states[:, 0], weights=weight, minlength=S)
        return np.concatenate([emission.ravel(), transition, start]).astype(float)

    def candidate_scores(self, w: np.ndarray, X: np.ndarray, Yc: np.ndarray, Hc: np.ndarray) -> np.ndarray:
        """w . phi(X[i], Yc[i, j], Hc[i, j]): (N, n) from Yc, Hc (N, n, T).

        Gathers only the candidates' emission rows and transition entries, costing
        N * n * T * d rather than the N * T * (S * d + S^2) of Viterbi.
        """
        E, A, pi = self._weights(w)
        X = self._inputs(X)
        states = np.asarray(Yc) * self.n_latent + np.asarray(Hc)  # (N, n, T)
        if states.ndim != 3 or states.shape[::2] != (len(X), self.length):
            raise DataError(
                f"Yc and Hc must have shape ({len(X)}, n, {self.length}) = (n_samples, n, length), "
                f"got {np.shape(Yc)} and {np.shape(Hc)}"
            )
        emission = np.einsum("intd,itd->in", E[states], X)  # E[states]: (N, n, T, d)
        return emission + A[states[..., :-1], states[..., 1:]].sum(axis=-1) + pi[states[..., 0]]

    def candidate_losses(self, Y: np.ndarray, Yc: np.ndarray) -> np.ndarray:
        """Normalised Hamming distance mean_t [Y[i, t] != Yc[i, j, t]]: (N, n), in [0, 1]."""
        return (np.asarray(Y)[:, None, :] != np.asarray(Yc)).mean(axis=-1)

    def batch_latent_completion(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """argmax_h w . phi(X[i], Y[i], h): Viterbi over the states whose label is Y[i, t]; H (N, T)."""
        unary = self.unary_table(w, X)
        Y = self._labels("y", Y, self.n_classes, len(unary))
        allowed = self.state_labels()[None, None, :] == Y[:, :, None]  # (N, T, S)
        return self._decode(w, np.where(allowed, unary, -np.inf))[1]

    def batch_inference(self, w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """argmax_{y, h} w . phi(X[i], y, h) by Viterbi over S joint states: (Y, H), each (N, T)."""
        return self._decode(w, self.unary_table(w, X))

    def batch_loss_augmented_inference(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """argmax_{y', h'} Delta(Y[i], y') + w . phi(X[i], y', h'): (Y', H'), each (N, T).

        The Hamming loss decomposes over positions, so it enters Viterbi as a bonus of 1 / T on
        the unary of every state whose label differs from Y[i, t].
        """
        unary = self.unary_table(w, X)
        Y = self._labels("y", Y, self.n_classes, len(unary))
        wrong = self.state_labels()[None, None, :] != Y[:, :, None]  # (N, T, S)
        return self._decode(w, unary + wrong / self.length)

    def sample_candidates(self, X: np.ndarray, Y: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n (y', h') per example from ``self.proposal`` (see the class docstring): (Yc, Hc), each (N, n, T)."""
        shape = (len(X), n, self.length)
        labels = rng.integers(0, self.n_classes, size=shape)
        if self.proposal == "local":
            Y = self._labels("y", Y, self.n_classes, len(X))
            labels = np.where(rng.random(shape) < self.proposal_flip, labels, Y[:, None, :])
        return labels, rng.integers(0, self.n_latent, size=shape)

    def sample_latents(self, X: np.ndarray, Y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """n latent sequences per example, every position uniform over {0..L-1}: Hc (N, n, T)."""
        return rng.integers(0, self.n_latent, size=(len(X), n, self.length))

    def validate(self, X: Any, Y: Any) -> None:
        """X finite, shape (N, length, n_input_features); Y int labels, shape (N, length), in [0, n_classes)."""
        X = check_finite_inputs(
            X,
            (self.length, self.n_input_features),
            f"one sequence of length {self.length} per example; all sequences share that length",
        )
        Y = np.asarray(Y)
        if Y.shape != (len(X), self.length):
            raise DataError(f"Y must have shape ({len(X)}, {self.length}) = (n_samples, length) to match X, got {Y.shape}")
        check_int_range("Y", Y, self.n_classes)


def make_synthetic_sequences(
    n_samples: int,
    length: int,
    n_classes: int,
    n_latent: int,
    n_input_features: int,
    noise: float = 0.0,
    seed: int = 0,
) -> StructuredDataset:
    """A LatentSequenceLabelling data set labelled by a known weight vector.

    Draws w_true ~ N(0, I), then multiplies its transition and start blocks by sqrt(d): an
    emission score E[s] . x_t with x_t ~ N(0, I_d) has standard deviation about sqrt(d), so
    the scaled transitions weigh as much as the inputs and the labels are not a per-position
    classification. X ~ N(0, I) has shape (n_samples, length, d), and
    (Y, H) = Viterbi argmax of w_true . phi with noise * N(0, 1) added to every unary
    E[s] . x_t. With noise=0, w_true labels its own data perfectly.

    Returns:
        StructuredDataset with X (N, T, d) float, Y (N, T) int, the true latents H (N, T) int
        and w_true (n_features,) float.
    """
    check_positive_int("n_samples", n_samples)
    if not np.isfinite(noise) or noise < 0:
        raise ConfigError(f"noise must be a finite float >= 0, got {noise!r}")
    problem = LatentSequenceLabelling(n_classes, n_latent, n_input_features, length)
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(problem.n_features)
    w_true[problem.n_states * n_input_features :] *= np.sqrt(n_input_features)  # transition and start blocks
    X = rng.standard_normal((n_samples, length, n_input_features))
    unary = problem.unary_table(w_true, X) + noise * rng.standard_normal((n_samples, length, problem.n_states))
    Y, H = problem._decode(w_true, unary)
    return StructuredDataset(problem, X, Y.astype(int), H.astype(int), w_true)
