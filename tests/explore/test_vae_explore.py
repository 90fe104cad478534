"""explore_run on tiny digits runs: the report, its figures, and reuse of the ablation checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from zspace.core.config import override
from zspace.errors import CheckpointError
from zspace.train import checkpoint as ckpt
from zspace.vae import PRESETS, load_model, train
from zspace.vae.explore import ablation_config, explore_run, posterior_stats

TINY = {"train.epochs": 2, "train.batch_size": 32, "train.tensorboard": False, "data.limit": 96}
FIGURES = (
    "reconstructions",
    "samples",
    "latent_scatter",
    "manifold",
    "interpolations",
    "traversals",
    "training_curves",
    "ablation_scatter",
    "ablation_images",
)


def _train(out: Path, **extra: object) -> Path:
    train(override(PRESETS["digits-2d"], {**TINY, **extra}), out)
    return out


@pytest.fixture(scope="module")
def run_2d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train(tmp_path_factory.mktemp("explore") / "run")


def _checkpoint_mtimes(run: Path) -> dict[str, int]:
    return {str(p.relative_to(run)): p.stat().st_mtime_ns for p in sorted((run / "ablations").rglob("*")) if p.is_file()}


def test_explore_run_writes_report_and_reuses_ablations(run_2d: Path) -> None:
    report = explore_run(run_2d, n_samples=16, ablation_epochs=1, seed=0)
    out = run_2d / "report"
    assert report == out / "report.html"
    for name in FIGURES:
        with Image.open(out / f"{name}.png") as im:
            assert min(im.size) > 50
    text = report.read_text()
    for title in (
        "Overview",
        "Reconstructions and samples",
        "Latent space",
        "Interpolations",
        "Latent traversals",
        "Loss ablation",
    ):
        assert title in text
    assert text.count("data:image/png;base64,") == len(FIGURES)
    summary = json.loads((out / "summary.json").read_text())
    ablation = summary["ablation"]
    assert list(ablation) == ["full ELBO (this run)", "reconstruction only (beta = 0)", "KL only (no reconstruction term)"]
    for loss in ("reconstruction", "kl"):
        assert ckpt.latest_checkpoint(run_2d / "ablations" / loss) is not None
    # Without a reconstruction term nothing pushes the posterior away from the prior.
    assert ablation["KL only (no reconstruction term)"]["kl"] < ablation["reconstruction only (beta = 0)"]["kl"]

    before = _checkpoint_mtimes(run_2d)
    explore_run(run_2d, n_samples=16, ablation_epochs=1, seed=0)
    assert _checkpoint_mtimes(run_2d) == before  # reused, not retrained
    assert json.loads((out / "summary.json").read_text()) == summary  # same seed, same numbers

    with pytest.raises(CheckpointError, match="delete"):
        explore_run(run_2d, out_dir=run_2d / "other", ablation_epochs=2)


def test_explore_run_without_ablation_on_a_10d_latent(tmp_path: Path) -> None:
    run = _train(tmp_path / "run10", **{"model.latent_dim": 10, "train.epochs": 1})
    report = explore_run(run, out_dir=tmp_path / "figs", ablation=False, n_samples=8)
    names = {p.stem for p in (tmp_path / "figs").glob("*.png")}
    assert {"latent_scatter", "traversals", "interpolations"} <= names
    assert "manifold" not in names and "ablation_scatter" not in names  # manifold only for 2-D latents
    assert not (run / "ablations").exists() and not (run / "report").exists()
    assert "PCA" in report.read_text()


def test_posterior_stats_is_seeded_and_leaves_the_global_rng_alone(run_2d: Path) -> None:
    model = load_model(run_2d)
    x = torch.bernoulli(torch.full((40, 1, 8, 8), 0.3), generator=torch.Generator().manual_seed(0))
    state = torch.get_rng_state()
    a, b = posterior_stats(model, x, 0, iwae_k=10), posterior_stats(model, x, 0, iwae_k=10)
    assert torch.equal(torch.get_rng_state(), state)
    assert a["elbo"] == b["elbo"] and a["iwae"] == b["iwae"]
    assert a["iwae"] >= a["elbo"] - 1.0  # the IWAE bound is (up to noise) at least the ELBO
    assert a["mean"].shape == (40, 2) and a["activity"].shape == (2,)
    assert a["elbo"] == pytest.approx(-(a["reconstruction"] + a["kl"]))


def test_ablation_config_changes_only_the_loss_and_budget() -> None:
    base = PRESETS["digits-2d"]
    kl = ablation_config(base, "kl", None)
    assert kl.objective.loss == "kl" and kl.train == base.train and kl.model == base.model
    short = ablation_config(base, "reconstruction", 3)
    assert short.train.epochs == 3 and short.train.max_steps is None and short.data == base.data
