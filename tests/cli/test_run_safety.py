"""No run is lost: every family refuses a non-empty --out, checks it before work and locks it; one verb set."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from zspace.cli.main import app
from zspace.train import runs

runner = CliRunner()
VAE = ["train", "vae", "--preset", "digits-2d", "--limit", "320", "--batch-size", "32", "--no-tensorboard", "--epochs", "1"]
SSVM = ["train", "structured", "--problem", "synthetic-latent", "--data-set", "n_samples=60", "--set", "params.max_epochs=2"]


def test_structured_refuses_to_replace_a_fitted_model_unless_told(tmp_path):
    out = tmp_path / "ssvm"
    first = runner.invoke(app, [*SSVM, "--out", str(out)])
    assert first.exit_code == 0, first.output
    weights = (out / "model.safetensors").read_bytes()
    again = runner.invoke(app, ["train", "structured", "--problem", "synthetic-latent", "--seed", "1", "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output and "--resume" not in again.output
    assert (out / "model.safetensors").read_bytes() == weights
    replaced = runner.invoke(app, [*SSVM, "--seed", "1", "--overwrite", "--out", str(out)])
    assert replaced.exit_code == 0, replaced.output
    assert runs.read_run_info(out).family == "structured"
    evaluated = runner.invoke(app, ["eval", str(out)])
    assert evaluated.exit_code == 0 and "test_error" in evaluated.output, evaluated.output
    sampled = runner.invoke(app, ["sample", str(out)])
    assert sampled.exit_code == 2 and f"zspace eval {out}" in sampled.output


def test_structured_cli_defaults_are_the_estimators():
    import inspect

    from zspace.cli.structured import train
    from zspace.structured.config import StructuredRunConfig
    from zspace.structured.estimator import LatentSSVM

    defaults = {name: p.default for name, p in inspect.signature(train).parameters.items()}
    assert defaults["alpha"] is defaults["n_samples"] is defaults["method"] is None  # unset flags keep the config's
    params, config = LatentSSVM().get_params(), StructuredRunConfig().params
    assert (config.alpha, config.n_samples, config.method) == (params["alpha"], params["n_samples"], params["method"])


@pytest.fixture
def no_training(monkeypatch):
    from zspace.rl.sectar import train as sectar_train

    def refuse(*args, **kwargs):
        raise AssertionError("training started before --out was checked")

    monkeypatch.setattr(sectar_train, "train_sectar", refuse)


@pytest.mark.parametrize("existing", ["file", "run"])
def test_sectar_checks_out_before_the_first_env_step(tmp_path, no_training, existing):
    out = tmp_path / "nav"
    if existing == "file":
        out.write_text("not a directory")
    else:
        out.mkdir()
        (out / "model.safetensors").write_bytes(b"trained")
    result = runner.invoke(app, ["train", "sectar", "--steps", "400", "--out", str(out)])
    assert result.exit_code == 2 and "--out" in result.output and "Traceback" not in result.output
    assert "is a file" in result.output if existing == "file" else "--overwrite" in result.output


def test_sectar_old_spelling_is_an_alias(tmp_path, no_training):
    (tmp_path / "x").write_text("")
    result = runner.invoke(app, ["train", "sectar", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "is a file" in result.output


def test_a_second_training_into_a_locked_run_is_refused_with_the_pid(tmp_path):
    with runs.open_run_dir(tmp_path / "run"):
        result = runner.invoke(app, [*VAE, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and f"pid {os.getpid()}" in result.output


def test_set_takes_the_forms_anyone_types(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, [*VAE, "--set", "train.lr=0.01", "--set", "objective.beta=0.5", "--set", "train.max_steps=none",
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["train"]["lr"] == {**saved["train"]["lr"], "kind": "constant", "value": 0.01}
    assert saved["objective"]["beta"]["value"] == 0.5 and saved["train"]["max_steps"] is None
    assert saved["family"] == "vae" and saved["format_version"] == runs.FORMAT_VERSION and len(saved["data_sha256"]) == 64


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--lr", "-1"], "lr must be > 0 (--lr)"),
        (["--device", "tpu"], "--device"),
        (["--set", "train.lr=fast"], "expected float"),
        (["--set", "train.batch_size=1.5"], "expected an integer"),
    ],
)
def test_bad_training_values_are_one_line_errors(tmp_path, flags, message):
    result = runner.invoke(app, [*VAE, *flags, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch without CUDA")
def test_device_cuda_without_cuda_is_a_message(tmp_path):
    result = runner.invoke(app, [*VAE, "--device", "cuda", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "--device cpu" in result.output


def test_resume_notices_data_swapped_at_the_same_path_and_paths_are_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.save("images.npy", rng.random((200, 8, 8), dtype=np.float32))
    args = ["train", "vae", "--data", "array", "--data-path", "images.npy", "--latent-dim", "2", "--hidden", "16",
            "--batch-size", "20", "--epochs", "1", "--no-tensorboard", "--out", "run"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"]["path"] == str(tmp_path / "images.npy")
    np.save("images.npy", rng.random((200, 8, 8), dtype=np.float32))
    result = runner.invoke(app, [*args[:-2], "--epochs", "2", "--out", "run", "--resume"])
    assert result.exit_code == 2 and "changed since" in result.output, result.output


def test_eval_names_the_run_when_its_config_has_no_family(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model": {}}))
    result = runner.invoke(app, ["eval", str(tmp_path)])
    assert result.exit_code == 2 and "no 'family' entry" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["music", "prepare", "--corpus", "music21:essenFolksong", "--out", "{dir}"],
        ["music", "encode", "RUN", "a.mid", "--out", "{dir}"],
        ["music", "sample", "RUN", "--out", "{file}"],
        ["music", "decode", "RUN", "codes.npz", "--out", "{file}"],
        ["sectar", "render", "RUN", "--out", "{file}"],
    ],
)
def test_output_paths_are_checked_before_any_work(tmp_path, command):
    (tmp_path / "file").write_text("")
    args = [w.format(dir=tmp_path, file=tmp_path / "file") for w in command]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--out" in result.output and "Traceback" not in result.output, result.output
