"""A VAE run: the config of model + objective + data + training, and the code that executes it.

This is the library behind ``zspace train vae`` (the CLI only parses flags into overrides):
``train(config, out)`` loads data, builds the model, trains it with the shared
:class:`~zspace.train.Trainer`, and ``load_model(run_dir)`` rebuilds the trained model;
``evaluate_run`` and ``sample_run`` are ``zspace eval`` and ``zspace sample`` without the printing.
"""

from __future__ import annotations

from dataclasses import field, replace
from pathlib import Path
from typing import Any

import torch

from zspace.core.config import from_dict, to_dict
from zspace.core.constraints import configclass
from zspace.core.memory import check_model_fits
from zspace.data.images import DataConfig, ImageDataset, load_images, validation_split
from zspace.errors import ConfigError, DataError
from zspace.train import FitResult, TrainConfig, Trainer, runs
from zspace.train import checkpoint as ckpt
from zspace.train.runs import guard_run_dir
from zspace.vae.evaluate import DEFAULT_K, evaluate
from zspace.vae.model import VAE, VAEConfig
from zspace.vae.objective import VAEObjective, make_loss_fn

FAMILY = "vae"

# The best checkpoint is the one with the highest validation ELBO: the training loss is not
# comparable across steps when beta or free bits change during training.
VAE_TRAIN = TrainConfig(best_metric="elbo", best_mode="max")


@configclass
class VAERunConfig:
    """Everything that defines a VAE run; saved as config.json beside every checkpoint."""

    model: VAEConfig = field(default_factory=VAEConfig)
    objective: VAEObjective = field(default_factory=VAEObjective)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = VAE_TRAIN

    def to_json(self, *, data_sha256: str | None = None) -> dict[str, Any]:
        """The config.json of the run contract (:mod:`zspace.train.runs`)."""
        return runs.stamp(FAMILY, to_dict(self), data_sha256=data_sha256)

    @classmethod
    def from_json(cls, data: dict[str, Any], *, where: str = "config.json") -> VAERunConfig:
        hint = "when calling Trainer directly, pass run_config=VAERunConfig(...).to_json() (zspace.vae.train does this)"
        data = runs.family_config(data, FAMILY, where=where, missing_hint=hint)
        return from_dict(cls, data, where=where)


def fit_data_shape(config: VAERunConfig, data: ImageDataset) -> VAERunConfig:
    """The run config with the model's input shape set to the data's (C, H, W)."""
    if config.model.input_shape == data.image_shape:
        return config
    return replace(config, model=replace(config.model, input_shape=data.image_shape))


def build_model(config: VAERunConfig) -> VAE:
    """The untrained VAE of ``config`` (weights from torch's global generator)."""
    return VAE(config.model)


def train(
    config: VAERunConfig, out: str | Path | None, *, resume: bool = False, overwrite: bool = False
) -> tuple[VAE, FitResult, ImageDataset]:
    """Load data, build the VAE and train it; returns the model, the fit result and the data.

    ``data.valid_fraction`` of the training split is held out to choose the best checkpoint
    (highest validation ELBO); the test split is left for ``zspace eval``. ``out`` is checked and
    locked before the data is read (:func:`zspace.train.runs.open_run_dir`): a directory that
    holds a run needs ``resume`` or ``overwrite`` (which replaces it once the new run has a checkpoint).
    """
    sizes = ", ".join(f"model.{k}={getattr(config.model, k)}" for k in ("latent_dim", "hidden", "channels", "conv_hidden"))
    check_model_fits(lambda: VAE(config.model), f"the VAE of {sizes}")
    with guard_run_dir(out, resume=resume, overwrite=overwrite, family=FAMILY) as run_dir:
        config = absolute_data_path(config)
        data = load_images(config.data)
        config = fit_data_shape(config, data)
        data_sha256 = runs.content_hash([data.train_x])
        if resume and out is not None:
            ckpt.check_resumable(load_run_config(out), config, Path(out) / ckpt.CONFIG)
            runs.check_data_unchanged(out, data_sha256, config.data.path or config.data.source)
        train_index, valid_index = _train_valid_split(config, data)
        valid_x = data.train_x[valid_index] if len(valid_index) else None
        with torch.random.fork_rng(devices=[]):  # the caller's global RNG is left as it was
            torch.manual_seed(config.train.seed)  # model initialization
            model = VAE(config.model)
            loss_fn = make_loss_fn(config.objective, dynamic_binarization=config.data.binarize == "dynamic")
            run_config = config.to_json(data_sha256=data_sha256)
            trainer = Trainer(model, loss_fn, config.train, run_dir=run_dir, run_config=run_config)
            result = trainer.fit(data.train_x[train_index], valid_x, resume=resume)
    return model, runs.relocated(result, run_dir, out), data


def absolute_data_path(config: VAERunConfig) -> VAERunConfig:
    """The config with ``data.path`` made absolute, so the saved run works from any directory."""
    if config.data.path is None:
        return config
    path = str(Path(config.data.path).expanduser().absolute())
    return config if path == config.data.path else replace(config, data=replace(config.data, path=path))


def _train_valid_split(config: VAERunConfig, data: ImageDataset) -> tuple[torch.Tensor, torch.Tensor]:
    return validation_split(len(data.train_x), config.data.valid_fraction, config.data.seed)


def n_train_examples(config: VAERunConfig, data: ImageDataset) -> int:
    """Examples :func:`train` fits on: the training split less the validation hold-out."""
    return len(_train_valid_split(config, data)[0])


def load_run_config(run_dir: str | Path) -> VAERunConfig:
    """The resolved config of a VAE run directory."""
    return VAERunConfig.from_json(ckpt.read_config(run_dir), where=str(Path(run_dir) / ckpt.CONFIG))


def load_model(run_dir: str | Path, *, checkpoint: str = "best") -> VAE:
    """Rebuild a trained VAE from ``run_dir``: ``best`` (default), ``last`` or a ``step-*`` name."""
    path = ckpt.resolve_checkpoint(run_dir, checkpoint)
    config = VAERunConfig.from_json(ckpt.read_config(path), where=str(path / ckpt.CONFIG))
    check_model_fits(lambda: VAE(config.model), f"the VAE of {path / ckpt.CONFIG}")
    model = VAE(config.model)
    ckpt.load_weights(model, path)
    return model.eval()


def evaluate_run(
    run_dir: str | Path, *, k: int = DEFAULT_K, checkpoint: str = "best", batch_size: int = 100, seed: int = 0
) -> tuple[str, dict[str, Any]]:
    """A VAE run on its test split: (the data set's name, :func:`zspace.vae.evaluate.evaluate`'s results).

    The results (nats per example, ``k`` importance samples) also name the ``run`` and ``checkpoint``:
    what ``zspace eval`` prints and writes to eval.json.
    """
    if k < 1 or batch_size < 1:
        raise ConfigError(f"--iw and --batch-size must be >= 1, got {k} and {batch_size}")
    config = load_run_config(run_dir)
    model = load_model(run_dir, checkpoint=checkpoint)
    try:
        data = load_images(config.data)
    except DataError as err:  # its advice names training flags; here the data comes from the run's config
        raise DataError(
            f"the test data of {run_dir} cannot be loaded: {err.args[0].split('. Pass')[0]}. Put the data back at its "
            f"recorded path, or edit data.path in {Path(run_dir) / 'config.json'}"
        ) from err
    result = evaluate(model, data.test_x, k=k, batch_size=batch_size, seed=seed)
    result["run"] = str(run_dir)
    result["checkpoint"] = checkpoint
    return data.name, result


def sample_run(
    run_dir: str | Path, n: int = 64, *, temperature: float = 1.0, seed: int = 0, checkpoint: str = "best"
) -> torch.Tensor:
    """``n`` images (n, *input_shape) decoded from z ~ N(0, temperature^2 I), reproducible given ``seed``."""
    if n < 1 or temperature <= 0:
        raise ConfigError(f"-n must be >= 1 and --temperature > 0, got {n} and {temperature}")
    model = load_model(run_dir, checkpoint=checkpoint)
    return model.sample(n, temperature=temperature, generator=torch.Generator().manual_seed(seed))
