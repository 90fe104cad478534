"""Image loaders: config validation, digits, IDX files, folders, arrays and binarization."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zspace.data import DataConfig, ImageDataset, binarize_batch, load_images
from zspace.data.images import FASHION_MNIST_LABELS, IDX_FILES
from zspace.errors import ConfigError, DataError

# --- DataConfig ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "cifar"}, r"unknown source 'cifar'; valid sources are \['digits', 'mnist'"),
        (
            {"binarize": "yes"},
            r"unknown mode 'yes'; valid modes are \['none', 'static', 'dynamic'\]",
        ),
        ({"test_fraction": 0.0}, r"test_fraction must lie in \(0, 1\), got 0.0"),
        ({"test_fraction": 1.0}, r"test_fraction must lie in \(0, 1\)"),
        ({"limit": 0}, "limit = 0: expected"),
        ({"n_samples": 1}, "n_samples must be >= 2"),
        ({"seed": -1}, "seed = -1: expected"),
        ({"path": "x"}, r"path is only used by sources .* not 'digits'"),
        (
            {"source": "mnist", "image_size": 32},
            "image_size only applies to sources 'folder' and 'shapes'",
        ),
        ({"source": "folder", "image_size": 0}, "image_size = 0: expected"),
    ],
)
def test_config_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DataConfig(**kwargs)


def test_config_is_frozen_and_keyword_only() -> None:
    config = DataConfig()
    with pytest.raises(AttributeError):
        config.seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        DataConfig("digits")  # type: ignore[misc]


# --- binarize_batch -----------------------------------------------------------------------


def test_binarize_batch_values_mean_and_determinism() -> None:
    probs = torch.linspace(0, 1, 11).repeat(20000, 1)  # (20000, 11)
    sample = binarize_batch(probs, torch.Generator().manual_seed(0))
    assert sample.shape == probs.shape and sample.dtype == torch.float32
    assert set(sample.unique().tolist()) <= {0.0, 1.0}
    assert torch.allclose(sample.mean(0), probs[0], atol=0.015)
    assert sample[:, 0].sum() == 0 and sample[:, -1].sum() == 20000  # p = 0 and p = 1 are exact
    again = binarize_batch(probs, torch.Generator().manual_seed(0))
    other = binarize_batch(probs, torch.Generator().manual_seed(1))
    assert torch.equal(sample, again) and not torch.equal(sample, other)


def test_binarize_batch_rejects_integers() -> None:
    with pytest.raises(DataError, match="floating-point tensor of probabilities"):
        binarize_batch(torch.ones(3, dtype=torch.uint8))


# --- digits -------------------------------------------------------------------------------


def _is_binary(x: torch.Tensor) -> bool:
    return set(x.unique().tolist()) <= {0.0, 1.0}


def test_digits_shapes_range_labels_and_split() -> None:
    data = load_images(DataConfig(source="digits", binarize="none"))
    assert isinstance(data, ImageDataset)
    assert data.name == "digits" and data.image_shape == (1, 8, 8)
    assert data.label_names == tuple("0123456789")
    assert data.train_x.shape == (1438, 1, 8, 8) and data.test_x.shape == (359, 1, 8, 8)
    for x in (data.train_x, data.test_x):
        assert x.dtype == torch.float32 and x.is_contiguous()
        assert x.min() == 0.0 and x.max() == 1.0
    assert data.train_y is not None and data.test_y is not None
    assert data.train_y.dtype == torch.int64 and data.train_y.shape == (1438,)
    assert set(data.train_y.tolist()) == set(range(10))
    # Stratified: every class holds ~20% of its examples in test.
    counts = torch.bincount(data.test_y, minlength=10) / (
        torch.bincount(data.test_y, minlength=10) + torch.bincount(data.train_y, minlength=10)
    )
    assert ((counts - 0.2).abs() < 0.02).all()
    assert data.factors is None


def test_digits_split_is_deterministic_by_seed() -> None:
    a = load_images(DataConfig(binarize="none", seed=3))
    b = load_images(DataConfig(binarize="none", seed=3))
    c = load_images(DataConfig(binarize="none", seed=4))
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    assert not torch.equal(a.test_x, c.test_x)


def test_digits_test_fraction_and_limit() -> None:
    data = load_images(DataConfig(test_fraction=0.5, limit=100, binarize="none"))
    assert len(data.train_x) == 100 and len(data.test_x) == 100
    assert len(set(data.train_y.tolist())) == 10  # the prefix is shuffled, not class-sorted


def test_binarization_modes() -> None:
    none = load_images(DataConfig(binarize="none"))
    dynamic = load_images(DataConfig(binarize="dynamic"))
    static = load_images(DataConfig(binarize="static"))
    assert not _is_binary(none.train_x) and not _is_binary(none.test_x)
    # Dynamic: train stays as probabilities, test is a fixed binary sample of the same images.
    assert dynamic.binarize == "dynamic"
    assert torch.equal(dynamic.train_x, none.train_x)
    assert _is_binary(dynamic.test_x)
    assert torch.equal(dynamic.test_x, load_images(DataConfig(binarize="dynamic")).test_x)
    assert ((dynamic.test_x - none.test_x).abs() <= 1.0).all()
    assert (dynamic.test_x[none.test_x == 0] == 0).all() and (dynamic.test_x[none.test_x == 1] == 1).all()
    # Static: both binary and reproducible from the seed.
    assert _is_binary(static.train_x) and _is_binary(static.test_x)
    assert torch.equal(static.train_x, load_images(DataConfig(binarize="static")).train_x)
    other = load_images(DataConfig(binarize="static", seed=1))
    assert not torch.equal(static.train_x, other.train_x)


# --- MNIST-style IDX files ----------------------------------------------------------------


def _write_idx(path: Path, array: np.ndarray, magic: int, *, gz: bool = False) -> None:
    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    payload = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


def _write_mnist(directory: Path, *, gz: bool = False, n_train: int = 7, n_test: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {
        "train_x": rng.integers(0, 256, (n_train, 5, 4)),
        "train_y": rng.integers(0, 10, n_train),
        "test_x": rng.integers(0, 256, (n_test, 5, 4)),
        "test_y": rng.integers(0, 10, n_test),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for key, name in IDX_FILES.items():
        _write_idx(directory / name, arrays[key], 2051 if key.endswith("_x") else 2049, gz=gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path: Path, gz: bool) -> None:
    arrays = _write_mnist(tmp_path, gz=gz)
    data = load_images(DataConfig(source="mnist", path=str(tmp_path), binarize="none"))
    assert data.name == "mnist" and data.image_shape == (1, 5, 4)
    assert data.label_names == tuple("0123456789")
    assert np.array_equal((data.train_x[:, 0] * 255).round().numpy(), arrays["train_x"])
    assert np.array_equal((data.test_x[:, 0] * 255).round().numpy(), arrays["test_x"])
    assert np.array_equal(data.train_y.numpy(), arrays["train_y"])
    assert np.array_equal(data.test_y.numpy(), arrays["test_y"])
    assert data.train_x.dtype == torch.float32 and data.train_y.dtype == torch.int64


def test_idx_fashion_labels_and_limit(tmp_path: Path) -> None:
    _write_mnist(tmp_path)
    data = load_images(DataConfig(source="fashion-mnist", path=str(tmp_path), limit=2))
    assert data.name == "fashion-mnist" and data.label_names == FASHION_MNIST_LABELS
    assert len(data.train_x) == 2 and len(data.test_x) == 2 and _is_binary(data.test_x)


def test_dynamic_test_binarization_does_not_depend_on_the_seed(tmp_path: Path) -> None:
    _write_mnist(tmp_path, n_test=50)
    runs = [load_images(DataConfig(source="mnist", path=str(tmp_path), seed=s)) for s in (0, 1)]
    assert torch.equal(runs[0].test_x, runs[1].test_x)  # official split: same fixed test sample
    static = [load_images(DataConfig(source="mnist", path=str(tmp_path), seed=s, binarize="static")) for s in (0, 1)]
    assert not torch.equal(static[0].test_x, static[1].test_x)


@pytest.mark.parametrize("path", [None, "does-not-exist"])
def test_idx_missing_directory_explains_where_files_come_from(tmp_path: Path, path: str | None) -> None:
    config = DataConfig(source="mnist", path=None if path is None else str(tmp_path / path))
    start = "no path given" if path is None else "mnist path '.*does-not-exist' is not an existing"
    with pytest.raises(DataError, match=f"^{start}.* mnist needs the four IDX files") as info:
        load_images(config)
    message = str(info.value)
    expected = ["MNIST distribution", "never downloads", "--data mnist --data-path DIR",
                "DataConfig(source='mnist', path=DIR)", *IDX_FILES.values()]  # fmt: skip
    assert all(part in message for part in expected), message


def test_idx_missing_file(tmp_path: Path) -> None:
    _write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    start = f"t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz) not found in '{tmp_path}'"
    with pytest.raises(DataError, match=f"^{re.escape(start)}") as info:
        load_images(DataConfig(source="fashion-mnist", path=str(tmp_path)))
    message = str(info.value)
    expected = ["Fashion-MNIST distribution", "never downloads", *IDX_FILES.values(),
                "--data fashion-mnist --data-path DIR",
                "DataConfig(source='fashion-mnist', path=DIR)"]  # fmt: skip
    assert all(part in message for part in expected), message


def test_idx_bad_magic(tmp_path: Path) -> None:
    _write_mnist(tmp_path)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(7), 2051)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte' has magic number 2051, expected 2049"):
        load_images(DataConfig(source="mnist", path=str(tmp_path)))


def test_idx_shape_mismatch_and_path_not_a_directory(tmp_path: Path) -> None:
    _write_mnist(tmp_path)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 4, 4)), 2051)
    with pytest.raises(DataError, match=r"train images are \(5, 4\) but test images are \(4, 4\)"):
        load_images(DataConfig(source="mnist", path=str(tmp_path)))
    with pytest.raises(DataError, match="is not an existing directory"):
        load_images(DataConfig(source="mnist", path=str(tmp_path / "t10k-images-idx3-ubyte")))


def test_idx_count_mismatch(tmp_path: Path) -> None:
    _write_mnist(tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4), 2049)
    with pytest.raises(DataError, match="test images and labels disagree: 3 images, 4 labels"):
        load_images(DataConfig(source="mnist", path=str(tmp_path)))


def test_idx_truncated_file(tmp_path: Path) -> None:
    _write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    expected = (
        "train-images-idx3-ubyte' is truncated: header declares images of shape (7, 5, 4) "
        "(140 bytes) but the file holds 135 data bytes"
    )
    with pytest.raises(DataError, match=re.escape(expected)):
        load_images(DataConfig(source="mnist", path=str(tmp_path)))
    path.write_bytes(path.read_bytes() + b"\x00" * 9)
    with pytest.raises(DataError, match=r"is longer than its header says: .* holds 144 data bytes"):
        load_images(DataConfig(source="mnist", path=str(tmp_path)))
    path.write_bytes(b"\x00\x00\x08")
    with pytest.raises(DataError, match="is truncated: 3 bytes, shorter than an IDX images header"):
        load_images(DataConfig(source="mnist", path=str(tmp_path)))


def test_idx_corrupt_gzip(tmp_path: Path) -> None:
    _write_mnist(tmp_path, gz=True)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz' could not be read or decompressed"):
        load_images(DataConfig(source="mnist", path=str(tmp_path)))


# --- folders of images --------------------------------------------------------------------


def _png(path: Path, value: int, size: tuple[int, int] = (6, 4), mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, size, colour).save(path)


def test_folder_with_class_subdirectories(tmp_path: Path) -> None:
    for i in range(3):
        _png(tmp_path / "pics" / "zebra" / f"{i}.png", 10 * i)
        _png(tmp_path / "pics" / "apple" / "nested" / f"{i}.PNG", 255)
    (tmp_path / "pics" / "notes.txt").write_text("ignored")
    data = load_images(DataConfig(source="folder", path=str(tmp_path / "pics"), test_fraction=0.5, binarize="none"))
    assert data.name == "pics" and data.label_names == ("apple", "zebra")
    assert data.image_shape == (1, 4, 6)  # PIL sizes are (width, height)
    assert len(data.train_x) == 3 and len(data.test_x) == 3
    x = torch.cat([data.train_x, data.test_x])
    y = torch.cat([data.train_y, data.test_y])
    assert (x[y == 0] == 1.0).all()  # apple images are white
    assert sorted(round(v * 255) for v in x[y == 1, 0, 0, 0].tolist()) == [0, 10, 20]


def test_folder_flat_colour_and_resize(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", 100, size=(10, 10))
    _png(tmp_path / "b.jpg", 50, size=(20, 30), mode="RGB")
    _png(tmp_path / "c.bmp", 200, size=(5, 5))
    data = load_images(DataConfig(source="folder", path=str(tmp_path), image_size=8, binarize="none"))
    assert data.train_y is None and data.test_y is None and data.label_names is None
    assert data.image_shape == (3, 8, 8)  # one colour image makes them all RGB
    assert len(data.train_x) + len(data.test_x) == 3
    x = torch.cat([data.train_x, data.test_x])
    gray = x[(x[:, 0] == x[:, 1]).flatten(1).all(1)]
    assert len(gray) == 2  # the gray images became three equal channels


def test_folder_mismatched_sizes_without_image_size(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", 1, size=(4, 4))
    _png(tmp_path / "b.png", 1, size=(5, 4))
    with pytest.raises(DataError, match=r"b.png' is 5x4 but .*a.png' is 4x4; resize them all with --set data.image_size=H,W"):
        load_images(DataConfig(source="folder", path=str(tmp_path)))


def test_folder_unreadable_image(tmp_path: Path) -> None:
    _png(tmp_path / "good.png", 1)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"could not read image .*broken.png"):
        load_images(DataConfig(source="folder", path=str(tmp_path)))


def test_folder_empty_missing_and_mixed(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no images \(.png, .jpg, .jpeg, .bmp, .gif\) found under .*empty"):
        load_images(DataConfig(source="folder", path=str(tmp_path / "empty")))
    with pytest.raises(DataError, match=r"folder path .*nowhere' is not an existing directory"):
        load_images(DataConfig(source="folder", path=str(tmp_path / "nowhere")))
    with pytest.raises(
        DataError,
        match=re.escape("no path given. Source 'folder' reads a directory of images. Pass --data folder --data-path DIR"),
    ):
        load_images(DataConfig(source="folder"))
    _png(tmp_path / "mixed" / "cls" / "a.png", 1)
    _png(tmp_path / "mixed" / "loose.png", 1)
    with pytest.raises(DataError, match=r"mixes class subdirectories with loose images such as 'loose\.png'"):
        load_images(DataConfig(source="folder", path=str(tmp_path / "mixed")))


# --- numpy arrays -------------------------------------------------------------------------


def test_npy_uint8_round_trip(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (20, 6, 5), dtype=np.uint8)
    np.save(tmp_path / "faces.npy", images)
    data = load_images(DataConfig(source="array", path=str(tmp_path / "faces.npy"), binarize="none"))
    assert data.name == "faces" and data.image_shape == (1, 6, 5)
    assert data.train_y is None and len(data.train_x) == 16 and len(data.test_x) == 4
    x = torch.cat([data.train_x, data.test_x])[:, 0]
    restored = sorted(map(bytes, (x * 255).round().to(torch.uint8).numpy()))
    assert restored == sorted(map(bytes, images))


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((10, 3, 4, 5), (3, 4, 5)), ((10, 4, 5, 3), (3, 4, 5)),
     ((10, 1, 4, 5), (1, 4, 5)), ((10, 4, 5, 1), (1, 4, 5))],
)  # fmt: skip
def test_npz_layouts_and_labels(tmp_path: Path, shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    x = np.random.default_rng(1).random(shape).astype(np.float32)
    y = np.arange(10) % 2
    np.savez(tmp_path / "set.npz", images=x, labels=y)
    data = load_images(DataConfig(source="array", path=str(tmp_path / "set.npz"), test_fraction=0.2, binarize="none"))
    assert data.image_shape == expected
    assert data.test_y is not None and sorted(data.test_y.tolist()) == [0, 1]  # stratified
    assert x.min() <= data.train_x.min() and data.train_x.max() <= x.max()


def test_array_errors(tmp_path: Path) -> None:
    def load(name: str) -> ImageDataset:
        return load_images(DataConfig(source="array", path=str(tmp_path / name)))

    np.save(tmp_path / "big.npy", np.full((4, 3, 3), 2.5))
    with pytest.raises(DataError, match=r"float images must be scaled to \[0, 1\], found min 2.5 and max 2.5"):
        load("big.npy")
    np.save(tmp_path / "flat.npy", np.zeros((4, 9), dtype=np.uint8))
    with pytest.raises(DataError, match=r"shape \(4, 9\) \(2-D\); accepted shapes are \(N, H, W\), \(N, C, H, W\)"):
        load("flat.npy")
    np.save(tmp_path / "nochan.npy", np.zeros((4, 5, 6, 7), dtype=np.uint8))
    with pytest.raises(DataError, match="no channel axis of size 1 or 3"):
        load("nochan.npy")
    np.save(tmp_path / "ints.npy", np.zeros((4, 3, 3), dtype=np.int32))
    with pytest.raises(DataError, match=r"dtype int32; use uint8 \(0..255\) or floats in \[0, 1\]"):
        load("ints.npy")
    np.savez(tmp_path / "keys.npz", pixels=np.zeros((4, 3, 3)))
    with pytest.raises(DataError, match=r"no 'x' or 'images' array; it holds \['pixels'\]"):
        load("keys.npz")
    np.savez(tmp_path / "labels.npz", x=np.zeros((4, 3, 3)), y=np.zeros(3, dtype=np.int64))
    with pytest.raises(DataError, match="labels must be a 1-D integer array of length 4"):
        load("labels.npz")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"objects.npy: array 'array' holds Python objects"):
        load("objects.npy")
    (tmp_path / "garbage.npy").write_bytes(b"nonsense")
    with pytest.raises(DataError, match=r"garbage.npy: array 'array' has no valid .npy header"):
        load("garbage.npy")
    with pytest.raises(DataError, match=r"array path .*missing.npy' is not an existing file"):
        load("missing.npy")
    np.save(tmp_path / "one.npy", np.zeros((1, 3, 3), dtype=np.uint8))
    with pytest.raises(DataError, match="need at least 2 examples"):
        load("one.npy")
