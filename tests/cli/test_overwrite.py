"""`--overwrite` never loses a run: a failed new run leaves the old one whole, and only a zspace run is replaced."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from zspace.cli.main import app
from zspace.train import runs

runner = CliRunner()
TINY_VAE = ["train", "vae", "--data", "array", "--latent-dim", "2", "--hidden", "16", "--batch-size", "20", "--epochs", "1",
            "--no-tensorboard"]  # fmt: skip


def snapshot(root):
    """Every file under ``root`` with its bytes (lock files aside: they hold the last holder's pid)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != runs.LOCK_FILE}


def old_run(path, family):
    """A run as `zspace train FAMILY` leaves it: a stamped config and weights."""
    runs.save_run(path, family, {"model": {}, "trained": "before"})
    (path / "model.safetensors").write_bytes(b"the old weights")
    return snapshot(path)


@pytest.mark.parametrize(
    ("family", "command"),
    [
        ("vae", [*TINY_VAE, "--data-path", "{missing}"]),
        ("music", ["train", "music", "--preset", "cat-mel_2bar_tiny", "--data", "{missing}"]),
        ("sectar", ["train", "sectar", "--steps", "1"]),
        ("structured", ["train", "structured", "--problem", "synthetic-latent", "--set", "max_epochs=0"]),
    ],
)
def test_a_new_run_that_fails_before_saving_leaves_the_old_run_whole(tmp_path, family, command):
    run = tmp_path / "run"
    before = old_run(run, family)
    args = [w.format(missing=tmp_path / "missing.npz") for w in command]
    result = runner.invoke(app, [*args, "--out", str(run), "--overwrite"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert snapshot(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # and no half-made run beside it


def test_overwrite_replaces_the_run_once_the_new_one_has_a_checkpoint(tmp_path):
    np.save(tmp_path / "images.npy", np.random.default_rng(0).random((100, 8, 8), dtype=np.float32))
    run = tmp_path / "run"
    old_run(run, "vae")
    result = runner.invoke(app, [*TINY_VAE, "--data-path", str(tmp_path / "images.npy"), "--out", str(run), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert "trained" not in json.loads((run / "config.json").read_text()) and not (run / "model.safetensors").exists()
    assert runner.invoke(app, ["eval", str(run)]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.npy", "run"]


def test_the_library_reports_checkpoints_where_the_replacing_run_ended(tmp_path):
    from zspace.data.images import DataConfig
    from zspace.train import TrainConfig
    from zspace.vae.model import VAEConfig
    from zspace.vae.run import VAERunConfig, train

    np.save(tmp_path / "images.npy", np.random.default_rng(0).random((100, 8, 8), dtype=np.float32))
    run = tmp_path / "run"
    old_run(run, "vae")
    config = VAERunConfig(model=VAEConfig(latent_dim=2, hidden=(16,)), data=DataConfig(source="array", path=str(tmp_path / "images.npy")),
                          train=TrainConfig(epochs=1, batch_size=20, tensorboard=False, best_metric="elbo", best_mode="max"))  # fmt: skip
    _, result, _ = train(config, run, overwrite=True)
    assert result.best_checkpoint.parent.parent == run and result.last_checkpoint.parent.parent == run
    assert result.best_checkpoint.is_dir()


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path):
    folder = tmp_path / "thesis"
    (folder / "photos").mkdir(parents=True)
    (folder / "thesis.tex").write_text("\\documentclass{article}")
    (folder / "photos" / "a.jpg").write_bytes(b"\xff\xd8")
    before = snapshot(folder)
    result = runner.invoke(app, [*TINY_VAE, "--data-path", "x.npy", "--out", str(folder), "--overwrite"])
    assert result.exit_code == 2 and "not a zspace run" in result.output, result.output
    assert snapshot(folder) == before and sorted(p.name for p in folder.iterdir()) == ["photos", "thesis.tex"]


def test_overwrite_refuses_a_run_holding_files_of_the_users(tmp_path):
    run = tmp_path / "run"
    old_run(run, "structured")
    (run / "notes.txt").write_text("mine")
    before = snapshot(run)
    result = runner.invoke(app, ["train", "structured", "--problem", "synthetic-latent", "--out", str(run), "--overwrite"])
    assert result.exit_code == 2 and "notes.txt" in result.output, result.output
    assert snapshot(run) == before


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
@pytest.mark.parametrize("here", ["files", "run", "empty"])
def test_an_empty_out_is_refused_and_nothing_changes_where_the_user_stands(tmp_path, monkeypatch, here, overwrite):
    """`--out ''` would be the working directory: refused before any work, with or without --overwrite."""
    if here == "files":
        (tmp_path / "thesis.tex").write_text("\\documentclass{article}")
    elif here == "run":
        old_run(tmp_path, "structured")
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train", "structured", "--problem", "synthetic-latent", "--out", "", *overwrite])
    assert result.exit_code == 2 and "'--out'" in result.output and "is empty" in result.output, result.output
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == sorted(before)
