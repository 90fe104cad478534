"""Launched by the DDP test under torchrun (or directly, as the 1-process reference).

Trains a small deterministic regression with the shared Trainer on a fixed global batch and
saves the final weights to argv[1]; argv[2] is the global batch size.
"""

import sys

import torch
from safetensors.torch import save_file
from torch import nn

from zspace.core.schedules import Schedule
from zspace.train import TrainConfig, Trainer


def regression_loss(model, batch, step):
    x, y = batch
    loss = nn.functional.mse_loss(model(x), y)
    return loss, {}


def main(out: str, batch_size: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(96, 5)
    y = x @ torch.randn(5, 2) + 0.1 * torch.randn(96, 2)
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 2))
    config = TrainConfig(batch_size=batch_size, epochs=3, lr=Schedule(value=1e-2), tensorboard=False, log_every=1000)
    Trainer(model, regression_loss, config).fit((x, y))
    if int(__import__("os").environ.get("RANK", "0")) == 0:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
