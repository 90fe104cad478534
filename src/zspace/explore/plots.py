"""Family-agnostic figures: each function draws one PNG from tensors or arrays and returns its Path.

Inputs are data, never models: images (N, C, H, W) with C = 1 (drawn in grayscale) or 3 (RGB),
values in [0, 1] (clipped); latent codes (N, D). Torch tensors and numpy arrays both work.

Figures are built with ``matplotlib.figure.Figure`` and its Agg canvas directly, never
``pyplot``, so importing or calling this module changes no global matplotlib state (backend,
rcParams) and works headless.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from zspace.errors import DataError

DPI = 110
MOSAIC_MAX_PX = (640, 900)  # (width, height): mosaics are upscaled by the largest integer factor that fits
PAD_VALUE = 0.3  # dark gray lines between tiles: visible on black and on white backgrounds
TRAIN_COLOR, VALID_COLOR = "#1f77b4", "#d62728"
Method = Literal["auto", "none", "pca", "tsne"]


# -- helpers ------------------------------------------------------------------------------------
def _numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # torch.Tensor, without importing torch here
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _as_images(images: Any) -> np.ndarray:
    """(N, C, H, W) or (N, H, W) -> (N, H, W, C) float32 in [0, 1], C in {1, 3}."""
    a = _numpy(images).astype(np.float32)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 1 or 3, H, W), got {a.shape}")
    return np.clip(a.transpose(0, 2, 3, 1), 0.0, 1.0)


def _mosaic(images: np.ndarray, ncol: int, pad: int = 1) -> np.ndarray:
    """Tile (N, H, W, C) row-major into (rows*(H+pad)+pad, ncol*(W+pad)+pad, C); empty tiles are pad."""
    n, h, w, c = images.shape
    rows = max(1, -(-n // ncol))
    out = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad, c), PAD_VALUE, np.float32)
    for i in range(n):
        r, k = divmod(i, ncol)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w] = images[i]
    return out


def _mosaic_figure(mosaic: np.ndarray) -> tuple[Figure, Any, int]:
    """A figure whose axes show ``mosaic`` at an integer upscale (crisp pixels); returns (fig, ax, scale)."""
    h, w = mosaic.shape[:2]
    scale = max(1, min(MOSAIC_MAX_PX[0] // w, MOSAIC_MAX_PX[1] // h))
    fig = Figure(figsize=(w * scale / DPI, h * scale / DPI), dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    kwargs = {"cmap": "gray", "vmin": 0.0, "vmax": 1.0} if mosaic.shape[2] == 1 else {}
    ax.imshow(mosaic[..., 0] if mosaic.shape[2] == 1 else mosaic, interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig, ax, scale


def _centers(count: int, size: int, pad: int = 1) -> np.ndarray:
    """Mosaic pixel coordinates of the centres of ``count`` tiles of side ``size``."""
    return pad + np.arange(count) * (size + pad) + (size - 1) / 2


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # bbox "tight" grows the canvas to fit labels outside the axes without rescaling the axes.
    fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.08, facecolor="white")
    return path


# -- image figures ------------------------------------------------------------------------------
def _image_suffixes() -> tuple[str, ...]:
    from matplotlib.figure import Figure

    return tuple(sorted(f".{name}" for name in Figure().canvas.get_supported_filetypes()))


IMAGE_SUFFIXES = _image_suffixes()  # the formats savefig writes: .png, .pdf, .svg, ...


def image_grid(images: Any, path: str | Path, *, nrow: int = 8, title: str | None = None) -> Path:
    """Tile images (N, C, H, W) with ``nrow`` images per row (torchvision's convention)."""
    fig, ax, _ = _mosaic_figure(_mosaic(_as_images(images), nrow))
    if title:
        ax.set_title(title)
    return _save(fig, path)


def comparison_rows(rows: Sequence[tuple[str, Any]], path: str | Path, *, title: str | None = None) -> Path:
    """One labelled row per (label, images (N, C, H, W)), e.g. originals over reconstructions.

    Rows may differ in length; shorter rows are padded on the right.
    """
    if not rows:
        raise ValueError("comparison_rows needs at least one row")
    arrays = [_as_images(images) for _, images in rows]
    h, w, c = arrays[0].shape[1:]
    if any(a.shape[1:] != (h, w, c) for a in arrays):
        raise ValueError(f"all rows must hold images of one shape; got {[a.shape[1:] for a in arrays]}")
    ncol = max(len(a) for a in arrays)
    tiles = np.full((len(arrays) * ncol, h, w, c), PAD_VALUE, np.float32)
    for r, a in enumerate(arrays):
        tiles[r * ncol : r * ncol + len(a)] = a
    fig, ax, _ = _mosaic_figure(_mosaic(tiles, ncol))
    ax.set_yticks(_centers(len(rows), h), [label for label, _ in rows])
    ax.tick_params(axis="y", length=0)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def manifold_grid(
    images: Any,
    path: str | Path,
    n: int,
    *,
    values: Sequence[float] | None = None,
    title: str | None = None,
) -> Path:
    """The decoded n x n latent grid: images (n*n, C, H, W), ``images[i*n + j]`` at row i (top first), column j.

    ``values`` (length n), if given, are the latent coordinates of the columns (left to right)
    and of the rows (bottom to top) and label the axes; a subset is shown when n is large.
    """
    tiles = _as_images(images)
    if len(tiles) != n * n:
        raise ValueError(f"manifold_grid needs n*n = {n * n} images, got {len(tiles)}")
    fig, ax, _ = _mosaic_figure(_mosaic(tiles, n))
    if values is not None:
        if len(values) != n:
            raise ValueError(f"manifold_grid: {n} coordinate values expected, got {len(values)}")
        centers = _centers(n, tiles.shape[1])
        picks = {round(k * (n - 1) / 4) for k in range(5)}
        shown = sorted(i for i in picks if n - 1 - i in picks)  # symmetric ticks for a symmetric grid
        ax.set_xticks(centers[shown], [f"{values[i]:.2f}" for i in shown])
        ax.set_yticks(centers[shown], [f"{values[n - 1 - i]:.2f}" for i in shown])
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def traversal_grid(
    images: Any,
    path: str | Path,
    dims: Sequence[int],
    values: Sequence[float],
    *,
    row_notes: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Latent traversals: images (len(dims)*len(values), C, H, W), one row per dimension.

    Row r varies dimension ``dims[r]`` (0-based index) through ``values`` (the columns); rows
    are labelled 1-based, z_{dims[r]+1}, as the scatter axes z_1, z_2. ``row_notes`` are
    appended to the row labels (e.g. each dimension's activity).
    """
    tiles = _as_images(images)
    if len(tiles) != len(dims) * len(values):
        raise ValueError(f"traversal_grid needs {len(dims)}*{len(values)} images, got {len(tiles)}")
    fig, ax, _ = _mosaic_figure(_mosaic(tiles, len(values)))
    notes = list(row_notes) if row_notes is not None else [""] * len(dims)
    ax.set_yticks(_centers(len(dims), tiles.shape[1]), [f"$z_{{{d + 1}}}$ {note}".rstrip() for d, note in zip(dims, notes)])
    ax.set_xticks(_centers(len(values), tiles.shape[2]), [f"{v:+.1f}" for v in values])
    ax.tick_params(length=0)
    ax.set_xlabel("value of the traversed dimension")
    if title:
        ax.set_title(title)
    return _save(fig, path)


# -- latent scatters ----------------------------------------------------------------------------
def project_2d(z: Any, method: Method = "auto", *, seed: int = 0) -> tuple[np.ndarray, str]:
    """Project codes z (N, D) to (N, 2); returns (points, method used).

    ``auto``: the codes themselves when D <= 2, PCA otherwise (fast, linear, deterministic);
    ``tsne`` only on request (slow, and distances between clusters are not meaningful).
    ``none`` keeps the first two dimensions. D = 1 is drawn against a zero second axis.
    """
    z = _numpy(z).astype(np.float64)
    if z.ndim != 2:
        raise ValueError(f"expected latent codes of shape (N, D), got {z.shape}")
    if method == "auto":
        method = "none" if z.shape[1] <= 2 else "pca"
    if method not in ("none", "pca", "tsne"):
        raise ValueError(f"unknown projection {method!r}; use 'auto', 'none', 'pca' or 'tsne'")
    if z.shape[1] < 2:
        return np.concatenate([z, np.zeros_like(z)], axis=1), "none"
    if method == "none" or (z.shape[1] == 2 and method == "pca"):
        return z[:, :2], "none"
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(z), "pca"
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(z) - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(z), "tsne"


_AXIS_NAMES = {"none": ("$z_1$", "$z_2$"), "pca": ("PC 1", "PC 2"), "tsne": ("t-SNE 1", "t-SNE 2")}


def _draw_scatter(fig: Figure, ax: Any, z2d: np.ndarray, labels: Any, label_names: Sequence[str] | None) -> list[Line2D]:
    """Scatter colored by label; returns legend handles for class labels ([] for continuous ones)."""
    if labels is None:
        ax.scatter(z2d[:, 0], z2d[:, 1], s=7, alpha=0.7, color=TRAIN_COLOR, linewidths=0)
        return []
    labels = _numpy(labels)
    is_class = np.issubdtype(labels.dtype, np.integer) and labels.min() >= 0 and labels.max() < 20
    if not is_class:
        points = ax.scatter(z2d[:, 0], z2d[:, 1], c=labels, s=7, alpha=0.8, cmap="viridis", linewidths=0)
        fig.colorbar(points, ax=ax, shrink=0.8)
        return []
    classes = np.unique(labels)
    cmap = _class_cmap(int(labels.max()) + 1)
    handles = []
    for k in classes:
        mask = labels == k
        name = label_names[k] if label_names is not None and k < len(label_names) else str(k)
        ax.scatter(z2d[mask, 0], z2d[mask, 1], s=7, alpha=0.7, color=cmap(k), linewidths=0)
        # The class name at its median code makes 10 similar colours readable.
        cx, cy = np.median(z2d[mask], axis=0)
        ax.annotate(
            name,
            (cx, cy),
            ha="center",
            va="center",
            fontsize=9,
            weight="bold",
            color="black",
            bbox={"boxstyle": "round,pad=0.15", "fc": cmap(k), "ec": "none", "alpha": 0.85},
        )
        handles.append(Line2D([], [], marker="o", linestyle="", color=cmap(k), label=name))
    return handles


def _class_cmap(n_classes: int) -> Any:
    from matplotlib import colormaps

    return colormaps["tab10" if n_classes <= 10 else "tab20"]


def latent_scatter(
    z: Any,
    labels: Any,
    path: str | Path,
    *,
    label_names: Sequence[str] | None = None,
    method: Method = "auto",
    title: str | None = None,
    seed: int = 0,
) -> Path:
    """2-D scatter of codes z (N, D), projected by :func:`project_2d`, colored by labels (N,) or None.

    Integer labels in [0, 20) are classes (legend, names at class medians); other labels get a
    colorbar.
    """
    z2d, used = project_2d(z, method, seed=seed)
    fig = Figure(figsize=(6.4, 5.4), dpi=DPI)
    ax = fig.add_subplot()
    handles = _draw_scatter(fig, ax, z2d, labels, label_names)
    if handles:
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)
    ax.set_xlabel(_AXIS_NAMES[used][0])
    ax.set_ylabel(_AXIS_NAMES[used][1])
    if used == "none":
        ax.set_aspect("equal", adjustable="datalim")  # the N(0, I) prior is isotropic: keep circles round
    ax.grid(alpha=0.25)
    ax.set_title(title or f"latent codes ({len(z2d)} points)")
    return _save(fig, path)


def scatter_panels(
    panels: Sequence[tuple[str, Any, Any]],
    path: str | Path,
    *,
    label_names: Sequence[str] | None = None,
    axis_names: tuple[str, str] = ("$z_1$", "$z_2$"),
    title: str | None = None,
) -> Path:
    """Side-by-side 2-D scatters, one per (title, z2d (N, 2), labels (N,) or None).

    Each panel keeps its own scale, which is printed in its corner (the std of the points), so
    a collapsed panel (all codes near one point) is not mistaken for a spread-out one.
    """
    if not panels:
        raise ValueError("scatter_panels needs at least one panel")
    fig = Figure(figsize=(4.2 * len(panels), 4.4), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    handles: list[Line2D] = []
    for ax, (panel_title, z2d, labels) in zip(axes, panels):
        z2d = _numpy(z2d).astype(np.float64)
        handles = _draw_scatter(fig, ax, z2d, labels, label_names) or handles
        spread = float(np.sqrt(z2d.var(axis=0).sum() / 2)) if len(z2d) > 1 else 0.0
        ax.text(
            0.02,
            0.98,
            f"std {spread:.3g}",
            transform=ax.transAxes,
            va="top",
            fontsize=9,
            bbox={"fc": "white", "ec": "0.7", "alpha": 0.9},
        )
        ax.set_title(panel_title, fontsize=11)
        ax.set_xlabel(axis_names[0])
        ax.set_ylabel(axis_names[1])
        ax.grid(alpha=0.25)
    if handles:
        fig.legend(handles=handles, loc="outside right center", frameon=False, fontsize=9)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


# -- training curves ----------------------------------------------------------------------------
_CURVES = (
    ("loss", "loss (minimized)"),
    ("elbo", "ELBO (nats, higher is better)"),
    ("reconstruction", "reconstruction $-\\log p(x|z)$ (nats)"),
    ("kl", "KL$(q(z|x)\\,\\|\\,p(z))$ (nats)"),
)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl file, in file order: each with a numeric ``step`` and numbers.

    A cut last line (a killed run) is dropped; any other damage is a DataError naming the line.
    """
    from zspace.core.files import read_jsonl

    records = read_jsonl(path, error=DataError)
    for number, record in enumerate(records, start=1):
        bad = [k for k, v in record.items() if k != "split" and (isinstance(v, bool) or not isinstance(v, (int, float)))]
        if "step" not in record or bad:
            raise DataError(f"{path}: record {number} needs a numeric 'step' and numeric metrics, got {record}"[:300])
    return records


def training_curves(metrics_path: str | Path, path: str | Path, *, title: str | None = None) -> Path:
    """Loss, ELBO, reconstruction and KL against step, train and valid, from a metrics.jsonl file."""
    records = read_metrics(metrics_path)
    present = [(k, name) for k, name in _CURVES if any(k in r for r in records)]
    if not present:
        raise DataError(f"{metrics_path}: no records with any of {[k for k, _ in _CURVES]}")
    ncols = 2 if len(present) > 1 else 1
    nrows = -(-len(present) // ncols)
    fig = Figure(figsize=(5.0 * ncols, 3.3 * nrows), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (key, name) in zip(axes, present):
        for split, color, style in (("train", TRAIN_COLOR, "-"), ("valid", VALID_COLOR, "o-")):
            points = sorted((r["step"], r[key]) for r in records if r.get("split") == split and key in r)
            if points:
                steps, ys = zip(*points)
                ax.plot(steps, ys, style, color=color, label=split, lw=1.3, ms=2.5, alpha=0.9)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.25)
        ax.legend(fontsize=8, frameon=False)
    for ax in axes[len(present) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


__all__ = [
    "comparison_rows", "image_grid", "latent_scatter", "manifold_grid", "project_2d",
    "read_metrics", "scatter_panels", "training_curves", "traversal_grid",
]  # fmt: skip
