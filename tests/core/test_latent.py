"""Latent interpolation (lerp, slerp) and attribute vectors against closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zspace.core import apply_attribute, attribute_vector, lerp, slerp

F64 = torch.float64


def _angle(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.arccos((a @ b / (a.norm() * b.norm())).clamp(-1, 1)))


_vectors = st.lists(st.floats(-5.0, 5.0, allow_nan=False), min_size=4, max_size=4)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(a=_vectors, b=_vectors, steps=st.integers(2, 12))
def test_lerp_endpoints_exact_and_points_on_segment(a, b, steps):
    z0, z1 = torch.tensor(a, dtype=F64), torch.tensor(b, dtype=F64)
    path = lerp(z0, z1, steps)
    assert path.shape == (steps, 4)
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    t = torch.linspace(0, 1, steps, dtype=F64).unsqueeze(-1)
    torch.testing.assert_close(path, z0 + t * (z1 - z0), rtol=1e-12, atol=1e-12)


def test_slerp_endpoints_match_to_rounding():
    torch.manual_seed(0)
    for _ in range(50):
        z0, z1 = torch.randn(8), torch.randn(8)
        path = slerp(z0, z1, 5)
        assert path.shape == (5, 8)
        torch.testing.assert_close(path[0], z0, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(path[-1], z1, rtol=1e-6, atol=1e-6)


def test_slerp_endpoints_exact():
    torch.manual_seed(0)
    for _ in range(200):
        z0, z1 = torch.randn(8), torch.randn(8)
        path = slerp(z0, z1, 5)
        assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**16),
    radius=st.floats(0.1, 10.0),
    steps=st.integers(3, 11),
)
def test_slerp_equal_norms_stays_on_sphere_at_uniform_angle(seed, radius, steps):
    g = torch.Generator().manual_seed(seed)
    u0, u1 = torch.randn(5, dtype=F64, generator=g), torch.randn(5, dtype=F64, generator=g)
    z0, z1 = radius * u0 / u0.norm(), radius * u1 / u1.norm()
    omega = _angle(z0, z1)
    if abs(math.sin(omega)) < 1e-3:
        return  # (anti)parallel: the lerp fallback is tested separately
    path = slerp(z0, z1, steps)
    torch.testing.assert_close(path.norm(dim=-1), torch.full((steps,), radius, dtype=F64), rtol=1e-9, atol=1e-9)
    for i, z in enumerate(path):
        t = i / (steps - 1)
        assert _angle(z0, z) == pytest.approx(t * omega, abs=1e-6)
        assert _angle(z, z1) == pytest.approx((1 - t) * omega, abs=1e-6)


def test_slerp_midpoint_bisects_angle():
    z0 = torch.tensor([3.0, 0.0, 0.0], dtype=F64)
    z1 = torch.tensor([0.0, 3.0, 0.0], dtype=F64)
    mid = slerp(z0, z1, 3)[1]
    torch.testing.assert_close(mid, torch.tensor([3 / math.sqrt(2), 3 / math.sqrt(2), 0.0], dtype=F64))
    assert _angle(z0, mid) == pytest.approx(_angle(mid, z1), abs=1e-12)
    assert _angle(z0, mid) == pytest.approx(math.pi / 4, abs=1e-12)


def test_slerp_unequal_norms_follows_the_musicvae_formula():
    # Shoemake's formula on raw vectors (as MusicVAE): the midpoint of (1,0)->(0,2) at w = pi/2
    # is (sin(pi/4) z0 + sin(pi/4) z1) / sin(pi/2).
    z0 = torch.tensor([1.0, 0.0], dtype=F64)
    z1 = torch.tensor([0.0, 2.0], dtype=F64)
    mid = slerp(z0, z1, 3)[1]
    torch.testing.assert_close(mid, torch.tensor([math.sqrt(0.5), 2 * math.sqrt(0.5)], dtype=F64))


@pytest.mark.parametrize("factor", [2.0, 0.5, -1.0, -3.0])
def test_slerp_falls_back_to_lerp_for_parallel_vectors(factor):
    z0 = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    z1 = factor * z0
    path = slerp(z0, z1, 6)
    assert torch.all(torch.isfinite(path))
    assert torch.equal(path, lerp(z0, z1, 6))


@pytest.mark.parametrize("fn", [lerp, slerp])
@pytest.mark.parametrize("steps", [1, 0, -2])
def test_too_few_steps_raise(fn, steps):
    with pytest.raises(ValueError, match="steps"):
        fn(torch.ones(3), torch.zeros(3) + 2, steps)


def test_attribute_vector_is_difference_of_group_means():
    torch.manual_seed(0)
    z = torch.randn(10, 3, dtype=F64)
    mask = torch.tensor([1, 0, 0, 1, 1, 0, 0, 0, 1, 0], dtype=torch.bool)
    v = attribute_vector(z, mask)
    assert v.shape == (3,)
    expected = z[[0, 3, 4, 8]].mean(0) - z[[1, 2, 5, 6, 7, 9]].mean(0)
    torch.testing.assert_close(v, expected, rtol=1e-12, atol=1e-12)
    # Integer 0/1 masks are accepted as booleans.
    torch.testing.assert_close(attribute_vector(z, mask.long()), expected, rtol=1e-12, atol=1e-12)


def test_attribute_vector_recovers_planted_offset():
    torch.manual_seed(1)
    offset = torch.tensor([2.0, 0.0, -1.0], dtype=F64)
    mask = torch.arange(2000) % 2 == 0
    z = torch.randn(2000, 3, dtype=F64) * 0.1 + mask.unsqueeze(-1) * offset
    torch.testing.assert_close(attribute_vector(z, mask), offset, rtol=0, atol=0.03)


@pytest.mark.parametrize("mask", [torch.zeros(4, dtype=torch.bool), torch.ones(4, dtype=torch.bool)])
def test_attribute_vector_needs_both_groups(mask):
    with pytest.raises(ValueError, match="both"):
        attribute_vector(torch.randn(4, 2), mask)


@pytest.mark.parametrize("shape", [(3,), (5,), (4, 1), (2, 2)])
def test_attribute_vector_rejects_wrong_mask_shape(shape):
    mask = torch.zeros(shape, dtype=torch.bool).flatten()
    mask[0] = True
    with pytest.raises(ValueError, match="shape"):
        attribute_vector(torch.randn(4, 2), mask.reshape(shape))


def test_apply_attribute_adds_scaled_vector():
    z = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=F64)
    v = torch.tensor([0.5, -2.0], dtype=F64)
    out = apply_attribute(z, v, 1.5)
    torch.testing.assert_close(out, torch.tensor([[0.75, -2.0], [2.75, -4.0]], dtype=F64))
    assert torch.equal(apply_attribute(z, v, 0.0), z)
    torch.testing.assert_close(apply_attribute(apply_attribute(z, v, 2.0), v, -2.0), z)
