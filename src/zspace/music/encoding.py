"""MusicVAE's token encodings of note sequences: melody (90), drums (512), trio (90, 90, 512).

The :class:`Encoding` objects are the contract the model uses: ``encode`` / ``decode`` between
sequences and tokens ``(n_steps, n_tracks)``, ``to_inputs`` from tokens to the encoder's input
vectors. The note data model is :mod:`zspace.music.notes`, the token rules
:mod:`zspace.music.tokens`; both are re-exported here. ``encode`` reads one line per track from
all of a sequence's tracks (the top voice, :func:`~zspace.music.tokens.skyline`); training data
and user files are cut by Magenta's per-instrument rules instead (:mod:`zspace.music.extract`,
:mod:`zspace.music.data`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from types import MappingProxyType
from typing import ClassVar, Protocol

import numpy as np

from zspace.errors import ConfigError, DataError
from zspace.music.notes import DEFAULT_QPM, DEFAULT_VELOCITY, STEPS_PER_BAR, STEPS_PER_QUARTER, Note, NoteSequence
from zspace.music.tokens import (
    BASS_PROGRAMS,
    DRUM_CANONICAL_PITCHES,
    DRUM_CLASS_NAMES,
    DRUM_DEPTH,
    DRUM_INPUT_DEPTH,
    DRUM_PITCH_CLASSES,
    ELECTRIC_BASS_PROGRAM,
    MELODY_DEPTH,
    MELODY_MAX_PITCH,
    MELODY_MIN_PITCH,
    MELODY_NO_EVENT,
    MELODY_NOTE_OFF,
    N_DRUM_CLASSES,
    MelodySegment,
    _check_tokens,
    canonical_melody_tokens,
    drum_classes_to_tokens,
    drum_input_table,
    drum_tokens_to_classes,
    drums_to_tokens,
    extract_melodies,
    melody_input_table,
    melody_to_tokens,
    melody_transpositions,
    skyline,
    tokens_to_drums,
    tokens_to_melody,
    transpose_melody_tokens,
)

TRIO_MELODY_PROGRAMS = range(32)  # MusicVAE's MEL_PROGRAMS, which TrioConverter types as melody


@dataclass(frozen=True)
class _Track:
    """One instrument track: which notes it takes and how they become tokens and back."""

    depth: int  # number of output classes
    table: Callable[[], np.ndarray]  # () -> (depth, input_width) float32, cached: read it, never write
    takes: Callable[[Note], bool]
    to_tokens: Callable[[Sequence[Note], int, int], np.ndarray]  # (notes, start, n) -> (n,)
    to_notes: Callable[[np.ndarray], tuple[Note, ...]]  # (n_steps,) -> notes


@cache
def _shared(make_table: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
    """``make_table`` built once and frozen: ``to_inputs`` indexes it on every batch."""
    table = make_table()
    table.setflags(write=False)
    return lambda: table


_MELODY = _Track(MELODY_DEPTH, _shared(melody_input_table), lambda n: not n.is_drum, melody_to_tokens, tokens_to_melody)
_TRIO_MELODY = replace(_MELODY, takes=lambda n: not n.is_drum and n.program in TRIO_MELODY_PROGRAMS)
_TRIO_BASS = replace(
    _MELODY,
    takes=lambda n: not n.is_drum and n.program in BASS_PROGRAMS,
    to_notes=partial(tokens_to_melody, program=ELECTRIC_BASS_PROGRAM),
)
_DRUMS = _Track(DRUM_DEPTH, _shared(drum_input_table), lambda n: n.is_drum, drums_to_tokens, tokens_to_drums)
_TRIO_DRUMS = replace(_DRUMS, table=_shared(partial(np.eye, DRUM_DEPTH, dtype=np.float32)))  # TrioConverter: one-hot


class Encoding(Protocol):
    """What a MusicVAE model needs from an encoding (see :class:`_TrackEncoding`)."""

    @property
    def name(self) -> str: ...
    @property
    def output_depths(self) -> tuple[int, ...]: ...
    @property
    def input_depth(self) -> int: ...
    def input_table(self) -> tuple[np.ndarray, ...]: ...
    def encode(self, seq: NoteSequence, start_step: int, n_steps: int) -> np.ndarray: ...
    def decode(self, tokens: np.ndarray, qpm: float = DEFAULT_QPM) -> NoteSequence: ...
    def to_inputs(self, tokens: np.ndarray) -> np.ndarray: ...


class _TrackEncoding:
    """Shared implementation of :class:`Encoding` over a tuple of tracks.

    A step holds one output class per track, ``tokens (..., n_steps, n_tracks)``; the
    model's input at a step is the concatenation of each track's row of ``input_table()``.
    """

    name: ClassVar[str]
    _tracks: ClassVar[tuple[_Track, ...]]

    @property
    def output_depths(self) -> tuple[int, ...]:
        """Classes per track: the sizes of the decoder's softmaxes."""
        return tuple(t.depth for t in self._tracks)

    @property
    def input_depth(self) -> int:
        """Width of one step's input vector: the sum of the tables' widths."""
        return sum(t.table().shape[1] for t in self._tracks)

    def input_table(self) -> tuple[np.ndarray, ...]:
        """Per track k, float32 ``(output_depths[k], input_width_k)``: row c is class c's input.

        Fresh (writable) copies, ready for ``torch.as_tensor``."""
        return tuple(t.table().copy() for t in self._tracks)

    def encode(self, seq: NoteSequence, start_step: int, n_steps: int) -> np.ndarray:
        """Tokens of ``seq``'s steps ``[start_step, start_step + n_steps)``: int64 ``(n_steps, n_tracks)``."""
        if seq.steps_per_quarter != STEPS_PER_QUARTER:
            raise DataError(
                f"the {self.name} encoding needs {STEPS_PER_QUARTER} steps per quarter, the sequence has "
                f"{seq.steps_per_quarter}; quantize it with read_midi(path, steps_per_quarter={STEPS_PER_QUARTER})"
            )
        return np.stack([t.to_tokens([n for n in seq.notes if t.takes(n)], start_step, n_steps) for t in self._tracks], axis=-1)

    def decode(self, tokens: np.ndarray, qpm: float = DEFAULT_QPM) -> NoteSequence:
        """A 4/4 sequence of tokens ``(n_steps, n_tracks)``, ``n_steps`` long, at tempo ``qpm``."""
        tokens = self._check(tokens)
        if tokens.ndim != 2:
            raise DataError(f"{self.name} decode needs tokens (n_steps, {len(self._tracks)}), got shape {tokens.shape}")
        notes = [n for k, t in enumerate(self._tracks) for n in t.to_notes(tokens[:, k])]
        return NoteSequence(notes=tuple(notes), qpm=qpm, total_steps=tokens.shape[0])

    def to_inputs(self, tokens: np.ndarray) -> np.ndarray:
        """Encoder/decoder inputs of tokens ``(..., n_steps, n_tracks)``: float32 ``(..., n_steps, input_depth)``."""
        tokens = self._check(tokens)
        return np.concatenate([t.table()[tokens[..., k]] for k, t in enumerate(self._tracks)], axis=-1)

    def _check(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens)
        if tokens.ndim < 2 or tokens.shape[-1] != len(self._tracks):
            raise DataError(f"{self.name} tokens must have shape (..., n_steps, {len(self._tracks)}), got {tokens.shape}")
        for k, t in enumerate(self._tracks):
            _check_tokens(tokens[..., k], t.depth, f"{self.name} track {k}")
        return tokens


@dataclass(frozen=True)
class MelodyEncoding(_TrackEncoding):
    """One melody track of 90 classes from every non-drum note; inputs are one-hot (90)."""

    name: ClassVar[str] = "melody"
    _tracks: ClassVar[tuple[_Track, ...]] = (_MELODY,)


@dataclass(frozen=True)
class DrumsEncoding(_TrackEncoding):
    """One drum track of 512 classes; inputs are the 9 class bits plus a rest bit (10)."""

    name: ClassVar[str] = "drums"
    _tracks: ClassVar[tuple[_Track, ...]] = (_DRUMS,)


@dataclass(frozen=True)
class TrioEncoding(_TrackEncoding):
    """Magenta's ``TrioConverter``: melody (programs 0..31), bass (GM programs 32..39) and drums,
    depths (90, 90, 512); every track's input is the one-hot of its class, 90 + 90 + 512 = 692
    (the drums as one of 512 patterns, not the 10-wide roll of the drums encoding), so Magenta's
    trio checkpoints load. Decoded bass uses program 33 (electric bass, finger)."""

    name: ClassVar[str] = "trio"
    _tracks: ClassVar[tuple[_Track, ...]] = (_TRIO_MELODY, _TRIO_BASS, _TRIO_DRUMS)


ENCODINGS: Mapping[str, Encoding] = MappingProxyType({e.name: e for e in (MelodyEncoding(), DrumsEncoding(), TrioEncoding())})


def get_encoding(name: str) -> Encoding:
    """The encoding called ``name``; an unknown name lists the valid ones."""
    try:
        return ENCODINGS[name]
    except KeyError:
        raise ConfigError(f"unknown music encoding {name!r}; valid encodings are {sorted(ENCODINGS)}") from None


__all__ = [
    "BASS_PROGRAMS", "DEFAULT_QPM", "DEFAULT_VELOCITY", "DRUM_CANONICAL_PITCHES", "DRUM_CLASS_NAMES", "DRUM_DEPTH",
    "DRUM_INPUT_DEPTH", "DRUM_PITCH_CLASSES", "ELECTRIC_BASS_PROGRAM", "ENCODINGS", "MELODY_DEPTH", "MELODY_MAX_PITCH",
    "MELODY_MIN_PITCH", "MELODY_NOTE_OFF", "MELODY_NO_EVENT", "N_DRUM_CLASSES", "STEPS_PER_BAR", "STEPS_PER_QUARTER",
    "TRIO_MELODY_PROGRAMS", "DrumsEncoding", "Encoding", "MelodyEncoding", "MelodySegment", "Note", "NoteSequence",
    "TrioEncoding",
    "canonical_melody_tokens", "drum_classes_to_tokens", "drum_input_table", "drum_tokens_to_classes", "drums_to_tokens",
    "extract_melodies", "get_encoding", "melody_input_table", "melody_to_tokens", "melody_transpositions", "skyline",
    "tokens_to_drums", "tokens_to_melody", "transpose_melody_tokens",
]  # fmt: skip
