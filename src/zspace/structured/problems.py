"""Structured prediction problems with latent variables: the oracles a latent SSVM needs.

A problem fixes the joint feature map phi(x, y, h), the task loss Delta(y, y') and the three
argmax oracles over outputs y and latent values h, plus a proposal sampler of (y', h') pairs
for the randomized learner (Bello & Honorio, NeurIPS 2018, Sec. 3). Everything is numpy; the
weight vector w always has shape (n_features,).

Ties in every argmax break towards the first (y, h) in lexicographic order, so oracles and
brute-force enumeration agree exactly.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import numpy as np

from zspace.errors import ConfigError, DataError

__all__ = ["LatentMulticlass", "StructuredProblem", "make_synthetic"]


class StructuredProblem(abc.ABC):
    """Interface of a latent structured problem.

    x: one input (np.ndarray); y: an output label (int, or an int array for sequences);
    h: a latent value (int or int array). ``n_features`` is the length of phi.
    """

    n_features: int

    @abc.abstractmethod
    def joint_feature(self, x: np.ndarray, y: Any, h: Any) -> np.ndarray:
        """phi(x, y, h), shape (n_features,)."""

    @abc.abstractmethod
    def loss(self, y: Any, y_pred: Any) -> float:
        """Task loss Delta(y, y') >= 0, zero iff y == y'."""

    @abc.abstractmethod
    def latent_completion(self, w: np.ndarray, x: np.ndarray, y: Any) -> Any:
        """argmax_h w . phi(x, y, h): impute the latent of a labelled example."""

    @abc.abstractmethod
    def inference(self, w: np.ndarray, x: np.ndarray) -> tuple[Any, Any]:
        """argmax_{y, h} w . phi(x, y, h): the prediction (y, h)."""

    @abc.abstractmethod
    def loss_augmented_inference(self, w: np.ndarray, x: np.ndarray, y: Any) -> tuple[Any, Any]:
        """argmax_{y', h'} Delta(y, y') + w . phi(x, y', h'), exact (for the CCCP baseline)."""

    @abc.abstractmethod
    def sample_proposals(self, x: np.ndarray, y: Any, n: int, rng: np.random.Generator) -> list[tuple[Any, Any]]:
        """n random (y', h') pairs from the proposal distribution (uniform over outputs x latents by default)."""

    @abc.abstractmethod
    def validate(self, X: Any, Y: Any) -> None:
        """Raise :class:`zspace.errors.DataError` naming the example at fault for bad shapes or labels."""

    def joint_feature_sum(self, X: np.ndarray, Y: Any, H: Any) -> np.ndarray:
        """sum_i phi(X[i], Y[i], H[i]), shape (n_features,). Subclasses override with a vectorised form."""
        total = np.zeros(self.n_features)
        for x, y, h in zip(X, Y, H):
            total += self.joint_feature(x, y, h)
        return total


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}")


@dataclass(frozen=True)
class LatentMulticlass(StructuredProblem):
    """Multiclass classification where each class has ``n_latent`` latent sub-classes.

    Args:
        n_classes: number of output labels; y in {0, ..., n_classes - 1}.
        n_latent: latent sub-classes per label; h in {0, ..., n_latent - 1}.
        n_input_features: length d of each input x, shape (d,).

    phi(x, y, h) is zero except block (y, h), which holds x, so w reshapes to
    (n_classes, n_latent, d) and w . phi(x, y, h) = W[y, h] . x. Delta is the 0/1 loss.
    """

    n_classes: int
    n_latent: int
    n_input_features: int

    def __post_init__(self) -> None:
        for name in ("n_classes", "n_latent", "n_input_features"):
            _check_positive_int(name, getattr(self, name))

    @property
    def n_features(self) -> int:  # type: ignore[override]
        return self.n_classes * self.n_latent * self.n_input_features

    # --- helpers -------------------------------------------------------------------------
    def _weights(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        if w.shape != (self.n_features,):
            raise DataError(f"w must have shape ({self.n_features},) = (n_classes * n_latent * n_input_features,), got {w.shape}")
        return w.reshape(self.n_classes, self.n_latent, self.n_input_features)  # (C, L, d)

    def _check_label(self, y: Any, what: str = "y") -> int:
        if not isinstance(y, (int, np.integer)) or isinstance(y, bool) or not 0 <= y < self.n_classes:
            raise DataError(f"{what} must be an int in [0, {self.n_classes}), got {y!r}")
        return int(y)

    def scores(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        """w . phi(x, y, h) for all (y, h): x of shape (d,) gives (C, L); X of shape (N, d) gives (N, C, L)."""
        W = self._weights(w)  # (C, L, d)
        X = np.asarray(X, dtype=float)
        if X.shape[-1:] != (self.n_input_features,):
            raise DataError(f"x must have last dimension {self.n_input_features}, got shape {X.shape}")
        return np.einsum("cld,...d->...cl", W, X)

    def _unravel(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.divmod(flat, self.n_latent)  # flat index over (C, L) -> (y, h)

    # --- the interface -------------------------------------------------------------------
    def joint_feature(self, x: np.ndarray, y: Any, h: Any) -> np.ndarray:
        """phi(x, y, h), shape (n_classes * n_latent * n_input_features,): x placed in block (y, h)."""
        y = self._check_label(y)
        if not isinstance(h, (int, np.integer)) or not 0 <= h < self.n_latent:
            raise DataError(f"h must be an int in [0, {self.n_latent}), got {h!r}")
        x = np.asarray(x, dtype=float)
        if x.shape != (self.n_input_features,):
            raise DataError(f"x must have shape ({self.n_input_features},), got {x.shape}")
        phi = np.zeros((self.n_classes, self.n_latent, self.n_input_features))  # (C, L, d)
        phi[y, h] = x
        return phi.ravel()

    def joint_feature_sum(self, X: np.ndarray, Y: Any, H: Any) -> np.ndarray:
        """sum_i phi(X[i], Y[i], H[i]) for X (N, d), Y (N,), H (N,); shape (n_features,)."""
        total = np.zeros((self.n_classes, self.n_latent, self.n_input_features))  # (C, L, d)
        np.add.at(total, (np.asarray(Y, dtype=int), np.asarray(H, dtype=int)), np.asarray(X, dtype=float))
        return total.ravel()

    def loss(self, y: Any, y_pred: Any) -> float:
        """0/1 loss: 1.0 if y != y_pred else 0.0."""
        return float(int(y) != int(y_pred))

    def latent_completion(self, w: np.ndarray, x: np.ndarray, y: Any) -> int:
        """argmax_h W[y, h] . x, an int in [0, n_latent)."""
        y = self._check_label(y)
        return int(np.argmax(self.scores(w, x)[y]))

    def inference(self, w: np.ndarray, x: np.ndarray) -> tuple[int, int]:
        """argmax_{y, h} W[y, h] . x as (y, h)."""
        y, h = self._unravel(np.argmax(self.scores(w, x)))
        return int(y), int(h)

    def loss_augmented_inference(self, w: np.ndarray, x: np.ndarray, y: Any) -> tuple[int, int]:
        """argmax_{y', h'} [y' != y] + W[y', h'] . x as (y', h')."""
        y = self._check_label(y)
        augmented = self.scores(w, x) + (np.arange(self.n_classes) != y)[:, None]  # (C, L)
        y_hat, h_hat = self._unravel(np.argmax(augmented))
        return int(y_hat), int(h_hat)

    def batch_inference(self, w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """inference for every row of X (N, d): returns Y (N,) and H (N,) int arrays."""
        S = self.scores(w, np.atleast_2d(X)).reshape(len(np.atleast_2d(X)), -1)  # (N, C * L)
        return self._unravel(np.argmax(S, axis=1))

    def batch_latent_completion(self, w: np.ndarray, X: np.ndarray, Y: Any) -> np.ndarray:
        """latent_completion for every row: X (N, d), Y (N,) -> H (N,) int array."""
        S = self.scores(w, np.atleast_2d(X))  # (N, C, L)
        Y = np.asarray(Y, dtype=int)
        return np.argmax(S[np.arange(len(Y)), Y], axis=1)

    def sample_proposals(self, x: np.ndarray, y: Any, n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
        """n pairs (y', h') drawn uniformly and independently from {0..C-1} x {0..L-1}."""
        ys = rng.integers(0, self.n_classes, size=n)
        hs = rng.integers(0, self.n_latent, size=n)
        return [(int(a), int(b)) for a, b in zip(ys, hs)]

    def validate(self, X: Any, Y: Any) -> None:
        """X must be finite, shape (N, n_input_features); Y int labels, shape (N,), in [0, n_classes)."""
        X = np.asarray(X)
        Y = np.asarray(Y)
        d = self.n_input_features
        if X.ndim != 2:
            raise DataError(f"X must have shape (n_samples, {d}), got {X.shape}")
        if X.shape[1] != d:
            raise DataError(f"X must have shape (n_samples, {d}), got {X.shape}: example 0 has {X.shape[1]} features, expected {d}")
        if not np.issubdtype(X.dtype, np.number):
            raise DataError(f"X must be numeric, got dtype {X.dtype}")
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
        if bad.size:
            raise DataError(f"X has a non-finite value in example {bad[0]} (and {bad.size - 1} more)")
        if Y.ndim != 1 or len(Y) != len(X):
            raise DataError(f"Y must have shape ({len(X)},) to match X, got {Y.shape}")
        if len(Y) and not np.issubdtype(Y.dtype, np.integer):
            raise DataError(f"Y must hold int labels in [0, {self.n_classes}), got dtype {Y.dtype}")
        bad = np.flatnonzero((Y < 0) | (Y >= self.n_classes))
        if bad.size:
            raise DataError(f"Y[{bad[0]}] = {Y[bad[0]]} is out of range: labels must lie in [0, {self.n_classes})"
                            f" ({bad.size} bad labels in all)")


def make_synthetic(
    n_samples: int, n_classes: int, n_latent: int, n_input_features: int, noise: float = 0.0, seed: int = 0
) -> tuple[LatentMulticlass, np.ndarray, np.ndarray, np.ndarray]:
    """A LatentMulticlass data set labelled by a known weight vector.

    Draws w_true ~ N(0, I) of shape (n_features,) and X ~ N(0, I) of shape (n_samples, d), then
    sets (y_i, h_i) = argmax_{y, h} W_true[y, h] . x_i + noise * eps_{i,y,h}, eps ~ N(0, 1);
    the latents h are hidden. With noise=0, w_true labels its own data perfectly.

    Returns:
        (problem, X (n_samples, d) float, Y (n_samples,) int, w_true (n_features,) float).
    """
    _check_positive_int("n_samples", n_samples)
    if not np.isfinite(noise) or noise < 0:
        raise ConfigError(f"noise must be a finite float >= 0, got {noise!r}")
    problem = LatentMulticlass(n_classes=n_classes, n_latent=n_latent, n_input_features=n_input_features)
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(problem.n_features)
    X = rng.standard_normal((n_samples, n_input_features))
    S = problem.scores(w_true, X) + noise * rng.standard_normal((n_samples, n_classes, n_latent))  # (N, C, L)
    Y, _ = problem._unravel(np.argmax(S.reshape(n_samples, -1), axis=1))
    return problem, X, Y.astype(int), w_true
