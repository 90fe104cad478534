"""MusicVAE's config types, at the bottom of the package: the model's architecture
(:class:`MusicVAEConfig`), the converter that cuts MIDI into its windows (:class:`MusicConverter`)
and what ``prepare`` makes of a source (:class:`PrepareConfig`).

Plain frozen dataclasses: importing this module reads no MIDI and builds no tensors, so the
model, the data pipeline, the run and the CLI all import their configs from here.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from zspace.core.config import from_dict
from zspace.core.constraints import Positive, Seed, Size, Sizes, configclass
from zspace.errors import ConfigError
from zspace.music.notes import STEPS_PER_BAR

KINDS = ("melody", "drums", "trio")
METERS = ("4/4", "any")  # "4/4": only bars of steps_per_bar steps, as Magenta; "any": such "bars" cut from any meter
MELODY_RULES = ("magenta", "skyline")
MELODY_PROGRAM_RULES = ("magenta", "0-31", "all")
MELODY_PROGRAMS = range(32)  # MusicVAE's MEL_PROGRAMS: piano, chromatic percussion, organ, guitar
MAX_BARS = 100  # MusicVAE's configs: "Truncate long melodies before slicing."

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


@configclass
class MusicConverter:
    """How MIDI becomes token windows: Magenta's ``data_converter`` (``music_vae/data.py``).

    One object cuts the training data (``zspace music prepare``), the files given to
    ``encode`` / ``interpolate`` / ``attributes`` and the browser's uploads, and is stored in
    the run's config: a model reads user files by the rules its data was cut with. The defaults
    are Magenta's converters: each song is cut at its meter and tempo changes, sections whose
    bars are ``steps_per_bar`` (16) steps give windows of ``bars`` bars sliding by one bar over
    each melody (per instrument) or drum track, split at ``gap_bars`` of silence and truncated
    to ``max_bars``; trios as ``TrioConverter``. ``tests/music/test_parity.py`` checks the
    windows against note_seq's.
    """

    kind: str = "melody"  # melody | drums | trio: the encoding the windows are in
    bars: Size = 2  # window length; windows slide by one bar (MusicVAE: 2 or 16)
    steps_per_bar: Size = STEPS_PER_BAR  # 16 (Magenta); e.g. 12 keeps 3/4 sections instead, n_steps = bars * 12
    meter: str = "4/4"  # "4/4": sections with steps_per_bar-step bars only (Magenta); "any": such bars from any meter
    gap_bars: Positive = 1.0  # melody, drums: a silence this long splits a line (Magenta)
    max_bars: Size | None = MAX_BARS  # each melody / drum line is truncated to this many bars (Magenta: 100)
    # "magenta": as configs.py, programs 0..31 for 2-bar windows (cat-mel_2bar) and every program
    # for longer ones (mel_16bar_converter); "0-31" or "all" to force one rule.
    melody_programs: str = "magenta"
    # Departures from Magenta's converters, off by default (docs/BENCHMARKS.md, "Data"):
    split_time_changes: bool = True  # False: ignore meter/tempo changes after the first
    melody: str = "magenta"  # "skyline": merge all tracks and keep the top voice
    expand_repeats: bool = False  # music21 scores: write out repeats (most dance tunes are short without)

    def __post_init__(self) -> None:
        for name, valid in (("kind", KINDS), ("meter", METERS), ("melody", MELODY_RULES),
                            ("melody_programs", MELODY_PROGRAM_RULES)):  # fmt: skip
            if getattr(self, name) not in valid:
                raise ConfigError(f"{name} {getattr(self, name)!r} is not one of {', '.join(valid)}")
        if self.melody == "skyline" and self.kind != "melody":
            raise ConfigError(f"melody 'skyline' applies to melody windows; these are {self.kind}")
        if self.max_bars is not None and self.max_bars < self.bars:
            raise ConfigError(f"max_bars (None: no limit) >= bars={self.bars} is needed, got max_bars={self.max_bars}")

    @property
    def n_steps(self) -> int:
        return self.bars * self.steps_per_bar

    @property
    def programs(self) -> range | None:
        """The GM programs melodies come from: 0..31, or None for every program."""
        every = self.bars > 2 if self.melody_programs == "magenta" else self.melody_programs == "all"
        return None if every else MELODY_PROGRAMS

    @classmethod
    def for_model(cls, model: MusicVAEConfig) -> MusicConverter:
        """Magenta's converter for a model's encoding and window length (the defaults otherwise)."""
        return cls(kind=model.encoding, bars=max(1, model.n_steps // model.steps_per_bar), steps_per_bar=model.steps_per_bar)

    def check_fits(self, model: MusicVAEConfig, where: str = "converter") -> None:
        """A model reads the windows of this converter only: same encoding, length and bar."""
        if (self.kind, self.n_steps, self.steps_per_bar) != (model.encoding, model.n_steps, model.steps_per_bar):
            raise ConfigError(
                f"{where}: cuts {self.bars}-bar {self.kind} windows of {self.steps_per_bar}-step bars ({self.n_steps} steps), "
                f"the model reads {model.encoding} windows of {model.n_steps} steps in {model.steps_per_bar}-step bars"
            )


@configclass
class PrepareConfig(MusicConverter):
    """What ``prepare`` makes of a source: the converter's rules, and what only a data set has
    (splits, the per-song cap, training-set augmentation, parallelism). The split is fixed by
    song ids, never by ``seed``."""

    max_per_song: Size | None = 50  # distinct windows kept per song (seeded choice); None keeps all
    seed: Seed = 0  # picks the capped windows
    limit: Size | None = None  # read only this many songs: a fixed hash-spread sample, nested as it grows
    workers: Size | None = None  # parsing processes; None: os.cpu_count(); 1: in this process
    valid_fraction: float = 0.05
    test_fraction: float = 0.05
    transpose: int = 0  # melody only: add train copies shifted by every -k..+k semitones that fits (Magenta: 5)

    def __post_init__(self) -> None:
        MusicConverter.__post_init__(self)
        if not (0 <= self.valid_fraction < 1 and 0 <= self.test_fraction < 1 and self.valid_fraction + self.test_fraction < 1):
            raise ConfigError(
                f"valid_fraction={self.valid_fraction} and test_fraction={self.test_fraction} must be in [0, 1) and leave a train split"
            )
        if not 0 <= self.transpose <= 12:
            raise ConfigError(f"transpose must be 0..12 semitones, got {self.transpose}")
        if self.transpose and self.kind != "melody":
            raise ConfigError(f"transpose augments melodies only; kind {self.kind!r} needs transpose 0")

    @property
    def converter(self) -> MusicConverter:
        """The rules alone, as a run stores them."""
        return converter_of(self.__dict__)


def converter_of(fields: dict[str, Any]) -> MusicConverter:
    """The converter in a mapping of prepare-config fields (a manifest's ``config``, a run's
    ``prepare``): the converter's fields are picked, the data set's left out."""
    names = MusicConverter.__dataclass_fields__
    return from_dict(MusicConverter, {k: v for k, v in fields.items() if k in names}, where="converter")


__all__ = [
    "KINDS",
    "MAX_BARS",
    "MELODY_PROGRAMS",
    "MELODY_PROGRAM_RULES",
    "MELODY_RULES",
    "METERS",
    "TRACKS",
    "MusicConverter",
    "MusicVAEConfig",
    "PrepareConfig",
    "converter_of",
]
