"""A tiny top-down rasteriser for the environments' ``rgb_array`` frames (pure numpy, no display).

World coordinates are metres with y pointing up; the canvas maps the square
``[-half_width, half_width]^2`` onto ``size x size`` pixels. Each shape paints the pixels whose
centres it covers, inside its own bounding box, so a frame with dozens of shapes costs well under
a millisecond and needs neither a font, a window nor matplotlib.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

Color = tuple[int, int, int]

BACKGROUND: Color = (246, 245, 240)
WALL: Color = (70, 70, 80)
PATH: Color = (205, 205, 200)
PENDING: Color = (150, 160, 185)
CURRENT: Color = (235, 140, 30)
REACHED: Color = (70, 170, 90)
AGENT: Color = (40, 90, 200)
AGENT_DARK: Color = (20, 40, 110)
OBJECT_COLORS: tuple[Color, ...] = ((215, 60, 50), (50, 110, 215), (230, 185, 30), (140, 70, 180))


class Canvas:
    """An RGB image of a square patch of the plane.

    Args:
        half_width: the canvas shows ``[-half_width, half_width]^2`` (metres).
        size: width and height in pixels.
    """

    def __init__(self, *, half_width: float, size: int = 256, background: Color = BACKGROUND) -> None:
        self.size = size
        self.half_width = half_width
        self.pixels_per_metre = size / (2.0 * half_width)
        self.image = np.empty((size, size, 3), dtype=np.uint8)
        self.image[:] = background

    def _window(self, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
        """Pixel slices covering the world box [lo, hi], and the world coordinates of their centres."""
        c0 = max(int(np.floor((lo[0] + self.half_width) * self.pixels_per_metre)), 0)
        c1 = min(int(np.ceil((hi[0] + self.half_width) * self.pixels_per_metre)), self.size)
        r0 = max(int(np.floor((self.half_width - hi[1]) * self.pixels_per_metre)), 0)
        r1 = min(int(np.ceil((self.half_width - lo[1]) * self.pixels_per_metre)), self.size)
        if c0 >= c1 or r0 >= r1:
            return None
        x = (np.arange(c0, c1) + 0.5) / self.pixels_per_metre - self.half_width  # (w,)
        y = self.half_width - (np.arange(r0, r1) + 0.5) / self.pixels_per_metre  # (h,)
        return slice(r0, r1), slice(c0, c1), x[None, :], y[:, None]

    def _paint(self, rows: slice, cols: slice, mask: np.ndarray, color: Color, alpha: float) -> None:
        patch = self.image[rows, cols]
        if alpha >= 1.0:
            patch[mask] = color
        else:
            blended = (1.0 - alpha) * patch[mask] + alpha * np.asarray(color, dtype=np.float64)
            patch[mask] = np.round(blended).astype(np.uint8)

    def disc(self, center: Sequence[float], radius: float, color: Color, *, alpha: float = 1.0) -> None:
        """A filled circle of ``radius`` metres (at least one pixel across)."""
        center = np.asarray(center, dtype=np.float64)
        radius = max(radius, 0.5 / self.pixels_per_metre)
        window = self._window(center - radius, center + radius)
        if window is not None:
            rows, cols, x, y = window
            self._paint(rows, cols, (x - center[0]) ** 2 + (y - center[1]) ** 2 <= radius**2, color, alpha)

    def ring(self, center: Sequence[float], radius: float, color: Color, *, width: float | None = None) -> None:
        """A circle outline; ``width`` in metres, two pixels by default."""
        center = np.asarray(center, dtype=np.float64)
        width = 2.0 / self.pixels_per_metre if width is None else width
        window = self._window(center - radius - width, center + radius + width)
        if window is not None:
            rows, cols, x, y = window
            distance = np.sqrt((x - center[0]) ** 2 + (y - center[1]) ** 2)
            self._paint(rows, cols, np.abs(distance - radius) <= width / 2.0, color, 1.0)

    def segment(self, start: Sequence[float], end: Sequence[float], color: Color, *, width: float | None = None) -> None:
        """A thick line segment (rounded ends); ``width`` in metres, two pixels by default."""
        a = np.asarray(start, dtype=np.float64)
        b = np.asarray(end, dtype=np.float64)
        width = 2.0 / self.pixels_per_metre if width is None else width
        window = self._window(np.minimum(a, b) - width, np.maximum(a, b) + width)
        if window is None:
            return
        rows, cols, x, y = window
        direction = b - a
        length_sq = max(float(direction @ direction), 1e-12)
        t = np.clip(((x - a[0]) * direction[0] + (y - a[1]) * direction[1]) / length_sq, 0.0, 1.0)
        distance_sq = (x - a[0] - t * direction[0]) ** 2 + (y - a[1] - t * direction[1]) ** 2
        self._paint(rows, cols, distance_sq <= (width / 2.0) ** 2, color, 1.0)

    def polyline(self, points: np.ndarray, color: Color, *, width: float | None = None) -> None:
        """Consecutive segments through ``points (P, 2)``."""
        for a, b in itertools.pairwise(points):
            self.segment(a, b, color, width=width)

    def square(self, center: Sequence[float], half: float, color: Color, *, alpha: float = 1.0) -> None:
        """An axis-aligned filled square of half side ``half`` metres."""
        center = np.asarray(center, dtype=np.float64)
        window = self._window(center - half, center + half)
        if window is not None:
            rows, cols, x, y = window
            self._paint(rows, cols, (np.abs(x - center[0]) <= half) & (np.abs(y - center[1]) <= half), color, alpha)

    def frame(self, half: float, color: Color = WALL, *, width: float | None = None) -> None:
        """The outline of the square ``[-half, half]^2`` (arena walls)."""
        corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half], [-half, -half]])
        self.polyline(corners, color, width=width)

    def progress_bar(self, fraction: float, color: Color = REACHED, *, height: int = 4) -> None:
        """A bar along the bottom edge, filled to ``fraction`` in [0, 1]."""
        self.image[-height:] = PATH
        self.image[-height:, : round(float(np.clip(fraction, 0.0, 1.0)) * self.size)] = color


def route(canvas: Canvas, waypoints: np.ndarray, stage: int, radius: float) -> None:
    """Ordered ``waypoints (N, 2)``: reached ones green, the current one (``stage``) orange, pending ones grey."""
    canvas.polyline(waypoints, PATH, width=1.0 / canvas.pixels_per_metre)
    for k, point in enumerate(waypoints):
        if k < stage:
            canvas.disc(point, radius / 3, REACHED)
        elif k > stage:
            canvas.ring(point, radius / 3, PENDING, width=1.5 / canvas.pixels_per_metre)
    if stage < len(waypoints):
        canvas.disc(waypoints[stage], radius, CURRENT, alpha=0.35)
        canvas.ring(waypoints[stage], radius, CURRENT)
