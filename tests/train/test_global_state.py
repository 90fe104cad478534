"""Training leaves the caller's process state alone: torch threads, determinism flag, global RNG."""

from __future__ import annotations

import torch
from torch import nn

from zspace.core.config import override
from zspace.train import TrainConfig, Trainer
from zspace.vae import PRESETS
from zspace.vae.run import train


def _loss(model, batch, step):
    return model(batch).pow(2).mean(), {}


def test_fit_restores_threads_and_determinism():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    config = TrainConfig(batch_size=4, epochs=1, tensorboard=False, threads=threads + 1, deterministic=not deterministic)
    Trainer(nn.Linear(2, 1), _loss, config).fit(torch.ones(8, 2))
    assert torch.get_num_threads() == threads and torch.are_deterministic_algorithms_enabled() == deterministic


def test_vae_train_forks_the_global_rng_instead_of_reseeding_it():
    config = override(
        PRESETS["digits-2d"], {"data.limit": 100, "train.epochs": 1, "train.batch_size": 50, "train.tensorboard": False}
    )
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(config, None)
    assert torch.equal(torch.rand(3), expected)
