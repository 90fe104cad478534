"""Latent-space utilities: interpolation paths and attribute vectors.

z tensors are (..., D); paths are returned as (steps, D) including both end points.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _fractions(steps: int, like: Tensor) -> Tensor:
    if steps < 2:
        raise ValueError(f"an interpolation path needs steps >= 2 (both end points), got {steps}")
    return torch.linspace(0.0, 1.0, steps, dtype=like.dtype, device=like.device).unsqueeze(-1)


def lerp(z0: Tensor, z1: Tensor, steps: int) -> Tensor:
    """Straight-line path from z0 to z1; z0, z1: (D,) -> (steps, D)."""
    t = _fractions(steps, z0)
    return (1.0 - t) * z0 + t * z1


def slerp(z0: Tensor, z1: Tensor, steps: int, *, eps: float = 1e-7) -> Tensor:
    """Spherical interpolation (Shoemake 1985), as used by MusicVAE; z0, z1: (D,) -> (steps, D).

    z(t) = (sin((1-t) w) z0 + sin(t w) z1) / sin w, w the angle between z0 and z1. For codes of
    equal norm the path keeps that norm along the great circle, so under a N(0, I) prior it
    stays in the typical set instead of cutting through the low-norm interior as lerp does.
    The end points are exactly z0 and z1. Falls back to lerp for (anti)parallel inputs.
    """
    t = _fractions(steps, z0)
    n0, n1 = z0.norm(), z1.norm()
    cos_omega = torch.dot(z0 / n0.clamp_min(eps), z1 / n1.clamp_min(eps)).clamp(-1.0, 1.0)
    omega = torch.arccos(cos_omega)
    sin_omega = torch.sin(omega)
    if sin_omega.abs() < 1e-4:
        return lerp(z0, z1, steps)
    path = (torch.sin((1.0 - t) * omega) * z0 + torch.sin(t * omega) * z1) / sin_omega
    path[0], path[-1] = z0, z1  # exact end points (the formula is off by rounding)
    return path


def attribute_vector(z: Tensor, has_attribute: Tensor) -> Tensor:
    """Mean latent code of examples with the attribute minus that of the rest.

    z: (N, D) latent codes (posterior means); has_attribute: (N,) bool. Returns (D,). Adding
    ``strength * vector`` to a code moves it toward the attribute (White 2016; Roberts et al. 2018).
    """
    mask = has_attribute.to(torch.bool)
    if mask.shape != z.shape[:1]:
        raise ValueError(f"has_attribute must have shape ({z.shape[0]},), got {tuple(mask.shape)}")
    n_with = int(mask.sum())
    if n_with == 0 or n_with == mask.numel():
        raise ValueError(f"attribute vector needs examples both with and without the attribute; got {n_with} of {mask.numel()}")
    return z[mask].mean(dim=0) - z[~mask].mean(dim=0)


def apply_attribute(z: Tensor, vector: Tensor, strength: float) -> Tensor:
    """Shift codes z: (..., D) by ``strength`` times an attribute vector (D,)."""
    return z + strength * vector
