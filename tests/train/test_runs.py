"""The run contract and the output guard: family stamps, locks, refusals, damaged checkpoints, umask."""

from __future__ import annotations

import json
import os

import pytest
import torch
from torch import nn

from zspace.core.io import atomic_write_json
from zspace.errors import CheckpointError, ConfigError
from zspace.train import TrainConfig, Trainer, runs
from zspace.train import checkpoint as ckpt


def test_save_run_stamps_family_and_format_and_read_run_info_reads_them(tmp_path):
    runs.save_run(tmp_path, "structured", {"params": {"alpha": 0.1}}, data_sha256="ab" * 32)
    info = runs.read_run_info(tmp_path)
    assert (info.family, info.format_version, info.config["params"]) == ("structured", runs.FORMAT_VERSION, {"alpha": 0.1})
    assert runs.strip_contract(info.config) == {"params": {"alpha": 0.1}}


def test_load_run_is_only_a_familys_loader():
    """One meaning per name: the contract reader is read_run_info, the server's loader load_served_run."""
    import zspace.serve
    import zspace.serve.runs

    assert not hasattr(runs, "load_run")
    assert not hasattr(zspace.serve, "load_run") and not hasattr(zspace.serve.runs, "load_run")
    assert zspace.serve.load_served_run is zspace.serve.runs.load_served_run


def test_a_config_without_family_is_an_error_not_a_vae(tmp_path):
    atomic_write_json(tmp_path / "config.json", {"model": {}})
    with pytest.raises(CheckpointError, match="no 'family' entry.*zspace train FAMILY"):
        runs.read_run_info(tmp_path)


def test_a_newer_format_version_is_refused(tmp_path):
    atomic_write_json(tmp_path / "config.json", {"family": "vae", "format_version": runs.FORMAT_VERSION + 1})
    with pytest.raises(CheckpointError, match="upgrade zspace"):
        runs.read_run_info(tmp_path)


def _old_run(path, family="structured"):
    runs.save_run(path, family, {"params": {"alpha": 0.1}})
    (path / "weights.safetensors").write_bytes(b"trained")
    return _files(path)


def _files(path):
    """The run's files and their bytes (the lock file aside: it holds the last holder's pid)."""
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file() and p.name != runs.LOCK_FILE}


def test_a_directory_holding_a_run_needs_resume_or_overwrite(tmp_path):
    old = _old_run(tmp_path)
    with pytest.raises(CheckpointError, match="--resume, replace it with --overwrite"), runs.open_run_dir(tmp_path):
        pass
    refused = pytest.raises(CheckpointError, match=r"\(a trained run\?\); replace it with --overwrite")
    with refused, runs.open_run_dir(tmp_path, can_resume=False):
        pass
    assert _files(tmp_path) == old


def test_overwrite_writes_beside_the_old_run_and_swaps_only_a_saved_model_in(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    old = _old_run(run)
    with runs.open_run_dir(run, overwrite=True) as new:  # nothing saved: the old run stays
        assert new != run and new.parent == run.parent and _files(run) == old
        runs.save_run(new, "vae", {})  # a config alone is not a model
    assert _files(run) == old and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    with pytest.raises(RuntimeError, match="diverged"), runs.open_run_dir(run, overwrite=True) as new:
        raise RuntimeError("diverged before the first checkpoint")
    assert _files(run) == old and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    with runs.open_run_dir(run, overwrite=True) as new:
        runs.save_run(new, "vae", {})
        ckpt.save_checkpoint(new, 1, {"w": torch.zeros(2)}, {}, {"step": 1}, keep_last=2)
    assert runs.read_run_info(run).family == "vae" and ckpt.list_checkpoints(run) and not (run / "weights.safetensors").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("case", ["no-config", "foreign-file", "foreign-folder", "damaged-config"])
def test_overwrite_refuses_a_directory_that_is_not_only_a_zspace_run(tmp_path, case):
    if case == "no-config":
        (tmp_path / "thesis.tex").write_text("\\documentclass{article}")
        (tmp_path / "photos").mkdir()
        (tmp_path / "photos" / "a.jpg").write_bytes(b"jpg")
    else:
        _old_run(tmp_path)
    if case == "foreign-file":
        (tmp_path / "notes.txt").write_text("mine")
    elif case == "foreign-folder":
        (tmp_path / "photos").mkdir()
    elif case == "damaged-config":
        (tmp_path / "config.json").write_text("{")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    refused = pytest.raises(ConfigError, match="--overwrite: .*(not a zspace run|did not write)")
    with refused, runs.open_run_dir(tmp_path, overwrite=True):
        pass
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_overwrite_refuses_the_working_directory_and_an_empty_out(tmp_path, monkeypatch):
    old = _old_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    for out in (".", tmp_path):
        with pytest.raises(ConfigError, match="holds the current directory"), runs.open_run_dir(out, overwrite=True):
            pass
    with pytest.raises(ConfigError, match="--out is empty"), runs.open_run_dir("", overwrite=True):
        pass
    assert _files(tmp_path) == old


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
def test_an_output_path_that_cannot_be_a_directory_is_refused_before_work(tmp_path, kind):
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" if kind == "file" else tmp_path / "f" / "run"
    with pytest.raises(ConfigError, match="--out"), runs.open_run_dir(out):
        pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_output_path_is_refused(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="not writable"), runs.open_run_dir(tmp_path / "run"):
            pass
    finally:
        tmp_path.chmod(0o700)


def test_a_second_writer_is_refused_with_the_first_ones_pid(tmp_path):
    refused = pytest.raises(CheckpointError, match=f"pid {os.getpid()}")
    with runs.open_run_dir(tmp_path / "run"), refused, runs.open_run_dir(tmp_path / "run", overwrite=True):
        pass
    with runs.open_run_dir(tmp_path / "run", overwrite=True):  # released when the first block ends
        pass


def test_resume_into_a_run_of_another_family_is_refused(tmp_path):
    runs.save_run(tmp_path, "music", {})
    refused = pytest.raises(CheckpointError, match="'music' run, not a 'vae' one")
    with refused, runs.open_run_dir(tmp_path, resume=True, family="vae"):
        pass


def test_run_files_follow_the_umask(tmp_path):
    before = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "a.json", {})
        step = ckpt.save_checkpoint(tmp_path, 1, {"w": torch.zeros(2)}, {}, {"step": 1}, keep_last=2)
    finally:
        os.umask(before)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert step.stat().st_mode & 0o777 == 0o755 and (step / ckpt.WEIGHTS).stat().st_mode & 0o777 == 0o644


def test_content_hash_sees_a_changed_value():
    x = torch.zeros(4, 3)
    y = x.clone()
    y[2, 1] = 1.0
    assert runs.content_hash([x]) == runs.content_hash([x.clone()]) != runs.content_hash([y])


# --- damaged checkpoints ---------------------------------------------------------------------------
def _loss(model, batch, step):
    loss = ((model(batch) - 1.0) ** 2).mean()
    return loss, {}


def _fit(run_dir, *, resume=False, epochs=3):
    torch.manual_seed(0)
    config = TrainConfig(batch_size=4, epochs=epochs, tensorboard=False, log_every=1, keep_last=5)
    trainer = Trainer(nn.Linear(2, 1), _loss, config, run_dir=run_dir, run_config={"family": "vae"})
    return trainer.fit(torch.ones(8, 2), resume=resume)


@pytest.mark.parametrize("damaged", [ckpt.WEIGHTS, ckpt.STATE])
def test_a_damaged_checkpoint_is_named_and_resume_falls_back_to_the_one_before(tmp_path, damaged, caplog):
    _fit(tmp_path, epochs=2)
    newest = ckpt.latest_checkpoint(tmp_path)
    (newest / damaged).write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match=f"{newest / damaged} is damaged") as err:
        (ckpt.load_weights(nn.Linear(2, 1), newest) if damaged == ckpt.WEIGHTS else ckpt.load_trainer_state(newest))
    assert "weights_only=False" not in str(err.value)
    result = _fit(tmp_path, resume=True, epochs=3)
    assert "skipping a damaged checkpoint" in caplog.text and "step-00000002" in caplog.text
    assert result.step == 6 and ckpt.load_trainer_state(ckpt.latest_checkpoint(tmp_path))["step"] == 6


def test_resume_with_every_checkpoint_damaged_names_them(tmp_path):
    _fit(tmp_path, epochs=1)
    (ckpt.latest_checkpoint(tmp_path) / ckpt.STATE).write_bytes(b"")
    with pytest.raises(CheckpointError, match="no checkpoint .* can be read"):
        _fit(tmp_path, resume=True)


def test_config_json_that_is_not_an_object_is_damaged(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps([1, 2]))
    with pytest.raises(CheckpointError, match="damaged"):
        runs.read_run_info(tmp_path)


def test_family_config_checks_the_stamp_and_strips_the_contract():
    stamped = runs.stamp("music", {"model": {"z_size": 4}, "train": {}}, data_sha256="ab")
    assert runs.family_config(stamped, "music", where="run/config.json") == {"model": {"z_size": 4}, "train": {}}
    with pytest.raises(ConfigError, match="run/config.json: this run is a 'music' run, not a 'vae' run"):
        runs.family_config(stamped, "vae", where="run/config.json")
    with pytest.raises(CheckpointError, match="no 'family'/'model' entries.*; write it with save_run"):
        runs.family_config({"model": {}}, "vae", where="run/config.json", missing_hint="write it with save_run")
