"""Figures and the HTML report: each plot writes a PNG of a sensible size; the report is self-contained."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zspace.explore import (
    Section,
    comparison_rows,
    format_value,
    image_grid,
    latent_scatter,
    manifold_grid,
    plots,
    project_2d,
    scatter_panels,
    training_curves,
    traversal_grid,
    write_html_report,
)


def png_size(path: Path, lo: int = 80, hi: int = 2500) -> tuple[int, int]:
    """Assert ``path`` is a non-empty PNG whose sides lie in [lo, hi] pixels; return (width, height)."""
    assert path.is_file() and path.stat().st_size > 500
    with Image.open(path) as im:
        assert im.format == "PNG"
        w, h = im.size
    assert lo <= w <= hi and lo // 4 <= h <= hi, (w, h)
    return w, h


@pytest.fixture
def gray() -> torch.Tensor:
    return torch.rand(20, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def test_image_grid_gray_and_rgb(tmp_path: Path, gray: torch.Tensor) -> None:
    path = image_grid(gray, tmp_path / "grid.png", nrow=5, title="grid")
    assert path == tmp_path / "grid.png"
    w, h = png_size(path)
    assert w > h  # 5 columns x 4 rows of square tiles, plus a title
    rgb = np.random.default_rng(0).random((6, 3, 10, 10))  # numpy input, 3 channels
    png_size(image_grid(rgb, tmp_path / "sub" / "rgb.png", nrow=3))


def test_image_grid_rejects_bad_shapes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected images"):
        image_grid(torch.rand(4, 2, 8, 8), tmp_path / "x.png")


def test_comparison_rows_pads_short_rows(tmp_path: Path, gray: torch.Tensor) -> None:
    path = comparison_rows([("originals", gray[:8]), ("reconstructions", gray[8:13])], tmp_path / "rows.png", title="t")
    png_size(path)
    with pytest.raises(ValueError):
        comparison_rows([], tmp_path / "empty.png")
    with pytest.raises(ValueError, match="one shape"):
        comparison_rows([("a", gray[:2]), ("b", torch.rand(2, 1, 4, 4))], tmp_path / "bad.png")


def test_manifold_and_traversal_grids(tmp_path: Path) -> None:
    n = 6
    values = torch.distributions.Normal(0.0, 1.0).icdf((torch.arange(n) + 0.5) / n).tolist()
    w, h = png_size(manifold_grid(torch.rand(n * n, 1, 8, 8), tmp_path / "m.png", n, values=values, title="m"))
    assert abs(w - h) < 0.35 * w  # a square grid stays roughly square
    with pytest.raises(ValueError, match="n\\*n"):
        manifold_grid(torch.rand(10, 1, 8, 8), tmp_path / "bad.png", n)
    dims, steps = [3, 0, 1], [-3.0, -1.5, 0.0, 1.5, 3.0]
    path = traversal_grid(
        torch.rand(len(dims) * len(steps), 1, 8, 8), tmp_path / "t.png", dims, steps, row_notes=["(a)", "(b)", "(c)"], title="t"
    )
    png_size(path)
    with pytest.raises(ValueError):
        traversal_grid(torch.rand(4, 1, 8, 8), tmp_path / "bad.png", dims, steps)


def test_project_2d_methods() -> None:
    z = torch.randn(60, 5, generator=torch.Generator().manual_seed(1))
    points, method = project_2d(z)
    assert method == "pca" and points.shape == (60, 2)
    # PCA's first axis carries the most variance.
    assert points[:, 0].var() >= points[:, 1].var()
    points, method = project_2d(z[:, :2])
    assert method == "none" and np.allclose(points, z[:, :2].numpy())
    points, method = project_2d(z[:, :1])
    assert method == "none" and points.shape == (60, 2) and np.all(points[:, 1] == 0)
    points, method = project_2d(z[:40], "tsne", seed=0)
    assert method == "tsne" and points.shape == (40, 2)
    with pytest.raises(ValueError, match="unknown projection"):
        project_2d(z, "umap")  # type: ignore[arg-type]


def test_latent_scatter_uses_pca_above_two_dims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []
    real = plots.project_2d

    def spy(*args, **kwargs):
        points, method = real(*args, **kwargs)
        used.append(method)
        return points, method

    monkeypatch.setattr(plots, "project_2d", spy)
    labels = torch.arange(100) % 10
    z = torch.randn(100, 6, generator=torch.Generator().manual_seed(2))
    png_size(latent_scatter(z, labels, tmp_path / "s.png", label_names=[f"c{i}" for i in range(10)]))
    png_size(latent_scatter(z[:, :2], None, tmp_path / "s2.png"))
    png_size(latent_scatter(z, torch.rand(100), tmp_path / "s3.png"))  # continuous labels: colorbar
    assert used == ["pca", "none", "pca"]


def test_scatter_panels(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(3)
    labels = torch.arange(50) % 4
    panels = [
        ("wide", torch.randn(50, 2, generator=g) * 3, labels),
        ("collapsed", torch.randn(50, 2, generator=g) * 1e-4, labels),
        ("unlabelled", torch.randn(50, 2, generator=g), None),
    ]
    w, h = png_size(scatter_panels(panels, tmp_path / "p.png", label_names=["a", "b", "c", "d"], title="ablation"))
    assert w > 2 * h  # three panels side by side


def test_training_curves(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.jsonl"
    lines = []
    for step in range(10, 110, 10):
        for split in ("train", "valid"):
            lines.append(
                {
                    "split": split,
                    "step": step,
                    "epoch": step // 50,
                    "loss": 30 - step / 10,
                    "elbo": step / 10 - 30,
                    "reconstruction": 28 - step / 10,
                    "kl": 2.0,
                }
            )
    metrics.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    w, h = png_size(training_curves(metrics, tmp_path / "curves.png"))
    assert w > 500 and h > 400
    (tmp_path / "empty.jsonl").write_text(json.dumps({"split": "train", "step": 1}) + "\n")
    with pytest.raises(ValueError, match="no records"):
        training_curves(tmp_path / "empty.jsonl", tmp_path / "none.png")


def test_html_report_is_self_contained(tmp_path: Path, gray: torch.Tensor) -> None:
    fig = image_grid(gray, tmp_path / "figs" / "grid.png", nrow=5)
    sections = [
        Section(
            "First <section>",
            "Para one.\n\nPara two & more.",
            figures=[fig],
            captions=["what it shows"],
            table={"ELBO": -24.123456, "units": 2, "note": "ok"},
        ),
        Section("Ablation", table={"full": {"ELBO": -24.0, "KL": 2.7}, "kl only": {"ELBO": -44.3, "KL": 3e-7}}),
    ]
    path = write_html_report(tmp_path / "out", "My <report>", sections, intro="Intro.")
    assert path == tmp_path / "out" / "report.html"
    fig.unlink()  # the report must not depend on the PNG files
    text = path.read_text()
    assert "data:image/png;base64," in text
    for ref in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text):
        assert ref.startswith(("data:", "#")), ref
    assert "<link" not in text and "<script" not in text and "url(" not in text
    assert "First &lt;section&gt;" in text and "Ablation" in text and "My &lt;report&gt;" in text
    assert "Para two &amp; more." in text and "what it shows" in text
    assert "-24.12" in text and "3e-07" in text and "<th>kl only</th>" in text


def test_format_value() -> None:
    assert format_value(3) == "3"
    assert format_value(-24.123456) == "-24.12"
    assert format_value(None) == ""
    assert format_value(float("nan")) == "nan"
    assert format_value("2 / 10") == "2 / 10"


def test_plotting_leaves_matplotlib_global_state_alone(tmp_path: Path) -> None:
    # Without pyplot no backend is selected or switched (matplotlib.get_backend() itself imports pyplot).
    code = (
        "import sys, torch; import zspace.explore as e; e.image_grid(torch.rand(4, 1, 8, 8), sys.argv[1], nrow=2);"
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "g.png")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": ""},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    png_size(tmp_path / "g.png", lo=40)
