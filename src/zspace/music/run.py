"""A MusicVAE run: preset + prepared data + training recipe, and the code that executes it.

The library behind ``zspace train music`` (the CLI only turns flags into a config):
``train(config, out)`` loads a file written by ``zspace music prepare``, checks it fits the
model's encoding and length, builds the model, trains it with the shared
:class:`~zspace.train.Trainer`, and ``load_model(run_dir)`` rebuilds the trained model from
its checkpoint (config JSON + safetensors, never a pickle); ``sample_run(run_dir, n)`` is
``zspace sample`` without the MIDI writing.

Batches. The trainer holds the training windows as one small integer tensor of class
indices ``(N, T, n_tracks)``; the step function turns each batch into the model's pair
(inputs float ``(B, T, input_depth)``, targets long ``(B, T, n_tracks)``), the inputs being
exactly ``encoding.to_inputs(targets)`` done by a table lookup on the batch's device. Keeping
one-hot inputs for the whole set instead would cost 90 floats per melody step: ~1.2 GB for
100k 2-bar windows, against 64 MB of int16 indices.
"""

from __future__ import annotations

import json
import logging
from dataclasses import field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zspace.core.config import from_dict, to_dict
from zspace.core.constraints import configclass
from zspace.core.memory import check_model_fits
from zspace.errors import CheckpointError, ConfigError
from zspace.music.config import MusicConverter, MusicVAEConfig, converter_of
from zspace.music.corpus import PreparedData, load_prepared
from zspace.music.encoding import Encoding, get_encoding
from zspace.music.model import MusicVAE
from zspace.music.objective import LossFn, MusicObjective, make_loss_fn
from zspace.music.presets import MAGENTA_TRAIN, PRESETS
from zspace.train import FitResult, TrainConfig, Trainer, runs
from zspace.train import checkpoint as ckpt

FAMILY = "music"
log = logging.getLogger(__name__)


@configclass
class MusicRunConfig:
    """Everything that defines a MusicVAE run; saved as config.json beside every checkpoint.

    ``preset`` records where model/objective/train came from (informational: the three
    configs are what the run uses). ``data`` is the prepared ``.npz`` path, as given.
    ``converter``: the rules that cut the model's windows (Magenta's ``data_converter``), used
    for every file the run reads (``encode``, ``interpolate``, ``attributes``, serve's uploads).
    :func:`train` records the data's; a run imported from Magenta's checkpoints has its preset's
    (configs.py); None: Magenta's converter for the model's encoding and length.
    """

    preset: str | None = None
    data: str = ""
    model: MusicVAEConfig = field(default_factory=MusicVAEConfig)
    objective: MusicObjective = field(default_factory=MusicObjective)
    train: TrainConfig = MAGENTA_TRAIN
    converter: MusicConverter | None = None

    def __post_init__(self) -> None:
        encoding = get_encoding(self.model.encoding)
        if self.model.input_depth != encoding.input_depth or self.model.output_depths != encoding.output_depths:
            raise ConfigError(
                f"MusicRunConfig.model: the {encoding.name} encoding has input depth {encoding.input_depth} and output depths "
                f"{encoding.output_depths}, the model {self.model.input_depth} and {self.model.output_depths}"
            )
        if self.converter is not None:
            self.converter.check_fits(self.model, "MusicRunConfig.converter")

    @property
    def data_converter(self) -> MusicConverter:
        """The converter files are cut by: the stored one, or Magenta's for the model."""
        return self.converter or MusicConverter.for_model(self.model)

    @classmethod
    def from_preset(cls, name: str, *, data: str | Path, **train: Any) -> MusicRunConfig:
        """The run of preset ``name`` on ``data``; ``train`` overrides TrainConfig fields (``max_steps=100``)."""
        preset = PRESETS[name]
        try:
            train_config = replace(preset.train, **train)
        except TypeError as err:  # an unknown field
            raise ConfigError(f"TrainConfig: {err}") from err
        return cls(preset=name, data=str(data), model=preset.model, objective=preset.objective, train=train_config)

    @property
    def encoding(self) -> Encoding:
        return get_encoding(self.model.encoding)

    def to_json(self, *, data_sha256: str | None = None) -> dict[str, Any]:
        """The config.json of the run contract (:mod:`zspace.train.runs`)."""
        return runs.stamp(FAMILY, to_dict(self), data_sha256=data_sha256)

    @classmethod
    def from_json(cls, data: dict[str, Any], *, where: str = "config.json") -> MusicRunConfig:
        data = runs.family_config(data, FAMILY, where=where)
        if "converter" not in data:  # a run written before the converter was stored
            data = _with_converter(data, where)
        return from_dict(cls, data, where=where)


def _with_converter(data: dict[str, Any], where: str) -> dict[str, Any]:
    """A config.json without ``converter`` given the rules it was trained with: its ``prepare``
    config (imported runs), else its data file's (the manifest beside the ``.npz``), else
    Magenta's for its model (the rules every file command used for it before)."""
    data = dict(data)
    prepare = data.pop("prepare", None)
    converter = None
    try:
        model = from_dict(MusicVAEConfig, data.get("model", {}), where=f"{where}: model")
    except ConfigError:
        return data  # from_dict on the whole config names the bad field
    if prepare is None and data.get("data"):
        prepare = _manifest_converter(Path(data["data"]))
    if prepare is not None:
        try:
            converter = converter_of(prepare)
            converter.check_fits(model)
        except ConfigError as err:
            log.warning("%s: its data's rules do not fit its model (%s); files are cut by Magenta's rules", where, err)
            converter = None
    data["converter"] = to_dict(converter or MusicConverter.for_model(model))
    return data


def _manifest_converter(npz: Path) -> dict[str, Any] | None:
    """The converter (or prepare config) in the manifest beside a prepared ``.npz``, if it is there."""
    try:
        manifest = json.loads(npz.with_suffix(".json").read_text())
        return manifest.get("converter") or manifest["config"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def check_data(config: MusicRunConfig, data: PreparedData) -> None:
    """The prepared windows must be of the model's encoding and length, or say how to fix it."""
    model, name = config.model, config.preset or "this run"
    if data.manifest["encoding"] != model.encoding or data.n_steps != model.n_steps:
        bars = model.n_steps // model.steps_per_bar
        raise ConfigError(
            f"{data.path} holds {data.bars}-bar {data.kind} windows ({data.n_steps} steps), but {name} needs {bars}-bar "
            f"{model.encoding} windows ({model.n_steps} steps); prepare them with "
            f"`zspace music prepare --kind {model.encoding} --bars {bars} ...` or pick a matching --preset"
        )


def batch_tokens(tokens: Any) -> Tensor:
    """Prepared windows (n, T, n_tracks) uint8/uint16 -> int16 tensor: every class fits (< 512)
    and index_select supports it; the step function casts each batch to long."""
    return torch.from_numpy(tokens.astype("int16"))


def make_step_fn(config: MusicRunConfig) -> LossFn:
    """The trainer's step: class indices (B, T, n_tracks) -> (inputs, targets) -> MusicVAE loss."""
    tables = [torch.from_numpy(t) for t in config.encoding.input_table()]  # (D_k, W_k) per track
    on_device: dict[torch.device, list[Tensor]] = {}
    loss_fn = make_loss_fn(config.objective, track_names=config.model.track_names)

    def step_fn(model: nn.Module, batch: Tensor, step: int) -> tuple[Tensor, dict[str, Tensor]]:
        targets = batch.long()  # (B, T, K)
        if targets.device not in on_device:
            on_device[targets.device] = [t.to(targets.device) for t in tables]
        # encoding.to_inputs, on the batch's device: track k's rows, concatenated. (B, T, input_depth)
        inputs = torch.cat([F.embedding(targets[..., k], t) for k, t in enumerate(on_device[targets.device])], dim=-1)
        return loss_fn(model, (inputs, targets), step)

    return step_fn


def build_model(config: MusicRunConfig) -> MusicVAE:
    """A fresh MusicVAE of the run's model config, with the encoding's decoder input tables."""
    tables = None if config.model.decoder_token_depths is None else [torch.from_numpy(t) for t in config.encoding.input_table()]
    return MusicVAE(config.model, tables)


def train(
    config: MusicRunConfig, out: str | Path | None, *, resume: bool = False, overwrite: bool = False
) -> tuple[MusicVAE, FitResult, PreparedData]:
    """Load the prepared data, build the MusicVAE and train it; returns model, fit result and data.

    The valid split (if not empty) picks the best checkpoint (highest validation ELBO); the
    test split is left for evaluation. ``out`` is checked and locked before the data is read
    (:func:`zspace.train.runs.open_run_dir`): a directory that holds a run needs ``resume`` or
    ``overwrite`` (which replaces it once the new run has a checkpoint). ``config.data`` is stored absolute, with the file's sha256 for ``--resume``.
    """
    check_model_fits(lambda: build_model(config), f"the MusicVAE of {config.preset or 'this config'}")
    with runs.guard_run_dir(out, resume=resume, overwrite=overwrite, family=FAMILY) as run_dir:
        config = replace(config, data=str(Path(config.data).expanduser().absolute())) if config.data else config
        data = load_prepared(config.data)
        check_data(config, data)
        config = replace(config, converter=data.converter)  # the run cuts files as its data was cut
        data_sha256 = runs.file_hash(config.data)
        if resume and out is not None:
            ckpt.check_resumable(load_run_config(out), config, Path(out) / ckpt.CONFIG)
            runs.check_data_unchanged(out, data_sha256, config.data)
        with torch.random.fork_rng(devices=[]):  # the caller's global RNG is left as it was
            torch.manual_seed(config.train.seed)  # model initialization
            model = build_model(config)
            run_config = config.to_json(data_sha256=data_sha256)
            trainer = Trainer(model, make_step_fn(config), config.train, run_dir=run_dir, run_config=run_config)
            valid = batch_tokens(data.valid) if len(data.valid) else None
            result = trainer.fit(batch_tokens(data.train), valid, resume=resume)
    return model, runs.relocated(result, run_dir, out), data


def load_run_config(run_dir: str | Path, *, checkpoint: str | None = None) -> MusicRunConfig:
    """The config of a MusicVAE run directory (or of one of its checkpoints)."""
    path = Path(run_dir) if checkpoint is None else ckpt.resolve_checkpoint(run_dir, checkpoint)
    if not path.is_dir():
        raise CheckpointError(f"run directory {path} does not exist; train one with `zspace train music ... --out {path}`")
    return MusicRunConfig.from_json(ckpt.read_config(path), where=str(path / ckpt.CONFIG))


def load_model(run_dir: str | Path, *, checkpoint: str = "best") -> MusicVAE:
    """Rebuild a trained MusicVAE from ``run_dir``: ``best`` (default), ``last`` or a ``step-*`` name.

    The model is in eval mode on the CPU; its input tables come back with the weights.
    """
    path = ckpt.resolve_checkpoint(run_dir, checkpoint)
    config = MusicRunConfig.from_json(ckpt.read_config(path), where=str(path / ckpt.CONFIG))
    check_model_fits(lambda: build_model(config), f"the MusicVAE of {path / ckpt.CONFIG}")
    model = build_model(config)
    ckpt.load_weights(model, path)
    return model.eval()


def sample_run(
    run_dir: str | Path,
    n: int = 8,
    *,
    temperature: float = 1.0,
    seed: int = 0,
    greedy: bool = False,
    checkpoint: str = "best",
) -> np.ndarray:
    """``n`` sequences decoded from z ~ N(0, I) by the run's model: tokens int64 ``(n, n_steps, n_tracks)``.

    :func:`zspace.music.generate.sample` on the run's ``checkpoint``, in the run's encoding
    (``load_run_config(run_dir).encoding`` turns them into notes).
    """
    from zspace.music.generate import sample

    config = load_run_config(run_dir)
    model = load_model(run_dir, checkpoint=checkpoint)
    return sample(model, config.encoding, n, temperature=temperature, seed=seed, greedy=greedy)


__all__ = [
    "FAMILY",
    "MusicRunConfig",
    "batch_tokens",
    "build_model",
    "check_data",
    "load_model",
    "load_run_config",
    "make_step_fn",
    "sample_run",
    "train",
]
