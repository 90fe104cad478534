"""The trainer shared by every family, its checkpoints, logging and data parallelism."""

from zspace.train.checkpoint import latest_checkpoint, list_checkpoints, load_weights, read_config, resolve_checkpoint
from zspace.train.config import FitResult, LossFn, TrainConfig
from zspace.train.trainer import Trainer, epoch_permutation

__all__ = [
    "FitResult",
    "LossFn",
    "TrainConfig",
    "Trainer",
    "epoch_permutation",
    "latest_checkpoint",
    "list_checkpoints",
    "load_weights",
    "read_config",
    "resolve_checkpoint",
]
