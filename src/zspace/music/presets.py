"""MusicVAE configs and named presets, as Magenta's ``music_vae/configs.py``.

A preset fixes the model (:class:`MusicVAEConfig`), the objective (free bits, beta and
scheduled-sampling schedules) and the training recipe (Adam, exponentially decaying learning
rate, gradient clipping, batch size, step budget). The Magenta presets copy ``configs.py`` and
``lstm_models.get_default_hparams`` (learning rate 1e-3 decaying by 0.9999 per step to 1e-5,
global-norm clip 1.0, 200k steps from ``music_vae_train --num_steps``); the ``*_tiny``
variants keep the structure and objective at CPU size.
"""

from __future__ import annotations

from dataclasses import field, replace
from typing import Literal

import torch

from zspace.core.config import Registry
from zspace.core.constraints import Size, Sizes, configclass
from zspace.core.schedules import Schedule
from zspace.errors import ConfigError
from zspace.music.corpus import PrepareConfig
from zspace.music.objective import MusicObjective, SamplingSchedule
from zspace.train import TrainConfig

# Track names of each encoding, in the order of output_depths / targets[..., k].
TRACKS: dict[str, tuple[str, ...]] = {
    "melody": ("melody",),
    "drums": ("drums",),
    "trio": ("melody", "bass", "drums"),
}


@configclass
class MusicVAEConfig:
    """Architecture of a MusicVAE and the encoding it reads. Defaults: Magenta's cat-mel_2bar_small.

    The encoding contract: ``output_depths`` classes per track (melody 90, drums 512, trio
    90/90/512), ``input_depth`` the width of one step of the encoder's input (melody 90, drums
    10, trio 692: Magenta's). The decoder feeds back each track's previous class as a vector: one-hot over
    its classes by default (Magenta feeds back the output one-hot), or the rows of a table the
    caller passes, of widths ``decoder_token_depths``.
    """

    encoding: Literal["melody", "drums", "trio"] = "melody"
    output_depths: Sizes = (90,)  # classes per track: no-event, note-off, MIDI 21..108
    input_depth: Size = 90  # encoder input width per step (the encoding's input vector)
    decoder_token_depths: Sizes | None = None  # per-track fed-back vector width; None: one-hot
    n_steps: Size = 32  # 2 bars of 16 steps: Magenta's max_seq_len
    steps_per_bar: Size = 16  # 4 steps per quarter in 4/4, Magenta's quantization
    z_size: Size = 256
    encoder_sizes: Sizes = (512,)  # units per direction of each bidirectional layer
    decoder_sizes: Sizes = (256, 256)  # decoder LSTM layers; the conductor uses the same (Magenta)
    decoder: Literal["flat", "hierarchical"] = "flat"
    segment_length: Size = 16  # hierarchical: steps per conductor embedding (one bar, Magenta's [16, 16])
    # How whole-sequence LSTM passes multiply: "float32" calls nn.LSTM's fused kernels (oneDNN,
    # cuDNN; exact). "bfloat16" runs zspace.nn.recurrent.lstm_scan, a Python loop over time with
    # bf16 matmuls (~2.5x MKL's float32 GEMMs on an AVX512-BF16 CPU) and float32 gates, state
    # and accumulation: it pays only for wide LSTMs (~1.4x on a 512-unit BiLSTM alone), and ties
    # at cat-mel_2bar_small's size (bench/musicvae.py), so float32 stays the default.
    lstm_matmuls: Literal["float32", "bfloat16"] = "float32"
    # Where training starts. "magenta": TF's defaults as Magenta uses them, glorot-uniform LSTM
    # and output kernels (one [input + hidden, 4H] kernel per LSTM), zero biases plus the forget
    # bias 1.0 of LSTMBlockCell, N(0, 0.001) for mu, sigma and the state-from-z layers.
    # "pytorch" (ours before): nn.LSTM's and nn.Linear's own uniform(+-1/sqrt(fan_in)) weights and
    # output bias, with Magenta's zero LSTM biases, forget bias and N(0, 0.001) layers.
    init: Literal["magenta", "pytorch"] = "magenta"

    def __post_init__(self) -> None:
        def fail(field_name: str, message: str) -> None:
            raise ConfigError(f"MusicVAEConfig.{field_name}: {message}")

        if self.encoding not in TRACKS:
            fail("encoding", f"{self.encoding!r} is not one of {sorted(TRACKS)}")
        if len(self.output_depths) != len(TRACKS[self.encoding]):
            fail(
                "output_depths",
                f"the {self.encoding} encoding has tracks {TRACKS[self.encoding]}, got {len(self.output_depths)} depths {self.output_depths}",
            )
        if self.decoder_token_depths is not None and len(self.decoder_token_depths) != len(self.output_depths):
            fail(
                "decoder_token_depths", f"needs one width per track ({len(self.output_depths)}), got {self.decoder_token_depths}"
            )
        if self.lstm_matmuls not in ("float32", "bfloat16"):
            fail("lstm_matmuls", f"{self.lstm_matmuls!r} is not one of ['bfloat16', 'float32']")
        if self.init not in ("magenta", "pytorch"):
            fail("init", f"{self.init!r} is not one of ['magenta', 'pytorch']")
        if self.decoder not in ("flat", "hierarchical"):
            fail("decoder", f"{self.decoder!r} is not one of ['flat', 'hierarchical']")
        for name in ("input_depth", "n_steps", "steps_per_bar", "z_size", "segment_length"):
            if getattr(self, name) < 1:
                fail(name, f"must be >= 1, got {getattr(self, name)}")
        for name in ("output_depths", "encoder_sizes", "decoder_sizes", "decoder_token_depths"):
            sizes = getattr(self, name)
            if sizes is not None and (not sizes or min(sizes) < 1):
                fail(name, f"must be one or more positive sizes, got {sizes}")
        if self.decoder == "hierarchical" and self.n_steps % self.segment_length:
            fail("n_steps", f"{self.n_steps} is not a whole number of segments of segment_length={self.segment_length}")

    @property
    def track_names(self) -> tuple[str, ...]:
        return TRACKS[self.encoding]

    @property
    def n_tracks(self) -> int:
        return len(self.output_depths)

    @property
    def token_depths(self) -> tuple[int, ...]:
        """Width of the vector each track's previous class is fed back as (one-hot: its depth)."""
        return self.output_depths if self.decoder_token_depths is None else self.decoder_token_depths

    @property
    def matmul_dtype(self) -> torch.dtype | None:
        """The recurrent blocks' ``matmul_dtype``: None for nn.LSTM's fused float32 kernels."""
        return torch.bfloat16 if self.lstm_matmuls == "bfloat16" else None

    @property
    def n_bars(self) -> float:
        return self.n_steps / self.steps_per_bar

    @property
    def n_segments(self) -> int:
        """Conductor steps U (1 for a flat decoder: the whole sequence is one segment)."""
        return self.n_steps // self.segment_length if self.decoder == "hierarchical" else 1


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


def data_config(preset: str) -> PrepareConfig:
    """The prepare config (Magenta's data converter) of a preset; ``*_tiny`` variants share their
    full preset's. An unknown name lists the valid ones."""
    PRESETS[preset]  # an unknown name raises the registry's error, which lists the presets
    name = _TINY_OF.get(preset, preset)
    if name not in DATA:
        raise ConfigError(f"preset {preset!r} has no data converter; presets with one: {sorted(DATA)}")
    return DATA[name]


__all__ = ["DATA", "MAGENTA_TRAIN", "PRESETS", "TRACKS", "MusicPreset", "MusicVAEConfig", "data_config"]
