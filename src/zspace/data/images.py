"""Image datasets for the VAE family: bundled digits, MNIST IDX files, folders, arrays, shapes.

Every source becomes an :class:`ImageDataset` of contiguous float32 tensors (N, C, H, W) in
[0, 1]. Binarization follows the VAE literature (Burda et al. 2016):
- ``"static"``: train and test are Bernoulli-sampled once at load time (seed ``config.seed``);
- ``"dynamic"``: train stays as probabilities and the training loop resamples each batch with
  :func:`binarize_batch`; test is sampled once with the fixed seed ``TEST_BINARIZATION_SEED``
  (independent of ``config.seed``) so test likelihoods are comparable across training runs;
- ``"none"``: everything stays continuous.
zspace never downloads data; MNIST-style sets are read from files the user already has.
"""

from __future__ import annotations

import dataclasses
import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from zspace.core.constraints import Fraction, Seed, Size, configclass
from zspace.core.files import read_npz
from zspace.core.seeds import derive_seed
from zspace.data import shapes as _shapes
from zspace.errors import ConfigError, DataError

SOURCES: tuple[str, ...] = ("digits", "mnist", "fashion-mnist", "folder", "array", "shapes")
BINARIZE_MODES: tuple[str, ...] = ("none", "static", "dynamic")
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
TEST_BINARIZATION_SEED = 0
FASHION_MNIST_LABELS: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
IDX_FILES: dict[str, str] = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
_IDX_ORIGIN = {
    "mnist": "the MNIST distribution (Y. LeCun et al., http://yann.lecun.com/exdb/mnist/)",
    "fashion-mnist": "the Fashion-MNIST distribution (github.com/zalandoresearch/fashion-mnist)",
}
_PATH_SOURCES = ("mnist", "fashion-mnist", "folder", "array")


@configclass
class DataConfig:
    """Where the images come from and how they are prepared."""

    source: str = "digits"  # bundled with scikit-learn: the only source that needs no files
    path: str | None = None  # IDX directory, image folder, or .npy/.npz file
    binarize: str = "dynamic"  # the standard protocol for Bernoulli-decoder likelihoods
    test_fraction: float = 0.2  # only for sources without an official split
    valid_fraction: Fraction = 0.1  # share of the training split held out to pick the best checkpoint
    image_size: Size | None = None  # "folder": resize side (default: keep); "shapes": side (64)
    n_samples: Size = 20000  # "shapes": images generated before the split
    limit: Size | None = None  # cap on train and on test examples, for quick runs
    seed: Seed = 0  # split, static binarization and shapes generation

    def __post_init__(self) -> None:
        def require(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(f"DataConfig.{message}")

        require(
            self.source in SOURCES,
            f"source: unknown source {self.source!r}; valid sources are {list(SOURCES)}",
        )
        require(
            self.binarize in BINARIZE_MODES,
            f"binarize: unknown mode {self.binarize!r}; valid modes are {list(BINARIZE_MODES)}",
        )
        require(
            0.0 < self.test_fraction < 1.0,
            f"test_fraction must lie in (0, 1), got {self.test_fraction}",
        )
        require(
            self.path is None or self.source in _PATH_SOURCES,
            f"path is only used by sources {list(_PATH_SOURCES)}, not {self.source!r}",
        )
        require(
            self.image_size is None or self.source in ("folder", "shapes"),
            f"image_size only applies to sources 'folder' and 'shapes', not {self.source!r}",
        )
        require(self.n_samples >= 2, f"n_samples must be >= 2 (train + test), got {self.n_samples}")


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """Train and test images as contiguous float32 tensors (N, C, H, W) in [0, 1].

    ``train_y`` / ``test_y`` are (N,) int64 class indices or None. ``factors`` (shapes only)
    maps factor names to (M,) tensors of the TEST examples' ground-truth factor values.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor | None
    test_x: torch.Tensor
    test_y: torch.Tensor | None
    binarize: str
    name: str
    label_names: tuple[str, ...] | None = None
    factors: dict[str, torch.Tensor] | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        c, h, w = self.train_x.shape[1:]
        return (int(c), int(h), int(w))


def validation_split(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, valid) index tensors: a seeded ``fraction`` of n training examples held out.

    Checkpoint selection uses the validation part, so the test split stays unseen until
    ``zspace eval``. With fraction 0 the validation part is empty.
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(derive_seed(seed, "valid-split")))
    n_valid = round(n * fraction)
    return order[n_valid:].sort().values, order[:n_valid].sort().values


def binarize_batch(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Bernoulli sample of ``x`` read as per-pixel probabilities; same shape, float32 in {0, 1}.

    ``generator`` must live on ``x``'s device. Values outside [0, 1] act as clipped (never an
    error), which keeps the hot training loop free of host-device syncs.
    """
    if not x.is_floating_point():
        raise DataError(f"binarize_batch expects a floating-point tensor of probabilities, got {x.dtype}")
    u = torch.rand(x.shape, generator=generator, device=x.device, dtype=torch.float32)
    return (u < x).to(torch.float32)


def load_images(config: DataConfig) -> ImageDataset:
    """Load, split, truncate (``limit``) and binarize the images that ``config`` describes."""
    factors: dict[str, torch.Tensor] | None = None
    if config.source in ("mnist", "fashion-mnist"):
        train_x, train_y, test_x, test_y, label_names = _load_idx_dir(config)
        name = config.source
    elif config.source == "shapes":
        train_x, train_y, test_x, test_y, factors = _load_shapes(config)
        name, label_names = "shapes", _shapes.SHAPE_NAMES
    else:
        if config.source == "digits":
            from sklearn.datasets import load_digits

            digits = load_digits()
            x = (digits.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
            y, name, label_names = digits.target, "digits", tuple("0123456789")
        elif config.source == "folder":
            path = _existing(config, "Source 'folder' reads a directory of images.", is_dir=True)
            x, y, label_names, name = _load_folder(path, config.image_size)
        else:
            path = _existing(config, "Source 'array' reads a .npy or .npz file.", is_dir=False)
            x, y, name = _load_array(path)
            label_names = None
        train, test = (i[: config.limit] for i in _split(len(x), y, config))
        train_x, test_x = x[train], x[test]
        train_y, test_y = (None, None) if y is None else (y[train], y[test])
    tx, vx = _to_tensor(train_x), _to_tensor(test_x)
    if config.binarize == "static":
        gen = torch.Generator().manual_seed(config.seed)
        tx, vx = binarize_batch(tx, gen), binarize_batch(vx, gen)
    elif config.binarize == "dynamic":
        vx = binarize_batch(vx, torch.Generator().manual_seed(TEST_BINARIZATION_SEED))
    return ImageDataset(
        train_x=tx, train_y=_to_labels(train_y), test_x=vx, test_y=_to_labels(test_y),
        binarize=config.binarize, name=name, label_names=label_names, factors=factors,
    )  # fmt: skip


def _to_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _to_labels(y: np.ndarray | None) -> torch.Tensor | None:
    return None if y is None else torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))


def _split(n: int, y: np.ndarray | None, config: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train, test) index arrays; stratified by label when labels exist.

    Indices are shuffled, stably sorted by label, and the test set takes evenly spaced positions
    of that order, so every class gets its share up to rounding and the total is exact.
    """
    if n < 2:
        raise DataError(f"need at least 2 examples to make a train/test split, found {n}")
    # A stream apart from the one shapes' factors are sampled from with the same seed.
    rng = np.random.default_rng([config.seed, 0x5EED])
    order = rng.permutation(n)
    if y is not None:
        order = order[np.argsort(y[order], kind="stable")]
    k = min(max(round(n * config.test_fraction), 1), n - 1)
    is_test = np.zeros(n, dtype=bool)
    is_test[((np.arange(k) + 0.5) * n / k).astype(np.int64)] = True
    # Shuffle again so that `limit` keeps a random (not class-sorted) prefix.
    return rng.permutation(order[~is_test]), rng.permutation(order[is_test])


def _how_to_point(config: DataConfig, note: str, placeholder: str) -> str:
    return (
        f"{note} Pass --data {config.source} --data-path {placeholder} on the CLI, or "
        f"DataConfig(source={config.source!r}, path={placeholder}) in Python."
    )


def _existing(config: DataConfig, note: str, *, is_dir: bool) -> Path:
    """``config.path`` as a Path to an existing directory/file, or a DataError saying how to
    point zspace at one (``note`` says what the source needs and where it comes from)."""
    how = _how_to_point(config, note, "DIR" if is_dir else "FILE")
    if config.path is None:
        raise DataError(f"no path given. {how}")
    path = Path(config.path).expanduser()
    if not (path.is_dir() if is_dir else path.is_file()):
        kind = "directory" if is_dir else "file"
        raise DataError(f"{config.source} path '{path}' is not an existing {kind}. {how}")
    return path


# --- MNIST / Fashion-MNIST IDX files -------------------------------------------------------


def _load_idx_dir(config: DataConfig) -> tuple:
    """train_x (N, 1, H, W) float32 in [0, 1], train_y (N,) int64, test_x, test_y, label names."""
    source = config.source
    note = (
        f"{source} needs the four IDX files {list(IDX_FILES.values())} (raw or .gz) as published "
        f"by {_IDX_ORIGIN[source]}; zspace never downloads data."
    )
    directory = _existing(config, note, is_dir=True)
    arrays: dict[str, np.ndarray] = {}
    for key, stem in IDX_FILES.items():
        candidates = [directory / stem, directory / f"{stem}.gz"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            how = _how_to_point(config, note, "DIR")
            raise DataError(f"{stem} (or {stem}.gz) not found in '{directory}'. {how}")
        arrays[key] = _read_idx(found, images=key.endswith("_x"))
    for split in ("train", "test"):
        n_x, n_y = len(arrays[f"{split}_x"]), len(arrays[f"{split}_y"])
        if n_x != n_y:
            raise DataError(f"'{directory}': {split} images and labels disagree: {n_x} images, {n_y} labels")
    if arrays["train_x"].shape[1:] != arrays["test_x"].shape[1:]:
        raise DataError(
            f"'{directory}': train images are {arrays['train_x'].shape[1:]} but test images are {arrays['test_x'].shape[1:]}"
        )
    out = {k: v[: config.limit] for k, v in arrays.items()}
    label_names: tuple[str, ...] | None = FASHION_MNIST_LABELS if source == "fashion-mnist" else tuple("0123456789")
    if max(int(arrays["train_y"].max(initial=0)), int(arrays["test_y"].max(initial=0))) >= 10:
        label_names = None  # not the 10 classes of the published sets
    return (
        out["train_x"][:, None].astype(np.float32) / 255.0, out["train_y"],
        out["test_x"][:, None].astype(np.float32) / 255.0, out["test_y"], label_names,
    )  # fmt: skip


def _read_idx(path: Path, *, images: bool) -> np.ndarray:
    """Parse one unsigned-byte IDX file: images (N, H, W) uint8 or labels (N,) uint8."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"'{path}' could not be read or decompressed ({type(err).__name__}: {err})") from err
    magic, ndim = (2051, 3) if images else (2049, 1)
    kind = "images" if images else "labels"
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"'{path}' is truncated: {len(raw)} bytes, shorter than an IDX {kind} header")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"'{path}' has magic number {found}, expected {magic} (IDX unsigned-byte {kind})")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    if images and (dims[1] == 0 or dims[2] == 0):
        raise DataError(f"'{path}' declares images of size {dims[1]}x{dims[2]}")
    expected = int(np.prod(dims))
    body = len(raw) - 4 - 4 * ndim
    if body != expected:
        what = "truncated" if body < expected else "longer than its header says"
        raise DataError(
            f"'{path}' is {what}: header declares {kind} of shape {dims} ({expected} bytes) but the file holds {body} data bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


# --- Folders of images and numpy arrays ---------------------------------------------------


def _load_folder(root: Path, image_size: int | None) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...] | None, str]:
    """Images (N, C, S, S) float32 in [0, 1] (C = 1, or 3 if any image is colour), labels from
    first-level subdirectories (or None), sorted label names, and the folder's name.

    With ``image_size`` every image is resized (stretched if not square) to that side;
    without it every image must have the first image's size.
    """
    from PIL import Image

    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under '{root}'")
    rel = [p.relative_to(root) for p in files]
    nested = [len(r.parts) > 1 for r in rel]
    if any(nested) and not all(nested):
        loose = rel[nested.index(False)]
        raise DataError(
            f"'{root}' mixes class subdirectories with loose images such as '{loose}'; "
            "put every image in a class subdirectory, or none of them"
        )
    pixels: list[np.ndarray] = []
    colour = False
    size: tuple[int, int] | None = None
    for path in files:
        try:
            with Image.open(path) as opened:
                gray_mode = opened.mode in ("1", "L", "LA", "I", "I;16", "F")
                img = opened.convert("L" if gray_mode else "RGB")
                if image_size is not None:
                    img = img.resize((image_size, image_size), Image.Resampling.BILINEAR)
                arr = np.asarray(img)  # (H, W) or (H, W, 3) uint8
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            raise DataError(f"could not read image '{path}': {err}") from err
        # Palette/RGB files whose channels are all equal are gray, not colour.
        if arr.ndim == 3 and (arr != arr[..., :1]).any():
            colour = True
        size = size or arr.shape[:2]
        if arr.shape[:2] != size:
            raise DataError(
                f"image '{path}' is {arr.shape[1]}x{arr.shape[0]} but '{files[0]}' is "
                f"{size[1]}x{size[0]}; resize them all with --set data.image_size=H,W"
            )
        pixels.append(arr)
    channels = [
        (np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a) if colour
        else (a if a.ndim == 2 else a[..., 0])[..., None]
        for a in pixels
    ]  # fmt: skip
    x = np.stack(channels).transpose(0, 3, 1, 2).astype(np.float32) / 255.0  # (N, C, H, W)
    if not any(nested):
        return x, None, None, root.resolve().name
    label_names = tuple(sorted({r.parts[0] for r in rel}))
    y = np.array([label_names.index(r.parts[0]) for r in rel], dtype=np.int64)
    return x, y, label_names, root.resolve().name


def _load_array(path: Path) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Images (N, C, H, W) float32 in [0, 1], optional labels (N,) int64 and the file's stem.

    Accepted layouts: (N, H, W); (N, C, H, W) when axis 1 is 1 or 3 (checked first); else
    (N, H, W, C) when the last axis is 1 or 3. uint8 is divided by 255; floats must be in [0, 1].
    """
    accepted = "accepted shapes are (N, H, W), (N, C, H, W) or (N, H, W, C) with C in {1, 3}"
    loaded = read_npz(path, what="a .npy/.npz image array file")  # never unpickles a user's file
    y = None
    if path.suffix == ".npy":
        x = loaded["arr_0"]
    else:
        keys = list(loaded)
        x_key = next((k for k in ("x", "images") if k in keys), None)
        if x_key is None:
            raise DataError(f"'{path}' has no 'x' or 'images' array; it holds {keys}")
        x = loaded[x_key]
        y_key = next((k for k in ("y", "labels") if k in keys), None)
        y = None if y_key is None else loaded[y_key]
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[1] not in (1, 3):
        if x.shape[3] not in (1, 3):
            raise DataError(f"'{path}': shape {x.shape} has no channel axis of size 1 or 3; {accepted}")
        x = x.transpose(0, 3, 1, 2)
    elif x.ndim != 4:
        raise DataError(f"'{path}': images have shape {x.shape} ({x.ndim}-D); {accepted}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    elif x.dtype == np.bool_:
        x = x.astype(np.float32)
    elif np.issubdtype(x.dtype, np.floating):
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo >= 0.0 and hi <= 1.0):
            raise DataError(f"'{path}': float images must be scaled to [0, 1], found min {lo} and max {hi}")
        x = x.astype(np.float32)
    else:
        raise DataError(f"'{path}': images have dtype {x.dtype}; use uint8 (0..255) or floats in [0, 1]")
    if y is not None:
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"'{path}': labels must be a 1-D integer array of length {len(x)}, got {y.dtype} of shape {y.shape}")
        y = y.astype(np.int64)
    return x, y, path.stem


def _load_shapes(config: DataConfig) -> tuple:  # (train_x, train_y, test_x, test_y, factors)
    """Sample factors, split, truncate, then render only the kept images (rendering is per image,
    so a ``limit`` gives exactly the first images of the full set's split)."""
    factors = _shapes.sample_factors(config.n_samples, config.seed)
    labels = factors["shape"]
    train, test = (i[: config.limit] for i in _split(config.n_samples, labels, config))
    size = config.image_size or 64
    train_f, test_f = ({k: v[idx] for k, v in factors.items()} for idx in (train, test))
    train_x = _shapes.render_shapes(train_f, size).astype(np.float32)
    test_x = _shapes.render_shapes(test_f, size).astype(np.float32)
    test_factors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in test_f.items()}
    return train_x, labels[train], test_x, labels[test], test_factors
