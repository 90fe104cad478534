"""The shared Trainer: checkpoints, exact resume, NaN detection, schedules, data parallelism."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from zspace.core.schedules import Schedule
from zspace.errors import CheckpointError, ConfigError, DataError, TrainingDivergedError
from zspace.train import TrainConfig, Trainer, precision
from zspace.train import checkpoint as ckpt
from zspace.train import trainer as trainer_module

HERE = Path(__file__).parent


def noisy_loss(model, batch, step):
    """A loss that draws from the global RNG, so exact resume must restore RNG state."""
    x, y = batch
    pred = model(x + 0.1 * torch.randn_like(x))
    loss = nn.functional.mse_loss(pred, y)
    return loss, {"mse": loss}


def make_problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 4, generator=g)
    y = x @ torch.randn(4, 3, generator=g)
    return x, y


def make_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def config(**kw) -> TrainConfig:
    base = {
        "batch_size": 16,
        "epochs": 6,
        "lr": Schedule(kind="exponential-decay", value=1e-2, rate=0.99, min_value=1e-4),
        "tensorboard": False,
        "log_every": 3,
        "checkpoint_every": 5,
    }
    base.update(kw)
    return TrainConfig(**base)


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_fit_writes_complete_checkpoints_and_metrics(tmp_path):
    model = make_model()
    result = Trainer(model, noisy_loss, config(), run_dir=tmp_path, run_config={"family": "test"}).fit(
        make_problem(), make_problem(1)
    )
    assert result.step == 24  # 64 // 16 steps per epoch * 6 epochs
    names = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert names[-1] == "step-00000024"
    assert len(names) <= 3 + 1  # keep_last plus the best
    best = ckpt.best_checkpoint(tmp_path)
    assert best is not None and best == result.best_checkpoint
    for name in (ckpt.CONFIG, ckpt.WEIGHTS, ckpt.STATE):
        assert (result.last_checkpoint / name).is_file()
    assert json.loads((result.last_checkpoint / ckpt.CONFIG).read_text()) == {"family": "test"}
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in records} == {"train", "valid"}
    assert all(r["loss"] == r["loss"] for r in records)  # no NaN


def test_checkpoint_round_trip_restores_weights(tmp_path):
    model = make_model()
    Trainer(model, noisy_loss, config(epochs=1), run_dir=tmp_path).fit(make_problem())
    fresh = make_model()
    with torch.no_grad():
        for p in fresh.parameters():
            p.add_(1.0)
    ckpt.load_weights(fresh, ckpt.latest_checkpoint(tmp_path))
    for (k, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), k
    state = ckpt.load_trainer_state(ckpt.latest_checkpoint(tmp_path))
    assert state["step"] == 4 and len(state["rng_states"]) == 1


def test_resume_to_2n_equals_uninterrupted_run(tmp_path):
    full = make_model()
    Trainer(full, noisy_loss, config(max_steps=20), run_dir=tmp_path / "full").fit(make_problem())

    part = make_model()
    Trainer(part, noisy_loss, config(max_steps=10), run_dir=tmp_path / "part").fit(make_problem())
    resumed = make_model()  # a new process would start from fresh weights
    Trainer(resumed, noisy_loss, config(max_steps=20), run_dir=tmp_path / "part").fit(make_problem(), resume=True)
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    steps = [json.loads(line)["step"] for line in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 20


def test_refuses_to_overwrite_an_existing_run(tmp_path):
    Trainer(make_model(), noisy_loss, config(epochs=1), run_dir=tmp_path).fit(make_problem())
    with pytest.raises(CheckpointError, match="--resume"):
        Trainer(make_model(), noisy_loss, config(epochs=1), run_dir=tmp_path).fit(make_problem())


def test_resume_without_checkpoint_says_so(tmp_path):
    with pytest.raises(CheckpointError, match="nothing to resume"):
        Trainer(make_model(), noisy_loss, config(), run_dir=tmp_path).fit(make_problem(), resume=True)


def test_nan_loss_names_step_and_last_good_checkpoint(tmp_path):
    def exploding(model, batch, step):
        loss, metrics = noisy_loss(model, batch, step)
        return (loss * float("nan") if step == 7 else loss), metrics

    model = make_model()
    with pytest.raises(TrainingDivergedError, match=r"step 7 .*step-00000005.*--resume"):
        Trainer(model, exploding, config(), run_dir=tmp_path).fit(make_problem())
    # the good checkpoint is intact and loads
    good = ckpt.latest_checkpoint(tmp_path)
    assert good.name == "step-00000005"
    ckpt.load_weights(make_model(), good)


def test_killed_mid_write_leaves_last_checkpoint_usable(tmp_path):
    Trainer(make_model(), noisy_loss, config(epochs=1, checkpoint_every=2), run_dir=tmp_path).fit(make_problem())
    # simulate a kill during the next save: a half-written temporary directory
    partial = tmp_path / ckpt.CHECKPOINTS / ".tmp-crash"
    partial.mkdir()
    (partial / ckpt.WEIGHTS).write_bytes(b"\0garbage")
    assert ckpt.latest_checkpoint(tmp_path).name == "step-00000004"
    Trainer(make_model(), noisy_loss, config(epochs=2, checkpoint_every=2), run_dir=tmp_path).fit(make_problem(), resume=True)
    assert not partial.exists()


def test_learning_rate_follows_schedule(tmp_path):
    seen = []

    def loss_fn(model, batch, step):
        seen.append(trainer.optimizer.param_groups[0]["lr"])
        return noisy_loss(model, batch, step)

    cfg = config(epochs=1)
    trainer = Trainer(make_model(), loss_fn, cfg)
    trainer.fit(make_problem())
    # the lr is set right after the loss of step s is computed, so call s sees step s-1's value
    assert seen[1:] == pytest.approx([cfg.lr(s) for s in range(len(seen) - 1)])


def test_bad_configs_and_data_are_clear():
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(DataError, match="fewer than one batch"):
        Trainer(make_model(), noisy_loss, config(batch_size=128)).fit(make_problem())
    x, y = make_problem()
    with pytest.raises(DataError, match="disagree"):
        Trainer(make_model(), noisy_loss, config()).fit((x, y[:10]))


@pytest.mark.slow
def test_two_process_ddp_matches_one_process_on_same_global_batch(tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    assert torchrun, "torchrun ships with torch"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single, double = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    subprocess.run([sys.executable, str(HERE / "ddp_worker.py"), str(single), "16"], check=True, env=env, timeout=120)
    subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", str(HERE / "ddp_worker.py"), str(double), "16"],
        check=True,
        env=env,
        timeout=180,
    )
    a, b = load_file(str(single)), load_file(str(double))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_resume_with_cosine_schedule_and_max_steps_equals_uninterrupted_run(tmp_path):
    cosine = {"lr": Schedule(kind="cosine", value=1e-2, warmup_steps=3, min_value=1e-4)}
    full = make_model()
    Trainer(full, noisy_loss, config(**cosine), run_dir=tmp_path / "full").fit(make_problem())
    part = make_model()
    Trainer(part, noisy_loss, config(max_steps=7, **cosine), run_dir=tmp_path / "part").fit(make_problem())
    resumed = make_model()
    Trainer(resumed, noisy_loss, config(**cosine), run_dir=tmp_path / "part").fit(make_problem(), resume=True)
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k


def test_infinite_gradient_with_finite_loss_never_reaches_a_checkpoint(tmp_path):
    def poisoned(model, batch, step):
        loss, metrics = noisy_loss(model, batch, step)
        if step == 9:  # value 0, gradient inf, right before the step-10 checkpoint
            w = next(model.parameters())
            loss = loss + torch.sqrt(w - w.detach()).sum()
        return loss, metrics

    model = make_model()
    with pytest.raises(TrainingDivergedError, match=r"weights became NaN/inf by step 10.*step-00000005"):
        Trainer(model, poisoned, config(), run_dir=tmp_path).fit(make_problem())
    good = ckpt.latest_checkpoint(tmp_path)
    assert good.name == "step-00000005"  # the poisoned weights of step 10 were not saved
    restored = ckpt.load_weights(make_model(), good)
    assert all(torch.isfinite(p).all() for p in restored.parameters())


def test_validation_sees_the_current_step_and_best_follows_the_chosen_metric(tmp_path):
    seen_steps = []

    def loss_fn(model, batch, step):
        loss, metrics = noisy_loss(model, batch, step)
        if not model.training:
            seen_steps.append(step)
        # a "score" that peaks at step 10, while the loss keeps falling
        return loss, {**metrics, "score": torch.tensor(-abs(step - 10.0))}

    cfg = config(best_metric="score", best_mode="max", keep_last=1)
    result = Trainer(make_model(), loss_fn, cfg, run_dir=tmp_path).fit(make_problem(), make_problem(1))
    assert sorted(set(seen_steps)) == [5, 10, 15, 20, 24]
    assert result.best_checkpoint.name == "step-00000010"
    with pytest.raises(ConfigError, match="best_metric 'nope'"):
        Trainer(make_model(), loss_fn, config(best_metric="nope"), run_dir=tmp_path / "x").fit(make_problem(), make_problem(1))


def _dtype_recording_loss(seen: list):
    def loss_fn(model, batch, step):
        x, y = batch
        pred = model(x)
        seen.append(pred.dtype)
        loss = nn.functional.mse_loss(pred.float(), y)
        return loss, {"mse": loss}

    return loss_fn


def test_bfloat16_autocast_trains_in_bf16_and_keeps_float32_weights(monkeypatch):
    # Linear layers run bf16 autocast on every CPU (emulated where there is no bf16 hardware); the
    # probe is pinned to "supported" so the test does not depend on this machine's LSTM kernels.
    monkeypatch.setattr(trainer_module, "resolve_autocast", lambda requested, device: requested)
    seen = []
    model = make_model()
    before = nn.functional.mse_loss(model(make_problem()[0]), make_problem()[1]).item()
    result = Trainer(model, _dtype_recording_loss(seen), config(autocast="bfloat16", epochs=20)).fit(make_problem())
    assert set(seen) == {torch.bfloat16}  # the linear layers ran in bf16
    assert result.autocast == "bfloat16"
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert result.train_metrics["mse"] < 0.5 * before
    with pytest.raises(ConfigError, match="TrainConfig.autocast"):
        config(autocast="float16")


def test_bfloat16_on_a_device_without_bf16_kernels_trains_in_float32_with_one_warning(monkeypatch, caplog):
    reason = "bf16 autocast is unsupported on this cpu (no LSTM primitive)"
    monkeypatch.setattr(precision, "bf16_unsupported_reason", lambda device_type: reason)
    seen = []
    with caplog.at_level("WARNING", logger="zspace.train"):
        result = Trainer(make_model(), _dtype_recording_loss(seen), config(autocast="bfloat16", epochs=2)).fit(make_problem())
    assert set(seen) == {torch.float32} and result.autocast == "none"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [f"{reason}; training in float32 instead"]


def test_bf16_probe_answers_the_same_either_way_and_float32_never_falls_back():
    precision.bf16_unsupported_reason.cache_clear()
    first = precision.bf16_unsupported_reason("cpu")
    assert first is None or first.startswith("bf16 autocast is unsupported on this cpu (")
    assert precision.bf16_unsupported_reason("cpu") == first  # cached: probed once per device type
    assert precision.resolve_autocast("none", torch.device("cpu")) == "none"
    expected = "bfloat16" if first is None else "none"
    assert precision.resolve_autocast("bfloat16", torch.device("cpu")) == expected
