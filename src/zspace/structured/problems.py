"""Structured prediction problems with latent variables: the oracles a latent SSVM needs.

A problem fixes the joint feature map phi(x, y, h), the task loss Delta(y, y'), the three
argmax oracles over outputs y and latent values h, and a proposal sampler of (y', h') pairs for
the randomized learner (Bello & Honorio, NeurIPS 2018). Everything is numpy and
batch-first, so learners never loop over examples or over the output space in Python:

    X  (N, *x_shape)     inputs
    Y  (N, *y_shape)     int outputs       (y_shape = () for multiclass, (T,) for sequences)
    H  (N, *h_shape)     int latent values
    Yc (N, n, *y_shape)  n candidate outputs per example; Hc (N, n, *h_shape) likewise

The weight vector w always has shape (n_features,). Single-example forms (``inference(w, x)``
and friends) are derived from the batch oracles. Ties in every argmax break towards the first
(y, h) in lexicographic order, so oracles and brute-force enumeration agree exactly.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from zspace.errors import ConfigError, DataError

__all__ = ["LatentMulticlass", "StructuredDataset", "StructuredProblem", "make_synthetic"]


def _unbatch(a: np.ndarray) -> Any:
    """First row of a batch: a Python int for scalar outputs, an array for structured ones."""
    return a[0].item() if np.ndim(a[0]) == 0 else a[0]


class StructuredProblem(abc.ABC):
    """Interface of a latent structured problem (shapes in the module docstring)."""

    loss_is_zero_one: ClassVar[bool] = False  # True where Delta is the 0/1 loss: slack = margin rescaling

    @property
    @abc.abstractmethod
    def n_features(self) -> int:
        """Length of phi(x, y, h) and of w."""

    # --- what a problem implements -------------------------------------------------------
    @abc.abstractmethod
    def joint_feature_sum(self, X: np.ndarray, Y: np.ndarray, H: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """sum_i weights[i] * phi(X[i], Y[i], H[i]) (weights default to 1), shape (n_features,)."""

    @abc.abstractmethod
    def candidate_scores(self, w: np.ndarray, X: np.ndarray, Yc: np.ndarray, Hc: np.ndarray) -> np.ndarray:
        """w . phi(X[i], Yc[i, j], Hc[i, j]), shape (N, n)."""

    @abc.abstractmethod
    def candidate_losses(self, Y: np.ndarray, Yc: np.ndarray) -> np.ndarray:
        """Delta(Y[i], Yc[i, j]) >= 0, zero iff equal; shape (N, n)."""

    @abc.abstractmethod
    def batch_latent_completion(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """argmax_h w . phi(X[i], Y[i], h) for every example: H (N, *h_shape)."""

    @abc.abstractmethod
    def batch_inference(self, w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """argmax_{y, h} w . phi(X[i], y, h) for every example: (Y, H)."""

    @abc.abstractmethod
    def batch_loss_augmented_inference(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """argmax_{y', h'} Delta(Y[i], y') + w . phi(X[i], y', h'), exact (the CCCP baseline's oracle)."""

    @abc.abstractmethod
    def sample_candidates(self, X: np.ndarray, Y: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n (y', h') pairs per example from the proposal distribution: (Yc, Hc)."""

    @abc.abstractmethod
    def sample_latents(self, X: np.ndarray, Y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """n latent values per example from the latent proposal: Hc (N, n, *h_shape)."""

    @abc.abstractmethod
    def validate(self, X: Any, Y: Any) -> None:
        """Raise :class:`zspace.errors.DataError` naming the example at fault for bad shapes or labels."""

    def initial_latents(self, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Latents to start training from, H (N, *h_shape): by default one draw of the latent proposal.

        Latent SSVMs are non-convex, so the start matters (Yu & Joachims initialise per problem);
        problems with a better heuristic override this. Both learners start from it.
        """
        return self.sample_latents(X, Y, 1, rng)[:, 0]

    # --- derived ----------------------------------------------------------------------------
    def loss_augmented_and_completion(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, ...]:
        """(Y', H') = loss-augmented argmax and H* = latent completion; problems with a score table share it."""
        Y_hat, H_hat = self.batch_loss_augmented_inference(w, X, Y)
        return Y_hat, H_hat, self.batch_latent_completion(w, X, Y)

    def scores(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray, H: np.ndarray) -> np.ndarray:
        """w . phi(X[i], Y[i], H[i]), shape (N,)."""
        return self.candidate_scores(w, X, np.asarray(Y)[:, None], np.asarray(H)[:, None])[:, 0]

    def losses(self, Y: np.ndarray, Y_pred: np.ndarray) -> np.ndarray:
        """Delta(Y[i], Y_pred[i]), shape (N,)."""
        return self.candidate_losses(Y, np.asarray(Y_pred)[:, None])[:, 0]

    def joint_feature(self, x: np.ndarray, y: Any, h: Any) -> np.ndarray:
        """phi(x, y, h), shape (n_features,)."""
        return self.joint_feature_sum(np.asarray(x)[None], np.asarray([y]), np.asarray([h]))

    def loss(self, y: Any, y_pred: Any) -> float:
        """Delta(y, y') for one pair."""
        return float(self.losses(np.asarray([y]), np.asarray([y_pred]))[0])

    def latent_completion(self, w: np.ndarray, x: np.ndarray, y: Any) -> Any:
        """argmax_h w . phi(x, y, h) for one example."""
        return _unbatch(self.batch_latent_completion(w, np.asarray(x)[None], np.asarray([y])))

    def inference(self, w: np.ndarray, x: np.ndarray) -> tuple[Any, Any]:
        """argmax_{y, h} w . phi(x, y, h) for one example, as (y, h)."""
        Y, H = self.batch_inference(w, np.asarray(x)[None])
        return _unbatch(Y), _unbatch(H)

    def loss_augmented_inference(self, w: np.ndarray, x: np.ndarray, y: Any) -> tuple[Any, Any]:
        """argmax_{y', h'} Delta(y, y') + w . phi(x, y', h') for one example, as (y', h')."""
        Y, H = self.batch_loss_augmented_inference(w, np.asarray(x)[None], np.asarray([y]))
        return _unbatch(Y), _unbatch(H)


@dataclass(frozen=True)
class StructuredDataset:
    """A problem with its data; ``H`` and ``w_true`` are known only for generated data."""

    problem: StructuredProblem
    X: np.ndarray
    Y: np.ndarray
    H: np.ndarray | None = None
    w_true: np.ndarray | None = None


def check_positive_int(name: str, value: Any) -> None:
    """Raise ConfigError unless ``value`` is an int >= 1 (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}")


def check_int_range(name: str, values: Any, high: int) -> np.ndarray:
    """``values`` as an int array, or a DataError naming the first entry outside [0, high)."""
    values = np.asarray(values)
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise DataError(f"{name} must hold ints in [0, {high}), got dtype {values.dtype}")
    bad = np.flatnonzero((values < 0) | (values >= high))
    if bad.size:
        where = np.unravel_index(bad[0], values.shape)
        raise DataError(
            f"{name}[{', '.join(map(str, where))}] = {values[where]} is out of range: values must lie in "
            f"[0, {high}) ({bad.size} bad values in all)"
        )
    return values.astype(np.intp, copy=False)


def check_finite_inputs(X: Any, example_shape: tuple[int, ...], what: str) -> np.ndarray:
    """X as a float array of shape (N, *example_shape) with finite values, or a DataError naming the fault."""
    X = np.asarray(X)
    expected = f"(n_samples, {', '.join(map(str, example_shape))})"
    if X.ndim != 1 + len(example_shape):
        raise DataError(f"X must have shape {expected} ({what}), got {X.shape}")
    if X.shape[1:] != example_shape:
        raise DataError(
            f"X must have shape {expected} ({what}), got {X.shape}: each example has shape {X.shape[1:]}, "
            f"expected {example_shape}"
        )
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise DataError(f"X must be real-valued, got dtype {X.dtype}")
    bad = np.flatnonzero(~np.isfinite(X.reshape(len(X), -1)).all(axis=1))
    if bad.size:
        raise DataError(f"X has a non-finite value in example {bad[0]} (and {bad.size - 1} more)")
    return X.astype(float, copy=False)


@dataclass(frozen=True)
class LatentMulticlass(StructuredProblem):
    """Multiclass classification where each class has ``n_latent`` latent sub-classes.

    Args:
        n_classes: number of output labels; y in {0, ..., n_classes - 1}.
        n_latent: latent sub-classes per label; h in {0, ..., n_latent - 1}.
        n_input_features: length d of each input x, shape (d,).

    phi(x, y, h) is zero except block (y, h), which holds x, so w reshapes to
    (n_classes, n_latent, d) and w . phi(x, y, h) = W[y, h] . x. Delta is the 0/1 loss.
    Proposals are uniform over outputs x latents.
    """

    n_classes: int
    n_latent: int
    n_input_features: int
    loss_is_zero_one: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for name in ("n_classes", "n_latent", "n_input_features"):
            check_positive_int(name, getattr(self, name))

    @property
    def n_features(self) -> int:
        return self.n_classes * self.n_latent * self.n_input_features

    # --- helpers -------------------------------------------------------------------------
    def _weights(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        if w.shape != (self.n_features,):
            raise DataError(f"w must have shape ({self.n_features},) = (n_classes * n_latent * n_input_features,), got {w.shape}")
        return w.reshape(self.n_classes * self.n_latent, self.n_input_features)  # (C * L, d), row y * L + h

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_input_features:
            raise DataError(f"X must have shape (n_samples, {self.n_input_features}), got {X.shape}")
        return X

    def score_table(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        """w . phi(X[i], y, h) for every (y, h): shape (N, n_classes, n_latent); one matmul."""
        X = self._inputs(X)
        return (X @ self._weights(w).T).reshape(len(X), self.n_classes, self.n_latent)

    def _argmax_pairs(self, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = np.argmax(table.reshape(len(table), -1), axis=1)  # first maximiser in (y, h) order
        return np.divmod(flat, self.n_latent)

    # --- the interface -------------------------------------------------------------------
    def joint_feature_sum(self, X: np.ndarray, Y: np.ndarray, H: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """sum_i weights[i] * phi(X[i], Y[i], H[i]) for X (N, d), Y (N,), H (N,); shape (n_features,)."""
        X = self._inputs(X)
        Y = check_int_range("y", Y, self.n_classes)
        H = check_int_range("h", H, self.n_latent)
        rows = Y * self.n_latent + H
        onehot = np.zeros((len(rows), self.n_classes * self.n_latent))  # (N, C * L)
        onehot[np.arange(len(rows)), rows] = 1.0 if weights is None else weights
        return (onehot.T @ X).ravel()  # one matmul: np.add.at is an order of magnitude slower

    def candidate_scores(self, w: np.ndarray, X: np.ndarray, Yc: np.ndarray, Hc: np.ndarray) -> np.ndarray:
        """W[Yc[i, j], Hc[i, j]] . X[i], shape (N, n): costs N * n * d, not N * C * L * d."""
        rows = self._weights(w)[np.asarray(Yc) * self.n_latent + np.asarray(Hc)]  # (N, n, d)
        return np.einsum("ijd,id->ij", rows, self._inputs(X))

    def candidate_losses(self, Y: np.ndarray, Yc: np.ndarray) -> np.ndarray:
        """0/1 loss, shape (N, n)."""
        return (np.asarray(Y)[:, None] != np.asarray(Yc)).astype(float)

    def batch_latent_completion(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """argmax_h W[Y[i], h] . X[i]: H (N,) ints; scores label Y[i]'s L rows only, not all C * L."""
        Y = check_int_range("y", Y, self.n_classes)
        rows = self._weights(w).reshape(self.n_classes, self.n_latent, self.n_input_features)[Y]  # (N, L, d)
        return np.argmax(np.einsum("nld,nd->nl", rows, self._inputs(X)), axis=1)

    def loss_augmented_and_completion(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, ...]:
        """(Y', H') of loss-augmented inference and H* of latent completion from one score table."""
        Y = check_int_range("y", Y, self.n_classes)
        table = self.score_table(w, X)
        wrong = np.arange(self.n_classes)[None, :] != Y[:, None]  # (N, C)
        Y_hat, H_hat = self._argmax_pairs(table + wrong[:, :, None])
        return Y_hat, H_hat, np.argmax(table[np.arange(len(Y)), Y], axis=1)

    def batch_inference(self, w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """argmax_{y, h} W[y, h] . X[i]: (Y (N,), H (N,))."""
        return self._argmax_pairs(self.score_table(w, X))

    def batch_loss_augmented_inference(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """argmax_{y', h'} [y' != Y[i]] + W[y', h'] . X[i]: (Y' (N,), H' (N,))."""
        Y = check_int_range("y", Y, self.n_classes)
        wrong = np.arange(self.n_classes)[None, :] != Y[:, None]  # (N, C)
        return self._argmax_pairs(self.score_table(w, X) + wrong[:, :, None])

    def sample_candidates(self, X: np.ndarray, Y: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n pairs (y', h') per example, uniform and independent over {0..C-1} x {0..L-1}."""
        N = len(X)
        return rng.integers(0, self.n_classes, size=(N, n)), rng.integers(0, self.n_latent, size=(N, n))

    def sample_latents(self, X: np.ndarray, Y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """n latent values per example, uniform over {0..L-1}: (N, n)."""
        return rng.integers(0, self.n_latent, size=(len(X), n))

    def initial_latents(self, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Per-class spherical k-means on X (n_latent clusters per class), as mixture models are usually seeded."""
        from sklearn.cluster import KMeans  # only fitting needs scikit-learn

        X = self._inputs(X)
        Y = check_int_range("Y", Y, self.n_classes)
        directions = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        H = np.zeros(len(Y), dtype=np.intp)
        for label in np.unique(Y):
            members = np.flatnonzero(Y == label)
            n_clusters = min(self.n_latent, len(members))
            seed = int(rng.integers(2**31))
            H[members] = KMeans(n_clusters, n_init=3, random_state=seed).fit_predict(directions[members])
        return H

    def validate(self, X: Any, Y: Any) -> None:
        """X finite, shape (N, n_input_features); Y int labels, shape (N,), in [0, n_classes)."""
        X = check_finite_inputs(X, (self.n_input_features,), "one feature vector per example")
        Y = np.asarray(Y)
        if Y.ndim != 1 or len(Y) != len(X):
            raise DataError(f"Y must have shape ({len(X)},) to match X, got {Y.shape}")
        check_int_range("Y", Y, self.n_classes)


def make_synthetic(
    n_samples: int, n_classes: int, n_latent: int, n_input_features: int, noise: float = 0.0, seed: int = 0
) -> StructuredDataset:
    """A LatentMulticlass data set labelled by a known weight vector (problem (d)).

    Draws w_true ~ N(0, I) of shape (n_features,) and X ~ N(0, I) of shape (n_samples, d), then
    sets (y_i, h_i) = argmax_{y, h} W_true[y, h] . x_i + noise * eps_{i,y,h}, eps ~ N(0, 1).
    With noise=0, w_true labels its own data perfectly. The output-space and latent-space sizes
    are the knobs that make exact inference expensive.

    Returns:
        StructuredDataset with X (n_samples, d) float, Y (n_samples,) int, the true latents
        H (n_samples,) int and w_true (n_features,) float.
    """
    check_positive_int("n_samples", n_samples)
    if not np.isfinite(noise) or noise < 0:
        raise ConfigError(f"noise must be a finite float >= 0, got {noise!r}")
    problem = LatentMulticlass(n_classes=n_classes, n_latent=n_latent, n_input_features=n_input_features)
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(problem.n_features)
    X = rng.standard_normal((n_samples, n_input_features))
    table = problem.score_table(w_true, X) + noise * rng.standard_normal((n_samples, n_classes, n_latent))
    Y, H = problem._argmax_pairs(table)
    return StructuredDataset(problem, X, Y.astype(int), H.astype(int), w_true)
