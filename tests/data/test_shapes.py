"""The generated shapes set: determinism, factor grids, geometry, and its load_images path."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from zspace.data import DataConfig, load_images
from zspace.data.shapes import (
    FACTOR_NAMES,
    ORIENTATIONS,
    POSITIONS,
    SCALES,
    SHAPE_NAMES,
    generate_shapes,
    render_shapes,
    sample_factors,
)
from zspace.errors import DataError


def _one(shape: int, scale: float = 1.0, orientation: float = 0.0, pos_x: float = 0.5, pos_y: float = 0.5):
    return {
        "shape": np.array([shape]),
        "scale": np.array([scale], dtype=np.float32),
        "orientation": np.array([orientation], dtype=np.float32),
        "pos_x": np.array([pos_x], dtype=np.float32),
        "pos_y": np.array([pos_y], dtype=np.float32),
    }


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(mask)
    return float(rows.mean()), float(cols.mean())


def test_grids_match_dsprites() -> None:
    assert SHAPE_NAMES == ("square", "ellipse", "heart")
    assert len(SCALES) == 6 and SCALES[0] == pytest.approx(0.5) and SCALES[-1] == pytest.approx(1.0)
    assert len(ORIENTATIONS) == 40 and ORIENTATIONS[0] == 0.0 and ORIENTATIONS[-1] < 2 * math.pi
    assert len(POSITIONS) == 32 and POSITIONS[0] == 0.0 and POSITIONS[-1] == 1.0


def test_same_seed_is_byte_identical_and_other_seed_differs() -> None:
    a, fa = generate_shapes(300, 32, seed=5)
    b, fb = generate_shapes(300, 32, seed=5)
    c, _ = generate_shapes(300, 32, seed=6)
    assert a.tobytes() == b.tobytes()
    assert all(np.array_equal(fa[k], fb[k]) for k in FACTOR_NAMES)
    assert a.tobytes() != c.tobytes()


def test_output_shapes_dtypes_and_factor_values_on_grids() -> None:
    images, factors = generate_shapes(500, 24, seed=0)
    assert images.shape == (500, 1, 24, 24) and images.dtype == np.uint8
    assert set(np.unique(images)) <= {0, 1}
    assert set(factors) == set(FACTOR_NAMES)
    assert factors["shape"].dtype == np.int64 and set(np.unique(factors["shape"])) == {0, 1, 2}
    for key, grid in (
        ("scale", SCALES),
        ("orientation", ORIENTATIONS),
        ("pos_x", POSITIONS),
        ("pos_y", POSITIONS),
    ):
        values = factors[key]
        assert values.shape == (500,)
        assert np.isin(values, grid).all()
        assert np.array_equal(grid[np.searchsorted(grid, values)], values)


def test_chunking_does_not_change_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    factors = sample_factors(50, seed=3)
    whole = render_shapes(factors, 16)
    import zspace.data.shapes as shapes_module

    monkeypatch.setattr(shapes_module, "_PIXELS_PER_CHUNK", 16 * 16 * 7)
    assert np.array_equal(render_shapes(factors, 16), whole)


@pytest.mark.parametrize("shape", range(3))
def test_each_shape_is_a_blob_whose_area_grows_with_scale(shape: int) -> None:
    # A slight rotation avoids ties from axis-aligned edges landing between the same pixel centres.
    areas = [int(render_shapes(_one(shape, scale=float(s), orientation=0.3), 64).sum()) for s in SCALES]
    assert areas[0] > 10
    assert all(a < b for a, b in itertools.pairwise(areas))
    # Area scales with scale^2, up to pixelization.
    assert areas[-1] / areas[0] == pytest.approx(4.0, rel=0.15)


def test_shapes_differ_from_each_other() -> None:
    masks = [render_shapes(_one(k), 64)[0, 0] for k in range(3)]
    assert not np.array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[1], masks[2])
    assert masks[0].sum() > masks[2].sum() > masks[1].sum()  # square 4, heart ~3.66, ellipse ~1.88


def test_position_moves_the_centroid() -> None:
    for shape in range(3):
        left = _centroid(render_shapes(_one(shape, pos_x=0.0), 64)[0, 0])
        right = _centroid(render_shapes(_one(shape, pos_x=1.0), 64)[0, 0])
        top = _centroid(render_shapes(_one(shape, pos_y=0.0), 64)[0, 0])
        bottom = _centroid(render_shapes(_one(shape, pos_y=1.0), 64)[0, 0])
        assert right[1] - left[1] > 30 and abs(right[0] - left[0]) < 1
        assert bottom[0] - top[0] > 30 and abs(bottom[1] - top[1]) < 1


def test_orientation_rotates_and_shapes_stay_inside() -> None:
    heart = render_shapes(_one(2), 64)[0, 0]
    flipped = render_shapes(_one(2, orientation=math.pi), 64)[0, 0]
    assert np.array_equal(flipped, heart[::-1, ::-1]) or (flipped != heart[::-1, ::-1]).sum() < 6
    assert _centroid(heart)[0] < 31.5 < _centroid(flipped)[0]  # the lobes (most mass) sit above the point
    square = render_shapes(_one(0), 64)[0, 0]
    quarter = render_shapes(_one(0, orientation=math.pi / 2), 64)[0, 0]
    assert (square != quarter).sum() < 6
    corner = render_shapes(_one(0, orientation=math.pi / 4, pos_x=0.0, pos_y=0.0), 64)[0, 0]
    assert corner[0].sum() <= 1 and corner[:, 0].sum() <= 1  # the 45-degree corner just reaches the edge


def test_bad_factors_raise() -> None:
    with pytest.raises(DataError, match=r"missing keys \['scale'"):
        render_shapes({"shape": np.array([0])}, 8)
    with pytest.raises(DataError, match=r"shape indices must lie in 0\.\.2"):
        render_shapes(_one(3), 8)
    with pytest.raises(DataError, match="image_size must be >= 1"):
        render_shapes(_one(0), 0)


def test_load_images_shapes() -> None:
    config = DataConfig(source="shapes", n_samples=400, image_size=32, test_fraction=0.25, seed=1, binarize="none")
    data = load_images(config)
    assert data.name == "shapes" and data.label_names == SHAPE_NAMES
    assert data.train_x.shape == (300, 1, 32, 32) and data.test_x.shape == (100, 1, 32, 32)
    assert data.image_shape == (1, 32, 32)
    assert data.train_x.dtype == torch.float32 and data.train_x.is_contiguous()
    assert set(data.train_x.unique().tolist()) == {0.0, 1.0}
    assert data.factors is not None and set(data.factors) == set(FACTOR_NAMES)
    assert all(v.shape == (100,) for v in data.factors.values())
    assert torch.equal(data.factors["shape"], data.test_y)
    assert (data.train_x.flatten(1).sum(1) > 0).all()
    again = load_images(config)
    assert torch.equal(again.train_x, data.train_x) and torch.equal(again.test_x, data.test_x)
    # Each test image is the rendering of its recorded factors.
    rendered = render_shapes({k: v.numpy() for k, v in data.factors.items()}, 32)
    assert np.array_equal(rendered.astype(np.float32), data.test_x.numpy())


def test_load_images_shapes_default_size_and_limit_is_a_prefix() -> None:
    full = load_images(DataConfig(source="shapes", n_samples=200, binarize="none"))
    assert full.image_shape == (1, 64, 64)
    small = load_images(DataConfig(source="shapes", n_samples=200, limit=10, binarize="none"))
    assert torch.equal(small.train_x, full.train_x[:10]) and torch.equal(small.test_x, full.test_x[:10])
    assert small.factors is not None and full.factors is not None
    assert torch.equal(small.factors["pos_x"], full.factors["pos_x"][:10])
