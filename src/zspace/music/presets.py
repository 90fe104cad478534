"""MusicVAE configs and named presets, as Magenta's ``music_vae/configs.py``.

A preset fixes the model (:class:`MusicVAEConfig`), the objective (free bits, beta and
scheduled-sampling schedules) and the training recipe (Adam, exponentially decaying learning
rate, gradient clipping, batch size, step budget). The Magenta presets copy ``configs.py`` and
``lstm_models.get_default_hparams`` (learning rate 1e-3 decaying by 0.9999 per step to 1e-5,
global-norm clip 1.0, 200k steps from ``music_vae_train --num_steps``); the ``*_tiny``
variants keep the structure and objective at CPU size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field, replace

from torch import Tensor

from zspace.core.config import Registry, override
from zspace.core.constraints import configclass
from zspace.core.schedules import Schedule
from zspace.errors import ConfigError
from zspace.music.config import TRACKS, MusicConverter, MusicVAEConfig, PrepareConfig
from zspace.music.model import MusicVAE
from zspace.music.objective import MusicObjective, SamplingSchedule
from zspace.train import TrainConfig

# lstm_models.get_default_hparams + base_model: Adam, lr (1e-3 - 1e-5) * 0.9999^step + 1e-5,
# global-norm clipping at 1.0. Magenta counts steps, not epochs: max_steps is the budget, and
# ``epochs`` is only a ceiling high enough never to bind first.
MAGENTA_TRAIN = TrainConfig(
    optimizer="adam",
    lr=Schedule(kind="exponential-decay", value=1e-3, rate=0.9999, min_value=1e-5),
    grad_clip_norm=1.0,
    batch_size=512,
    max_steps=200_000,
    epochs=1_000_000,
    best_metric="elbo",  # the loss is not comparable across steps while beta rises
    best_mode="max",
)


@configclass
class MusicPreset:
    """Everything a named preset fixes: model, objective and training recipe."""

    model: MusicVAEConfig = field(default_factory=MusicVAEConfig)
    objective: MusicObjective = field(default_factory=MusicObjective)
    train: TrainConfig = MAGENTA_TRAIN


PRESETS: Registry[MusicPreset] = Registry("music")

MELODY = MusicVAEConfig(encoding="melody", output_depths=(90,), input_depth=90)
DRUMS = MusicVAEConfig(encoding="drums", output_depths=(512,), input_depth=10)
TRIO = MusicVAEConfig(encoding="trio", output_depths=(90, 90, 512), input_depth=692)


def _magenta_objective(*, free_bits: float, max_beta: float, beta_rate: float, sampling_rate: float) -> MusicObjective:
    """Magenta's hparams as an objective. beta_rate 0 (the default) means a constant max_beta,
    which TF reaches from step 1 (0^0 = 1 makes step 0's beta 0; we use max_beta throughout)."""
    beta = (
        Schedule(kind="exponential-rise", value=max_beta, rate=beta_rate)
        if beta_rate > 0
        else Schedule(kind="constant", value=max_beta)
    )
    sampling = SamplingSchedule(kind="inverse_sigmoid", rate=sampling_rate) if sampling_rate > 0 else SamplingSchedule()
    return MusicObjective(free_bits=free_bits, beta=beta, sampling=sampling)


def _magenta(name: str, model: MusicVAEConfig, *, batch_size: int, **objective: float) -> MusicPreset:
    return PRESETS.register(
        name,
        MusicPreset(model=model, objective=_magenta_objective(**objective), train=replace(MAGENTA_TRAIN, batch_size=batch_size)),
    )


# -- Magenta's presets (configs.py) ------------------------------------------------------------
_magenta(
    "cat-mel_2bar_small",
    replace(MELODY, n_steps=32, z_size=256, encoder_sizes=(512,), decoder_sizes=(256, 256)),
    batch_size=512, free_bits=0, max_beta=0.2, beta_rate=0.99999, sampling_rate=1000,
)  # fmt: skip
_magenta(
    "cat-mel_2bar_big",
    replace(MELODY, n_steps=32, z_size=512, encoder_sizes=(2048,), decoder_sizes=(2048, 2048, 2048)),
    batch_size=512, free_bits=0, max_beta=0.5, beta_rate=0.99999, sampling_rate=1000,
)  # fmt: skip
_magenta(
    "cat-drums_2bar_small",
    replace(DRUMS, n_steps=32, z_size=256, encoder_sizes=(512,), decoder_sizes=(256, 256)),
    batch_size=512, free_bits=48, max_beta=0.2, beta_rate=0.0, sampling_rate=1000,
)  # fmt: skip
_magenta(
    "flat-mel_16bar",
    replace(MELODY, n_steps=256, z_size=512, encoder_sizes=(2048, 2048), decoder_sizes=(2048, 2048, 2048)),
    batch_size=512, free_bits=256, max_beta=0.2, beta_rate=0.0, sampling_rate=0,
)  # fmt: skip
_magenta(
    "hierdec-mel_16bar",
    replace(MELODY, n_steps=256, z_size=512, encoder_sizes=(2048, 2048), decoder_sizes=(1024, 1024), decoder="hierarchical", segment_length=16),
    batch_size=512, free_bits=256, max_beta=0.2, beta_rate=0.0, sampling_rate=0,
)  # fmt: skip
_magenta(
    "hierdec-trio_16bar",
    replace(TRIO, n_steps=256, z_size=512, encoder_sizes=(2048, 2048), decoder_sizes=(1024, 1024), decoder="hierarchical", segment_length=16),
    batch_size=256, free_bits=256, max_beta=0.2, beta_rate=0.0, sampling_rate=0,
)  # fmt: skip

# -- CPU-sized variants: same structure, objective and schedules; 0.2M to 0.7M parameters ------
TINY_TRAIN = replace(MAGENTA_TRAIN, batch_size=64, max_steps=5_000)
_TINY_SIZES = {"z_size": 32, "encoder_sizes": (64,), "decoder_sizes": (64, 64)}

_TINY_OF = {
    "cat-mel_2bar_tiny": "cat-mel_2bar_small",
    "cat-drums_2bar_tiny": "cat-drums_2bar_small",
    "flat-mel_16bar_tiny": "flat-mel_16bar",
    "hierdec-mel_16bar_tiny": "hierdec-mel_16bar",
    "hierdec-trio_16bar_tiny": "hierdec-trio_16bar",
}
for _tiny, _full in _TINY_OF.items():
    PRESETS.register(_tiny, replace(PRESETS[_full], model=replace(PRESETS[_full].model, **_TINY_SIZES), train=TINY_TRAIN))


# -- Magenta's data converters and augmenters per preset (configs.py), as prepare configs --------
# cat-mel_2bar_*: OneHotMelodyConverter(valid_programs=MEL_PROGRAMS, max_bars=100, slice_bars=2)
# with NoteSequenceAugmenter(transpose_range=(-5, 5)) on training data; *-mel_16bar:
# mel_16bar_converter (every program, slice_bars=16), no augmenter; cat-drums_2bar_small:
# DrumsConverter(max_bars=100, slice_bars=2); hierdec-trio_16bar: TrioConverter(slice_bars=16),
# no augmenter. Magenta draws one shift per sequence and epoch; prepare stores every shift that
# fits for each training window instead (see PrepareConfig.transpose).
_MELODY_2BAR = PrepareConfig(kind="melody", bars=2, transpose=5)
_MELODY_16BAR = PrepareConfig(kind="melody", bars=16)
DATA: dict[str, PrepareConfig] = {
    "cat-mel_2bar_small": _MELODY_2BAR,
    "cat-mel_2bar_big": _MELODY_2BAR,
    "cat-drums_2bar_small": PrepareConfig(kind="drums", bars=2),
    "flat-mel_16bar": _MELODY_16BAR,
    "hierdec-mel_16bar": _MELODY_16BAR,
    "hierdec-trio_16bar": PrepareConfig(kind="trio", bars=16),
}


def preset_model(name: str, input_tables: Sequence[Tensor] | None = None, **overrides: object) -> MusicVAE:
    """A fresh MusicVAE of preset ``name``; ``overrides`` are MusicVAEConfig fields (``z_size=64``)."""
    return MusicVAE(override(PRESETS[name].model, overrides), input_tables)


def converter_of_preset(preset: str) -> MusicConverter:
    """The data converter of a preset (Magenta's configs.py), without the data-set options."""
    return data_config(preset).converter


def data_config(preset: str) -> PrepareConfig:
    """The prepare config (Magenta's data converter) of a preset; ``*_tiny`` variants share their
    full preset's. An unknown name lists the valid ones."""
    PRESETS[preset]  # an unknown name raises the registry's error, which lists the presets
    name = _TINY_OF.get(preset, preset)
    if name not in DATA:
        raise ConfigError(f"preset {preset!r} has no data converter; presets with one: {sorted(DATA)}")
    return DATA[name]


__all__ = [
    "DATA",
    "MAGENTA_TRAIN",
    "PRESETS",
    "TRACKS",
    "MusicPreset",
    "MusicVAEConfig",
    "converter_of_preset",
    "data_config",
    "preset_model",
]
