"""The Python API as the README shows it: train, load, encode/decode/sample."""

from __future__ import annotations

import pytest
import torch

from zspace.core.config import override
from zspace.errors import CheckpointError
from zspace.train import Trainer
from zspace.vae import PRESETS, VAE, load_model, load_run_config, make_loss_fn, train


def test_train_then_load_gives_the_same_model(tmp_path):
    config = override(
        PRESETS["digits-2d"], {"train.epochs": 1, "train.tensorboard": False, "data.limit": 200, "model.hidden": (32,)}
    )
    model, _, data = train(config, tmp_path / "run")
    loaded = load_model(tmp_path / "run")
    assert loaded.config == model.config and loaded.config.hidden == (32,)
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    q = loaded.encode(data.test_x[:8])
    assert q.mean.shape == (8, 2) and loaded.decode(q.mean).mean.shape == (8, 1, 8, 8)
    assert loaded.sample(4, temperature=0.5).shape == (4, 1, 8, 8)
    assert load_run_config(tmp_path / "run") == config


def test_trainer_without_run_config_cannot_be_loaded_and_says_why(tmp_path):
    run = PRESETS["digits-2d"]
    model = VAE(run.model)
    x = torch.rand(64, 1, 8, 8)
    Trainer(
        model,
        make_loss_fn(run.objective, dynamic_binarization=True),
        override(run.train, {"epochs": 1, "tensorboard": False, "batch_size": 32}),
        run_dir=tmp_path,
    ).fit(x)
    with pytest.raises(CheckpointError, match="run_config="):
        load_model(tmp_path)
