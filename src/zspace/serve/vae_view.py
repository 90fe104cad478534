"""The VAE view: the test set's latent map, live decoding, interpolation paths, prior samples.

Images go out as flat lists of decoder means in [0, 1] (row-major ``(C, H, W)``), which the
page paints on a canvas; codes as lists of floats. The map is the same projection as
``zspace explore`` (the codes themselves up to 2-D, PCA above), kept invertible here so a
cursor position on the map decodes to the code it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from zspace.core.latent import lerp, slerp
from zspace.data.images import load_images
from zspace.explore.plots import project_2d
from zspace.serve.errors import require
from zspace.vae import VAE, load_model, load_run_config

MAX_POINTS = 2000  # as zspace.vae.explore: test examples on the map


@dataclass(frozen=True)
class Projection:
    """Map between codes (N, D) and map positions (N, 2): p = (z - center) @ axes.T, z = center + p @ axes.

    For D <= 2 the map shows the codes themselves (axes = identity, D = 1 padded with a zero axis).
    """

    center: np.ndarray  # (D,)
    axes: np.ndarray  # (2, D) orthonormal rows (PCA components) or the identity's rows
    method: str

    @classmethod
    def fit(cls, z: np.ndarray, *, seed: int) -> Projection:
        d = z.shape[1]
        points, method = project_2d(z, "auto", seed=seed)
        if method == "none":
            axes = np.eye(2, d)  # D = 1: the second row is all zeros, the map's y is always 0
            return cls(center=np.zeros(d), axes=axes, method=method)
        # Recover the linear map project_2d applied (PCA: centred, orthonormal components) by least squares.
        center = z.mean(axis=0)
        axes, *_ = np.linalg.lstsq(z - center, points, rcond=None)  # (D, 2)
        return cls(center=center, axes=axes.T, method=method)

    def to_map(self, z: np.ndarray) -> np.ndarray:
        return (z - self.center) @ self.axes.T

    def to_code(self, points: np.ndarray) -> np.ndarray:
        """Codes (B, D) on the map's plane through the data mean: (B, 2) -> (B, D)."""
        return self.center + points @ self.axes


def _images(decoded: Tensor) -> list[list[float]]:
    """Decoder means (B, C, H, W) -> B flat lists in [0, 1], rounded to 4 digits (JSON size)."""
    flat = decoded.clamp(0.0, 1.0).flatten(1).numpy().round(4)
    return flat.tolist()


class VAEView:
    """A loaded VAE run and its test-set codes; every method returns JSON-ready dicts."""

    def __init__(self, model: VAE, test_x: Tensor, test_y: Tensor | None, label_names: Any, *, seed: int = 0) -> None:
        self.model = model.eval()
        self.latent_dim = model.config.latent_dim
        self.image_shape = tuple(int(s) for s in model.config.input_shape)
        x = test_x[:MAX_POINTS]
        with torch.no_grad():
            self.codes = model.encode(x).mean  # (N, D) posterior means
        self.labels = None if test_y is None else test_y[: len(x)].tolist()
        self.label_names = list(label_names) if label_names is not None else None
        self.projection = Projection.fit(self.codes.double().numpy(), seed=seed)
        self.points = self.projection.to_map(self.codes.double().numpy())  # (N, 2)
        self.activity = self.codes.var(dim=0) if len(x) > 1 else torch.zeros(self.latent_dim)  # (D,)

    @classmethod
    def from_run(cls, run_dir: Path, *, seed: int = 0) -> VAEView:
        config = load_run_config(run_dir)
        data = load_images(config.data)
        return cls(load_model(run_dir), data.test_x, data.test_y, data.label_names, seed=seed)

    # -- what the page asks for ------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return {"latent_dim": self.latent_dim, "image_shape": list(self.image_shape), "n_points": len(self.codes)}

    def latent_map(self) -> dict[str, Any]:
        """Map positions (N, 2), codes (N, D), labels, and each dimension's activity (variance of its means)."""
        return {
            "method": self.projection.method,
            "points": self.points.round(5).tolist(),
            "codes": self.codes.numpy().round(5).tolist(),
            "labels": self.labels,
            "label_names": self.label_names,
            "activity": self.activity.tolist(),
            "latent_dim": self.latent_dim,
            "image_shape": list(self.image_shape),
        }

    @torch.no_grad()
    def decode(self, z: list[list[float]] | None = None, points: list[list[float]] | None = None) -> dict[str, Any]:
        """Decoder means of codes z (B, D), or of map positions (B, 2) mapped back to codes."""
        require((z is None) != (points is None), "give exactly one of 'z' (latent codes) or 'points' (map positions)")
        if z is None:
            codes = torch.from_numpy(self.projection.to_code(np.asarray(points, dtype=np.float64))).float()
        else:
            bad = [len(row) for row in z if len(row) != self.latent_dim]
            require(not bad, f"each code in 'z' must have latent_dim={self.latent_dim} numbers; got one of length {bad[:1]}")
            codes = torch.from_numpy(np.asarray(z, dtype=np.float32))  # (B, D); faster than torch.tensor on lists
        return {"z": codes.numpy().round(5).tolist(), "images": _images(self.model.decode(codes).mean)}

    def _example(self, index: int) -> Tensor:
        require(index < len(self.codes), f"example index {index} is out of range: this map has {len(self.codes)} examples")
        return self.codes[index]

    @torch.no_grad()
    def interpolate(self, a: int, b: int, steps: int) -> dict[str, Any]:
        """lerp and slerp paths (steps, D) between two test examples' codes, decoded."""
        za, zb = self._example(a), self._example(b)
        paths = {"lerp": lerp(za, zb, steps), "slerp": slerp(za, zb, steps)}
        return {
            kind: {"z": path.numpy().round(5).tolist(), "images": _images(self.model.decode(path).mean)}
            for kind, path in paths.items()
        }

    @torch.no_grad()
    def sample(self, n: int, temperature: float, seed: int) -> dict[str, Any]:
        """n codes z ~ N(0, temperature^2 I), seeded, and their decoded images."""
        generator = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.latent_dim, generator=generator) * temperature
        return {"z": z.numpy().round(5).tolist(), "images": _images(self.model.decode(z).mean)}


__all__ = ["MAX_POINTS", "Projection", "VAEView"]
