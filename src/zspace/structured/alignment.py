"""Image classification with a latent translation.

An example is a canvas x of shape image_shape = (Hc, Wc) holding an object somewhere; the
latent h says where: it indexes the top-left corner (r, c) of a window of shape
window_shape = (wh, ww) inside the canvas, in row-major order,

    h = r * n_cols + c,  n_cols = Wc - ww + 1,  L = (Hc - wh + 1) * n_cols shifts.

phi(x, y, h) is zero except block y, which holds [the window's pixels flattened row-major,
1.0 (a per-class bias)], so w reshapes to (C, wh * ww + 1) and
w . phi(x, y, h) = W[y, :-1] . window(x, h) + W[y, -1]. Delta is the 0/1 loss; proposals
are uniform over (y, h) and latent proposals uniform over shifts. Shapes:

    X (N, Hc, Wc) float    Y (N,) int in [0, C)    H (N,) int in [0, L)    Yc, Hc (N, n)

Ties in every argmax break towards the first (y, h) in lexicographic order. Rotations (the
issue's "and/or rotation") are not implemented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from zspace.errors import ConfigError, DataError
from zspace.structured.problems import (
    StructuredDataset,
    StructuredProblem,
    check_finite_inputs,
    check_int_range,
    check_positive_int,
)

__all__ = ["ImageAlignment", "make_shifted_digits"]

DIGIT_SHAPE = (8, 8)  # scikit-learn's bundled digits


def _pair(name: str, value: Any) -> tuple[int, int]:
    """A (rows, cols) pair of positive ints, or a ConfigError."""
    pair = tuple(value) if np.ndim(value) == 1 and not isinstance(value, (str, bytes)) else ()
    if len(pair) != 2:
        raise ConfigError(f"{name} must be a (rows, cols) pair of positive ints, got {value!r}")
    for axis, size in zip(("rows", "cols"), pair):
        check_positive_int(f"{name} {axis}", size)
    return int(pair[0]), int(pair[1])


@dataclass(frozen=True)
class ImageAlignment(StructuredProblem):
    """Classify a canvas by the best-scoring placement of a class template (problem (c)).

    Args:
        n_classes: number of labels C; y in {0, ..., C - 1}.
        image_shape: (Hc, Wc), the shape of every canvas.
        window_shape: (wh, ww), the template size; must fit inside the canvas.

    Both shapes are stored as tuples of ints. See the module docstring for h and phi.
    """

    n_classes: int
    image_shape: tuple[int, int]
    window_shape: tuple[int, int]
    loss_is_zero_one: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_positive_int("n_classes", self.n_classes)
        image, window = _pair("image_shape", self.image_shape), _pair("window_shape", self.window_shape)
        if window[0] > image[0] or window[1] > image[1]:
            raise ConfigError(f"window_shape {window} must fit inside image_shape {image}")
        object.__setattr__(self, "image_shape", image)  # normalise lists / numpy ints to a tuple of ints
        object.__setattr__(self, "window_shape", window)

    @property
    def n_shifts(self) -> tuple[int, int]:
        """(rows, cols) of possible top-left corners: (Hc - wh + 1, Wc - ww + 1)."""
        return self.image_shape[0] - self.window_shape[0] + 1, self.image_shape[1] - self.window_shape[1] + 1

    @property
    def n_latent(self) -> int:
        """L, the number of shifts."""
        return self.n_shifts[0] * self.n_shifts[1]

    @property
    def n_pixels(self) -> int:
        """wh * ww, the window's size."""
        return self.window_shape[0] * self.window_shape[1]

    @property
    def n_features(self) -> int:
        return self.n_classes * (self.n_pixels + 1)

    def offsets(self, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-left corners (rows, cols) of latent indices H (any shape)."""
        return np.divmod(np.asarray(H), self.n_shifts[1])

    def latent_index(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Latent index of top-left corners (rows, cols), the inverse of :meth:`offsets`."""
        return np.asarray(rows) * self.n_shifts[1] + np.asarray(cols)

    # --- helpers -------------------------------------------------------------------------
    def _weights(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        if w.shape != (self.n_features,):
            (wh, ww), C = self.window_shape, self.n_classes
            raise DataError(
                f"w must have shape ({self.n_features},) = n_classes * (window rows * window cols + 1 bias) "
                f"= {C} * ({wh} * {ww} + 1), got {w.shape}"
            )
        return w.reshape(self.n_classes, self.n_pixels + 1)  # (C, P + 1): template row-major, then bias

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 3 or X.shape[1:] != self.image_shape:
            raise DataError(
                f"X must have shape (n_samples, {self.image_shape[0]}, {self.image_shape[1]}) "
                f"= (n_samples, *image_shape), got {X.shape}"
            )
        return X

    def _views(self, X: np.ndarray) -> np.ndarray:
        """Every window of every canvas, without copying: (N, rows, cols, wh, ww)."""
        return sliding_window_view(self._inputs(X), self.window_shape, axis=(1, 2))

    def windows(self, X: np.ndarray, H: np.ndarray) -> np.ndarray:
        """The windows of X[i] at H[i, ...]: (N, *H.shape[1:], wh, ww), gathered without the full table."""
        views, H = self._views(X), np.asarray(H)
        rows, cols = self.offsets(H)
        examples = np.arange(len(views)).reshape(-1, *[1] * (H.ndim - 1))
        return views[examples, rows, cols]

    def score_table(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        """w . phi(X[i], y, h) for every (y, h): (N, C, L); one matmul over all windows."""
        W = self._weights(w)
        patches = self._views(X).reshape(len(X), self.n_latent, self.n_pixels)  # (N, L, P), copies once
        return (patches @ W[:, :-1].T + W[:, -1]).transpose(0, 2, 1)  # (N, L, C) -> (N, C, L)

    def _argmax_pairs(self, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = np.argmax(table.reshape(len(table), -1), axis=1)  # first maximiser in (y, h) order
        return np.divmod(flat, self.n_latent)

    def _targets(self, Y: Any, n: int) -> np.ndarray:
        Y = np.asarray(Y)
        if Y.shape != (n,):
            raise DataError(f"Y must have shape ({n},) to match X, got {Y.shape}")
        return check_int_range("Y", Y, self.n_classes)

    # --- the interface -------------------------------------------------------------------
    def joint_feature_sum(self, X: np.ndarray, Y: np.ndarray, H: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """sum_i weights[i] * phi(X[i], Y[i], H[i]) for X (N, Hc, Wc), Y (N,), H (N,); shape (n_features,)."""
        X = self._inputs(X)
        Y = check_int_range("y", Y, self.n_classes)
        H = check_int_range("h", H, self.n_latent)
        onehot = np.zeros((len(Y), self.n_classes))  # (N, C), weighted: one matmul instead of np.add.at
        onehot[np.arange(len(Y)), Y] = 1.0 if weights is None else weights
        patches = np.concatenate([self.windows(X, H).reshape(len(X), self.n_pixels), np.ones((len(X), 1))], axis=1)  # (N, P + 1)
        return (onehot.T @ patches).ravel()

    def candidate_scores(self, w: np.ndarray, X: np.ndarray, Yc: np.ndarray, Hc: np.ndarray) -> np.ndarray:
        """W[Yc[i, j]] . [window(X[i], Hc[i, j]), 1]: (N, n); costs N * n * wh * ww, not N * C * L * wh * ww."""
        W, Yc = self._weights(w), np.asarray(Yc)
        patches = self.windows(X, Hc).reshape(*Yc.shape, self.n_pixels)  # (N, n, P)
        rows = W[Yc]  # (N, n, P + 1)
        return np.einsum("ijp,ijp->ij", patches, rows[..., :-1]) + rows[..., -1]

    def candidate_losses(self, Y: np.ndarray, Yc: np.ndarray) -> np.ndarray:
        """0/1 loss, shape (N, n)."""
        return (np.asarray(Y)[:, None] != np.asarray(Yc)).astype(float)

    def batch_latent_completion(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """argmax_h w . phi(X[i], Y[i], h), the best placement of class Y[i]'s template: H (N,).

        Scores class Y[i]'s template only: N * L * wh * ww, a factor C below the full score table.
        """
        W = self._weights(w)
        Y = self._targets(Y, len(np.asarray(X)))
        patches = self._views(X).reshape(len(Y), self.n_latent, self.n_pixels)  # (N, L, P)
        return np.argmax(np.einsum("nlp,np->nl", patches, W[Y, :-1]), axis=1)  # the bias is constant in h

    def loss_augmented_and_completion(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, ...]:
        """(Y', H') of loss-augmented inference and H* of latent completion from one score table."""
        table = self.score_table(w, X)
        Y = self._targets(Y, len(table))
        wrong = np.arange(self.n_classes)[None, :] != Y[:, None]  # (N, C)
        Y_hat, H_hat = self._argmax_pairs(table + wrong[:, :, None])
        return Y_hat, H_hat, np.argmax(table[np.arange(len(Y)), Y], axis=1)

    def batch_inference(self, w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """argmax_{y, h} w . phi(X[i], y, h): (Y (N,), H (N,))."""
        return self._argmax_pairs(self.score_table(w, X))

    def batch_loss_augmented_inference(self, w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """argmax_{y', h'} [y' != Y[i]] + w . phi(X[i], y', h'): (Y' (N,), H' (N,))."""
        table = self.score_table(w, X)
        wrong = np.arange(self.n_classes)[None, :] != self._targets(Y, len(table))[:, None]  # (N, C)
        return self._argmax_pairs(table + wrong[:, :, None])

    def sample_candidates(self, X: np.ndarray, Y: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n pairs (y', h') per example, uniform and independent over labels x shifts: (Yc, Hc), each (N, n)."""
        N = len(X)
        return rng.integers(0, self.n_classes, size=(N, n)), rng.integers(0, self.n_latent, size=(N, n))

    def sample_latents(self, X: np.ndarray, Y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """n shifts per example, uniform over {0..L-1}: (N, n)."""
        return rng.integers(0, self.n_latent, size=(len(X), n))

    def initial_latents(self, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The centred window for every example: objects are most often near the middle of a canvas."""
        rows, cols = self.n_shifts
        return np.full(len(X), self.latent_index(rows // 2, cols // 2), dtype=np.intp)

    def brightest_window_latents(self, X: np.ndarray) -> np.ndarray:
        """The shift whose window holds the largest pixel sum, per canvas: H (N,); ties go to the first.

        A data-driven start for the latents (an option of ours; :meth:`initial_latents`, the centred
        window, stays the default). On a zero background it puts the window on the object, where the
        centred window of a wide canvas mostly holds background: trained on such windows, every class
        template is pushed down by the best-matching (whole-object) window of a wrong class and up by
        a mostly blank one, turns negative, and then every argmax lands on blank windows, where the
        templates get no subgradient at all.
        """
        sums = self._views(X).sum(axis=(-2, -1))  # (N, rows, cols)
        return np.argmax(sums.reshape(len(sums), -1), axis=1)

    def validate(self, X: Any, Y: Any) -> None:
        """X finite, shape (N, *image_shape); Y int labels, shape (N,), in [0, n_classes)."""
        X = check_finite_inputs(X, self.image_shape, "one (rows, cols) canvas per example")
        self._targets(Y, len(X))


def make_shifted_digits(
    margin: int = 2,
    n_samples: int | None = None,
    seed: int = 0,
    digits: Sequence[int] | None = None,
    noise: float = 0.0,
) -> StructuredDataset:
    """scikit-learn's bundled 8x8 digits, each pasted at a random offset into a larger zero canvas.

    Every digit (pixel values 0..16 scaled to [0, 1]) goes to a uniformly random top-left
    corner (r, c), r, c in {0, ..., 2 * margin}, of a (8 + 2 * margin, 8 + 2 * margin) canvas;
    then noise * N(0, 1) is added to every canvas pixel (none by default). Nothing is
    downloaded.

    Args:
        margin: free pixels around a centred digit, >= 0; L = (2 * margin + 1) ** 2 shifts.
        n_samples: how many digits to draw without replacement (in random order); None takes
            all of them (1797, or fewer with ``digits``), shuffled.
        seed: seeds the subset, the order, the offsets and the noise.
        digits: keep only these digit classes; label j of the result is digit ``digits[j]``
            (e.g. digits=(3, 8) maps 3 -> 0 and 8 -> 1). None keeps 0..9 as labels 0..9.
        noise: standard deviation of the pixel noise, >= 0.

    Returns:
        StructuredDataset with the ImageAlignment(n_classes, canvas, (8, 8)) problem,
        X (N, 8 + 2m, 8 + 2m) float, Y (N,) int, H (N,) int the true offsets as latent
        indices (r * (2m + 1) + c), and w_true None.
    """
    from sklearn.datasets import load_digits  # lazy: importing zspace.structured stays light

    if isinstance(margin, bool) or not isinstance(margin, (int, np.integer)) or margin < 0:
        raise ConfigError(f"margin must be an int >= 0, got {margin!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ConfigError(f"noise must be a finite float >= 0, got {noise!r}")
    bunch = load_digits()
    images, targets = bunch.images / 16.0, bunch.target  # (1797, 8, 8) in [0, 1], (1797,)
    classes = list(range(10)) if digits is None else list(digits)
    if not classes or len(set(classes)) != len(classes) or not set(classes) <= set(range(10)):
        raise ConfigError(f"digits must be distinct digit classes in 0..9, got {digits!r}")
    keep = np.flatnonzero(np.isin(targets, classes))
    if n_samples is not None:
        check_positive_int("n_samples", n_samples)
        if n_samples > len(keep):
            raise ConfigError(f"n_samples must be at most {len(keep)} (the digits available), got {n_samples}")
    rng = np.random.default_rng(seed)
    keep = rng.permutation(keep)[:n_samples]
    relabel = np.zeros(10, dtype=int)
    relabel[classes] = np.arange(len(classes))
    Y, N, side = relabel[targets[keep]], len(keep), DIGIT_SHAPE[0] + 2 * margin
    problem = ImageAlignment(len(classes), (side, side), DIGIT_SHAPE)
    rows, cols = rng.integers(0, 2 * margin + 1, size=(2, N))
    X = np.zeros((N, side, side))
    pixel = np.arange(DIGIT_SHAPE[0])
    X[np.arange(N)[:, None, None], rows[:, None, None] + pixel[:, None], cols[:, None, None] + pixel] = images[keep]
    if noise:
        X += noise * rng.standard_normal(X.shape)
    return StructuredDataset(problem, X, Y, problem.latent_index(rows, cols).astype(int), None)
