"""A generated dSprites-like set: white shapes on black with five known factors of variation.

As in dSprites (Matthey et al. 2017) the factors are shape (square, ellipse, heart), scale
(6 values in [0.5, 1]), orientation (40 values in [0, 2 pi)) and position x / y (32 values
each in [0, 1]). Instead of enumerating the 737,280 combinations we sample ``n`` of them from
a seed and rasterize each image with vectorized numpy: a pixel is on when its centre lies
inside the shape's implicit equation, evaluated in the shape's rotated and scaled frame.

Geometry, in image units where the image spans [0, 1] on each side:
- a shape at scale 1 fits in a box of half side ``HALF_EXTENT`` (1/8 of the image, so the
  square is 16 px wide at 64 x 64); position 0..1 moves its centre across
  ``[MARGIN, 1 - MARGIN]`` so that no shape is ever clipped at any orientation;
- ``pos_x`` moves right along columns, ``pos_y`` moves *down* along rows (image order);
- orientation rotates counter-clockwise as seen on screen; at 0 the ellipse's long axis is
  horizontal and the heart points down.

Generation is deterministic: factors come from ``numpy.random.default_rng(seed)`` and the
rasterizer uses only IEEE float32 add/multiply on the pixel grid (sin/cos of the angle are
taken once per image in float64, then rounded to float32), so the same seed gives
byte-identical images from run to run.
"""

from __future__ import annotations

import math

import numpy as np

from zspace.errors import DataError

SHAPE_NAMES: tuple[str, ...] = ("square", "ellipse", "heart")
SCALES: np.ndarray = np.linspace(0.5, 1.0, 6, dtype=np.float32)
ORIENTATIONS: np.ndarray = np.linspace(0.0, 2 * math.pi, 40, endpoint=False).astype(np.float32)
POSITIONS: np.ndarray = np.linspace(0.0, 1.0, 32, dtype=np.float32)
FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "pos_x", "pos_y")

HALF_EXTENT = 0.125
# Largest distance from a shape's centre to its boundary in shape units: the square's corner.
# The ellipse (1) and the centred heart (~1.34) stay inside it.
_MAX_RADIUS = math.sqrt(2.0)
MARGIN = HALF_EXTENT * _MAX_RADIUS
_ELLIPSE_MINOR = 0.6
# The heart curve (x^2 + y^2 - 1)^3 <= x^2 y^3 spans y in [-1, 1.236]; shift it to centre it.
_HEART_Y_SHIFT = 0.118
_PIXELS_PER_CHUNK = 1 << 22  # bounds the float32 temporaries to ~16 MiB each


def sample_factors(n: int, seed: int) -> dict[str, np.ndarray]:
    """Draw ``n`` factor combinations uniformly from the grids.

    Returns ``{"shape": (n,) int64 index into SHAPE_NAMES, "scale", "orientation" (radians),
    "pos_x", "pos_y": (n,) float32}``; every float value is exactly an entry of its grid, so
    ``np.searchsorted(SCALES, factors["scale"])`` recovers the grid index.
    """
    if n < 0:
        raise DataError(f"number of shapes must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    return {
        "shape": rng.integers(0, len(SHAPE_NAMES), n).astype(np.int64),
        "scale": SCALES[rng.integers(0, len(SCALES), n)],
        "orientation": ORIENTATIONS[rng.integers(0, len(ORIENTATIONS), n)],
        "pos_x": POSITIONS[rng.integers(0, len(POSITIONS), n)],
        "pos_y": POSITIONS[rng.integers(0, len(POSITIONS), n)],
    }


def render_shapes(factors: dict[str, np.ndarray], image_size: int = 64) -> np.ndarray:
    """Rasterize shapes from factor values (grid values or any continuous values in range).

    ``factors`` holds (n,) arrays under the keys of ``FACTOR_NAMES``. Returns (n, 1, S, S) uint8
    with values in {0, 1} (1 = white shape pixel), S = ``image_size``.
    """
    missing = [k for k in FACTOR_NAMES if k not in factors]
    if missing:
        raise DataError(f"shape factors are missing keys {missing}; expected {list(FACTOR_NAMES)}")
    if image_size < 1:
        raise DataError(f"image_size must be >= 1, got {image_size}")
    shape = np.asarray(factors["shape"], dtype=np.int64)
    if shape.size and (shape.min() < 0 or shape.max() >= len(SHAPE_NAMES)):
        raise DataError(f"shape indices must lie in 0..{len(SHAPE_NAMES) - 1} ({SHAPE_NAMES})")
    n = shape.shape[0]
    out = np.zeros((n, 1, image_size, image_size), dtype=np.uint8)
    chunk = max(1, _PIXELS_PER_CHUNK // (image_size * image_size))
    for start in range(0, n, chunk):
        part = {k: np.asarray(v)[start : start + chunk] for k, v in factors.items()}
        out[start : start + chunk, 0] = _render_chunk(part, image_size)
    return out


def generate_shapes(n: int, image_size: int = 64, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``n`` random shapes: images (n, 1, S, S) uint8 in {0, 1} and their factors (see
    :func:`sample_factors`). Same arguments -> byte-identical output."""
    factors = sample_factors(n, seed)
    return render_shapes(factors, image_size), factors


def _render_chunk(factors: dict[str, np.ndarray], size: int) -> np.ndarray:
    """Binary masks (n, S, S) bool for one chunk of factor values."""
    shape = np.asarray(factors["shape"], dtype=np.int64)
    theta = np.asarray(factors["orientation"], dtype=np.float64)
    # Per-image frame: local = R(-theta) (p - c) / (HALF_EXTENT * scale), with y pointing up.
    inv = 1.0 / (HALF_EXTENT * np.asarray(factors["scale"], dtype=np.float64))
    a = (np.cos(theta) * inv).astype(np.float32)[:, None, None]
    b = (np.sin(theta) * inv).astype(np.float32)[:, None, None]
    span = 1.0 - 2.0 * MARGIN
    cx = (MARGIN + span * np.asarray(factors["pos_x"], dtype=np.float64)).astype(np.float32)
    cy = (MARGIN + span * np.asarray(factors["pos_y"], dtype=np.float64)).astype(np.float32)
    grid = (np.arange(size, dtype=np.float32) + np.float32(0.5)) / np.float32(size)
    dx = grid[None, None, :] - cx[:, None, None]  # (n, 1, S): column offsets
    dy = cy[:, None, None] - grid[None, :, None]  # (n, S, 1): row offsets, flipped so y is up
    masks = np.zeros((shape.shape[0], size, size), dtype=bool)
    for k in range(len(SHAPE_NAMES)):
        idx = np.flatnonzero(shape == k)
        if idx.size == 0:
            continue
        ak, bk, dxk, dyk = a[idx], b[idx], dx[idx], dy[idx]
        u = ak * dxk + bk * dyk  # (m, S, S) local x
        v = ak * dyk - bk * dxk  # (m, S, S) local y
        if SHAPE_NAMES[k] == "square":
            inside = np.maximum(np.abs(u), np.abs(v)) <= 1.0
        elif SHAPE_NAMES[k] == "ellipse":
            w = v * np.float32(1.0 / _ELLIPSE_MINOR)
            inside = u * u + w * w <= 1.0
        else:  # heart: (x^2 + y^2 - 1)^3 <= x^2 y^3
            v = v + np.float32(_HEART_Y_SHIFT)
            u2, v2 = u * u, v * v
            t = u2 + v2 - np.float32(1.0)
            inside = t * t * t <= u2 * v2 * v
        masks[idx] = inside
    return masks
