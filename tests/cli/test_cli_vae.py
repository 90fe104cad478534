"""End-to-end through the command line: train, eval, sample, kill-and-resume, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from zspace.cli.main import app
from zspace.train import checkpoint as ckpt

runner = CliRunner()
TRAIN = ["train", "vae", "--preset", "digits-2d", "--limit", "320", "--batch-size", "32", "--no-tensorboard"]


def test_train_eval_sample_smoke(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, [*TRAIN, "--epochs", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # 320 examples, 10% held out for validation: 288 // 32 = 9 steps per epoch, 2 epochs
    assert ckpt.latest_checkpoint(out).name == "step-00000018"
    saved = json.loads((out / "config.json").read_text())
    assert saved["family"] == "vae" and saved["model"]["latent_dim"] == 2 and saved["data"]["limit"] == 320

    result = runner.invoke(app, ["eval", str(out), "--iw", "20"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "eval.json").read_text())
    assert metrics["k"] == 20 and metrics["nll"] > 0 and len(metrics["kl_per_dim"]) == 2

    result = runner.invoke(app, ["sample", str(out), "-n", "9"])
    assert result.exit_code == 0, result.output
    assert (out / "samples.png").stat().st_size > 0


def test_user_errors_exit_2_without_traceback(tmp_path):
    result = runner.invoke(app, ["train", "vae", "--preset", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "valid presets" in result.output and "Traceback" not in result.output
    result = runner.invoke(
        app, ["train", "vae", "--data", "mnist", "--data-path", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "train-images-idx3-ubyte" in result.output
    result = runner.invoke(app, ["eval", str(tmp_path / "no-run")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, [*TRAIN, "--set", "train.nope=1", "--out", str(tmp_path / "r2")])
    assert result.exit_code == 2 and "valid fields" in result.output


def _final_weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(ckpt.latest_checkpoint(run) / ckpt.WEIGHTS))


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path):
    args = [sys.executable, "-m", "zspace", *TRAIN, "--epochs", "30", "--checkpoint-every", "5", "--seed", "3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run([*args, "--out", str(full)], check=True, env=env, capture_output=True, timeout=300)

    proc = subprocess.Popen([*args, "--out", str(killed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        latest = ckpt.latest_checkpoint(killed)
        if latest is not None and latest.name >= "step-00000040":
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted_at = ckpt.latest_checkpoint(killed).name
    assert interrupted_at < "step-00000270", "the run finished before it could be killed"

    subprocess.run([*args, "--out", str(killed), "--resume"], check=True, env=env, capture_output=True, timeout=300)
    a, b = _final_weights(full), _final_weights(killed)
    assert ckpt.latest_checkpoint(killed).name == "step-00000270"  # 9 steps x 30 epochs
    for name in a:
        assert torch.equal(a[name], b[name]), f"{name} differs after resuming from {interrupted_at}"


@pytest.mark.slow
def test_torchrun_two_processes_train_vae(tmp_path):
    torchrun = Path(sys.executable).parent / "torchrun"
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "zspace", *TRAIN, "--epochs", "2", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ckpt.latest_checkpoint(out).name == "step-00000018"  # global batch 32 = 2 x 16
    state = ckpt.load_trainer_state(ckpt.latest_checkpoint(out))
    assert state["world_size"] == 2 and len(state["rng_states"]) == 2


def test_resume_keeps_the_saved_config_and_refuses_a_different_run(tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, [*TRAIN, "--epochs", "1", "--lr", "0.01", "--seed", "5", "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["train", "vae", "--epochs", "2", "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["train"]["lr"]["value"] == 0.01 and saved["train"]["seed"] == 5 and saved["train"]["epochs"] == 2
    result = runner.invoke(app, ["train", "vae", "--epochs", "3", "--seed", "6", "--out", str(out), "--resume"])
    assert result.exit_code == 2 and "train.seed" in result.output
