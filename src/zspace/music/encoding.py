"""Quantized note sequences and MusicVAE's token encodings: melody (90), drums (512), trio.

Time is counted in steps: 4 per quarter note, 16 per 4/4 bar (Roberts et al. 2018). Token
conventions follow Magenta's ``note_seq`` / ``music_vae/data.py``:

- melody, one token per step in 0..89: ``0`` no event (hold the sounding note, or stay
  silent), ``1`` note off, ``2..89`` note on of MIDI pitch 21..108 (the piano range);
- drums, one token per step in 0..511: bit ``k`` set iff drum class ``k`` is hit, with the
  9 classes of Magenta's reduced GM drum map (:data:`DRUM_PITCH_CLASSES`);
- trio: three tokens per step, (melody, bass, drums), parts chosen by GM program.

The encoders emit canonical tokens (no note off while nothing sounds), so for any tokens
``t`` they produced, ``encode(decode(t)) == t``; :func:`canonical_melody_tokens` maps any
melody tokens to that form. The :class:`Encoding` objects at the end are the contract the
model uses: ``encode`` / ``decode`` between sequences and tokens ``(n_steps, n_tracks)``,
``to_inputs`` from tokens to the encoder's input vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from types import MappingProxyType
from typing import ClassVar, Protocol

import numpy as np

from zspace.errors import ConfigError, DataError

STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16  # 4/4 at 4 steps per quarter: MusicVAE's bar
DEFAULT_QPM = 120.0
DEFAULT_VELOCITY = 80  # Magenta's OUTPUT_VELOCITY

MELODY_NO_EVENT = 0
MELODY_NOTE_OFF = 1
MELODY_MIN_PITCH = 21  # A0, lowest piano key
MELODY_MAX_PITCH = 108  # C8, highest piano key
MELODY_DEPTH = 2 + MELODY_MAX_PITCH - MELODY_MIN_PITCH + 1  # 90
_PITCH_TO_TOKEN = 2 - MELODY_MIN_PITCH  # token = pitch - 19

BASS_PROGRAMS = range(32, 40)  # GM "Bass" family
ELECTRIC_BASS_PROGRAM = 33  # program of decoded bass notes, as Magenta

# note_seq's DEFAULT_DRUM_TYPE_PITCHES (drums_encoder_decoder.py), which MusicVAE uses as
# REDUCED_DRUM_PITCH_CLASSES: every GM1/GM2 drum (plus Roland's 22, 26) folded onto a
# 9-piece kit. The first pitch of each class is the one decoded notes get.
DRUM_PITCH_CLASSES: tuple[tuple[int, ...], ...] = (
    (36, 35),  # kick
    (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),  # snare
    (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),  # closed hi-hat
    (46, 67, 72, 74, 79, 81, 26),  # open hi-hat
    (45, 29, 41, 43, 61, 64, 84),  # low tom
    (48, 47, 60, 63, 77, 86, 87),  # mid tom
    (50, 30, 62, 76, 83),  # high tom
    (49, 52, 55, 57, 58),  # crash
    (51, 53, 59, 82),  # ride
)
DRUM_CLASS_NAMES = ("kick", "snare", "closed_hihat", "open_hihat", "low_tom", "mid_tom", "high_tom", "crash", "ride")
N_DRUM_CLASSES = len(DRUM_PITCH_CLASSES)  # 9
DRUM_DEPTH = 2**N_DRUM_CLASSES  # 512
DRUM_INPUT_DEPTH = N_DRUM_CLASSES + 1  # multi-hot classes + rest bit
DRUM_CANONICAL_PITCHES = np.array([pitches[0] for pitches in DRUM_PITCH_CLASSES])
_DRUM_CLASS_OF_PITCH = np.full(128, -1, dtype=np.int64)  # -1: not a drum we model (ignored)
for _k, _pitches in enumerate(DRUM_PITCH_CLASSES):
    _DRUM_CLASS_OF_PITCH[list(_pitches)] = _k
_DRUM_BITS = 1 << np.arange(N_DRUM_CLASSES)


# ---------------------------------------------------------------------------- data model
@dataclass(frozen=True, slots=True)
class Note:
    """One quantized note, sounding on steps ``[start_step, end_step)``.

    Positional fields (``Note(60, 0, 4)``) because notes are records, not configs.
    """

    pitch: int  # MIDI pitch 0..127 (for drums: the GM drum sound)
    start_step: int
    end_step: int  # exclusive
    velocity: int = DEFAULT_VELOCITY
    program: int = 0  # GM program 0..127
    is_drum: bool = False  # General MIDI channel 10
    instrument: int = 0  # the track (MIDI) or part (score) it came from; melodies are per instrument

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127:
            raise DataError(f"Note.pitch must be a MIDI pitch in 0..127, got {self.pitch}")
        if not 0 <= self.start_step < self.end_step:
            raise DataError(
                f"Note steps need 0 <= start_step < end_step, got start_step={self.start_step}, end_step={self.end_step}"
            )
        if not 1 <= self.velocity <= 127:
            raise DataError(f"Note.velocity must lie in 1..127, got {self.velocity}")
        if not 0 <= self.program <= 127:
            raise DataError(f"Note.program must be a GM program in 0..127, got {self.program}")


def _note_order(note: Note) -> tuple:
    return (note.start_step, note.pitch, note.end_step, note.is_drum, note.program, note.velocity, note.instrument)


@dataclass(frozen=True, kw_only=True)
class NoteSequence:
    """Quantized multi-track music: notes on a step grid plus the tempo and meter to play it.

    Construction normalises two fields, so equal music compares equal: ``notes`` becomes a
    tuple sorted by (start, pitch, ...), and ``total_steps=None`` becomes the end of the last
    note. ``total_steps`` may exceed that end (trailing silence) but not fall short of it.
    """

    notes: tuple[Note, ...] = ()
    steps_per_quarter: int = STEPS_PER_QUARTER
    qpm: float = DEFAULT_QPM  # tempo, quarter notes per minute
    time_signature: tuple[int, int] = (4, 4)  # (numerator, denominator)
    total_steps: int | None = None

    def __post_init__(self) -> None:
        notes = tuple(sorted(self.notes, key=_note_order))
        last_end = max((n.end_step for n in notes), default=0)
        total = last_end if self.total_steps is None else int(self.total_steps)
        if total < last_end:
            raise DataError(f"NoteSequence.total_steps={total} ends before the last note (step {last_end})")
        numerator, denominator = self.time_signature
        if numerator < 1 or denominator < 1 or denominator & (denominator - 1):
            raise DataError(f"NoteSequence.time_signature {self.time_signature} is not n/2^k, e.g. (4, 4) or (6, 8)")
        if self.steps_per_quarter < 1:
            raise DataError(f"NoteSequence.steps_per_quarter must be >= 1, got {self.steps_per_quarter}")
        if not (math.isfinite(self.qpm) and self.qpm > 0):
            raise DataError(f"NoteSequence.qpm must be a positive tempo, got {self.qpm}")
        object.__setattr__(self, "notes", notes)
        object.__setattr__(self, "total_steps", total)
        object.__setattr__(self, "time_signature", (int(numerator), int(denominator)))

    @property
    def steps_per_bar(self) -> int:
        """Steps in one bar of ``time_signature``; an error if that is not a whole number."""
        numerator, denominator = self.time_signature
        steps = self.steps_per_quarter * 4 * numerator / denominator
        if steps != int(steps):
            raise DataError(
                f"a {numerator}/{denominator} bar is {steps} steps at {self.steps_per_quarter} steps per quarter; "
                "quantize more finely so bars hold whole steps"
            )
        return int(steps)

    @property
    def seconds_per_step(self) -> float:
        return 60.0 / (self.qpm * self.steps_per_quarter)


# ---------------------------------------------------------------------------- melody
def skyline(notes: Iterable[Note]) -> list[Note]:
    """The top line of polyphonic notes (the "skyline" rule, Uitdenbogerd & Zobel 1998).

    Notes are taken in onset order; of notes starting together the highest (then the longest:
    a unison of two tracks sounds as the longer note) is kept. A note
    that starts while a lower (or equal) note sounds cuts that note at its onset; a note that
    starts under a higher sounding note is dropped entirely, and is not resumed when the higher
    note ends. Magenta's ``Melody.from_quantized_sequence`` instead lets every later onset cut
    the sounding note whatever its pitch; keeping the top voice suits chorale and piano
    textures, where inner voices would otherwise chop the tune. Returns non-overlapping notes.
    """
    line: list[Note] = []
    for note in sorted(notes, key=lambda n: (n.start_step, -n.pitch, -n.end_step)):
        if line and note.start_step < line[-1].end_step:
            last = line[-1]
            if note.start_step == last.start_step or note.pitch < last.pitch:
                continue
            line[-1] = replace(last, end_step=note.start_step)
        line.append(note)
    return line


def _is_melodic(note: Note) -> bool:
    return not note.is_drum and MELODY_MIN_PITCH <= note.pitch <= MELODY_MAX_PITCH


def melody_to_tokens(notes: Iterable[Note], start_step: int, n_steps: int) -> np.ndarray:
    """Melody tokens of steps ``[start_step, start_step + n_steps)``: int64 ``(n_steps,)``.

    Drum notes and notes outside the piano range 21..108 are dropped (as MusicVAE's
    ``OneHotMelodyConverter``), then :func:`skyline` makes the rest monophonic. Notes that
    start before ``start_step`` contribute nothing to the window, not even their note off;
    otherwise the window is the same slice of the whole sequence's tokens.
    """
    if n_steps < 1 or start_step < 0:
        raise ValueError(f"need start_step >= 0 and n_steps >= 1, got {start_step}, {n_steps}")
    stop = start_step + n_steps
    line = [n for n in skyline(n for n in notes if _is_melodic(n) and n.start_step < stop) if n.start_step >= start_step]
    tokens = np.zeros(n_steps, dtype=np.int64)
    if not line:
        return tokens
    starts = np.array([n.start_step for n in line]) - start_step
    ends = np.minimum(np.array([n.end_step for n in line]) - start_step, n_steps)
    tokens[starts] = np.array([n.pitch for n in line]) + _PITCH_TO_TOKEN
    # A note off only where a note ends before the next onset (an onset ends a note itself).
    next_starts = np.append(starts[1:], n_steps)
    tokens[ends[ends < next_starts]] = MELODY_NOTE_OFF
    return tokens


def tokens_to_melody(
    tokens: np.ndarray, *, start_step: int = 0, velocity: int = DEFAULT_VELOCITY, program: int = 0
) -> tuple[Note, ...]:
    """Notes of melody tokens ``(n_steps,)``; step ``i`` becomes step ``start_step + i``.

    A note lasts from its note on to the next note on or note off, or to the end of tokens.
    """
    tokens = _check_tokens(tokens, MELODY_DEPTH, "melody", ndim=1)
    events = np.flatnonzero(tokens)  # note on and note off steps
    ends = np.append(events[1:], len(tokens))
    is_on = tokens[events] >= 2
    return tuple(
        Note(int(pitch), start_step + int(s), start_step + int(e), velocity, program)
        for pitch, s, e in zip(tokens[events[is_on]] - _PITCH_TO_TOKEN, events[is_on], ends[is_on])
    )


def canonical_melody_tokens(tokens: np.ndarray) -> np.ndarray:
    """``tokens (..., n_steps)`` with every note off that ends nothing (no note sounding:
    at the start of a window, or after another note off) replaced by no event.

    Both spell the same music; encoders only emit the canonical spelling. Use it on windows
    sliced from longer token arrays, whose first token may be a note off.
    """
    tokens = np.asarray(tokens)
    steps = np.arange(tokens.shape[-1])
    # Index of the latest event strictly before each step. Where there is none we point at
    # step 0, which is then not a note on (or is the step itself), so "sounding" stays False.
    last_event = np.maximum.accumulate(np.where(tokens != MELODY_NO_EVENT, steps, 0), axis=-1)
    previous = np.concatenate([np.zeros_like(last_event[..., :1]), last_event[..., :-1]], axis=-1)
    sounding = np.take_along_axis(tokens, previous, axis=-1) >= 2
    return np.where((tokens == MELODY_NOTE_OFF) & ~sounding, MELODY_NO_EVENT, tokens)


def melody_transpositions(tokens: np.ndarray, max_semitones: int) -> np.ndarray:
    """The shifts in ``-max_semitones..max_semitones`` that keep every note of ``tokens``
    (any shape) inside 21..108: an int64 array, ascending (all of them if there are no notes)."""
    tokens = np.asarray(tokens)
    notes = tokens[tokens >= 2]
    low = -max_semitones if notes.size == 0 else max(-max_semitones, 2 - int(notes.min()))
    high = max_semitones if notes.size == 0 else min(max_semitones, MELODY_DEPTH - 1 - int(notes.max()))
    return np.arange(low, high + 1, dtype=np.int64)


def transpose_melody_tokens(tokens: np.ndarray, semitones: int) -> np.ndarray:
    """Melody tokens (any shape) moved by ``semitones``; note on tokens shift, 0 and 1 stay.

    Raises DataError if a note would leave 21..108 (pick shifts with :func:`melody_transpositions`).
    """
    tokens = np.asarray(tokens)
    is_note = tokens >= 2
    shifted = np.where(is_note, tokens + semitones, tokens)
    if np.any(is_note & ((shifted < 2) | (shifted >= MELODY_DEPTH))):
        allowed = melody_transpositions(tokens, abs(semitones))
        raise DataError(
            f"transposing by {semitones:+d} semitones moves notes outside MIDI pitch "
            f"{MELODY_MIN_PITCH}..{MELODY_MAX_PITCH}; shifts within {abs(semitones)} that fit: {allowed.tolist()}"
        )
    return shifted


@dataclass(frozen=True, kw_only=True, eq=False)
class MelodySegment:
    """A melody cut from a sequence: ``tokens (n_steps,)`` from bar-aligned ``start_step``."""

    start_step: int
    tokens: np.ndarray


def extract_melodies(
    seq: NoteSequence,
    *,
    gap_bars: float | None = 1.0,
    min_notes: int = 1,
    min_unique_pitches: int = 1,
    programs: Collection[int] | None = None,
) -> list[MelodySegment]:
    """Monophonic melodies of ``seq``, split at silences, as whole-bar token segments.

    The non-drum notes (of ``programs``, if given) in the piano range are reduced to their
    :func:`skyline`; the line is split wherever ``gap_bars`` bars or more of silence follow a
    note (Magenta's melody extractor; ``None`` never splits). Each piece runs from the bar of
    its first note to the bar line after its last note. Pieces with fewer than ``min_notes``
    notes or ``min_unique_pitches`` distinct pitches are dropped (MusicVAE uses 1 and 1).
    """
    steps_per_bar = seq.steps_per_bar
    line = skyline(n for n in seq.notes if _is_melodic(n) and (programs is None or n.program in programs))
    if not line:
        return []
    gap_steps = math.inf if gap_bars is None else gap_bars * steps_per_bar
    cuts = [i + 1 for i in range(len(line) - 1) if line[i + 1].start_step - line[i].end_step >= gap_steps]
    segments = []
    for piece in (line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)])):
        if len(piece) < min_notes or len({n.pitch for n in piece}) < min_unique_pitches:
            continue
        start = piece[0].start_step // steps_per_bar * steps_per_bar
        stop = -(-piece[-1].end_step // steps_per_bar) * steps_per_bar
        segments.append(MelodySegment(start_step=start, tokens=melody_to_tokens(piece, start, stop - start)))
    return segments


def melody_input_table() -> np.ndarray:
    """One-hot inputs of the 90 melody tokens: float32 ``(90, 90)``, the identity."""
    return np.eye(MELODY_DEPTH, dtype=np.float32)


# ---------------------------------------------------------------------------- drums
def drums_to_tokens(notes: Iterable[Note], start_step: int, n_steps: int) -> np.ndarray:
    """Drum tokens of steps ``[start_step, start_step + n_steps)``: int64 ``(n_steps,)``.

    Each drum note (``is_drum``) starting in the window sets the bit of its class at its
    onset step; durations do not matter; other notes and unmapped drum pitches are ignored.
    """
    if n_steps < 1 or start_step < 0:
        raise ValueError(f"need start_step >= 0 and n_steps >= 1, got {start_step}, {n_steps}")
    hits = [(n.start_step - start_step, n.pitch) for n in notes if n.is_drum and 0 <= n.start_step - start_step < n_steps]
    tokens = np.zeros(n_steps, dtype=np.int64)
    if hits:
        steps, pitches = np.array(hits).T
        classes = _DRUM_CLASS_OF_PITCH[pitches]
        known = classes >= 0
        np.bitwise_or.at(tokens, steps[known], _DRUM_BITS[classes[known]])
    return tokens


def tokens_to_drums(tokens: np.ndarray, *, start_step: int = 0, velocity: int = DEFAULT_VELOCITY) -> tuple[Note, ...]:
    """Drum notes of tokens ``(n_steps,)``: one step long, at each class's first pitch."""
    tokens = _check_tokens(tokens, DRUM_DEPTH, "drums", ndim=1)
    steps, classes = np.nonzero(drum_tokens_to_classes(tokens))
    return tuple(
        Note(int(DRUM_CANONICAL_PITCHES[k]), start_step + int(s), start_step + int(s) + 1, velocity, 0, True)
        for s, k in zip(steps, classes)
    )


def drum_classes_to_tokens(classes: np.ndarray) -> np.ndarray:
    """Multi-hot drum classes ``(..., 9)`` (bool or 0/1) to tokens ``(...)``: bit k = class k."""
    return (np.asarray(classes).astype(bool) @ _DRUM_BITS).astype(np.int64)


def drum_tokens_to_classes(tokens: np.ndarray) -> np.ndarray:
    """Drum tokens ``(...)`` in 0..511 to bool multi-hot classes ``(..., 9)``."""
    return (np.asarray(tokens)[..., None] & _DRUM_BITS) != 0


def drum_input_table() -> np.ndarray:
    """Inputs of the 512 drum tokens: float32 ``(512, 10)``, the 9 class bits then a rest
    bit that is 1 iff nothing is hit (MusicVAE's ``roll_input``)."""
    classes = drum_tokens_to_classes(np.arange(DRUM_DEPTH))
    return np.concatenate([classes, ~classes.any(axis=-1, keepdims=True)], axis=-1).astype(np.float32)


def _check_tokens(tokens: np.ndarray, depth: int, what: str, *, ndim: int | None = None) -> np.ndarray:
    tokens = np.asarray(tokens)
    if tokens.dtype.kind not in "iu":
        raise DataError(f"{what} tokens must be integers, got dtype {tokens.dtype}; pass class indices (argmax), not scores")
    if ndim is not None and tokens.ndim != ndim:
        raise DataError(f"{what} tokens must have {ndim} dimension(s), got shape {tokens.shape}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= depth):
        raise DataError(f"{what} tokens must lie in 0..{depth - 1}, got {tokens.min()}..{tokens.max()}")
    return tokens


# ---------------------------------------------------------------------------- encodings
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
_TRIO_MELODY = replace(_MELODY, takes=lambda n: not n.is_drum and n.program not in BASS_PROGRAMS)
_TRIO_BASS = replace(
    _MELODY,
    takes=lambda n: not n.is_drum and n.program in BASS_PROGRAMS,
    to_notes=partial(tokens_to_melody, program=ELECTRIC_BASS_PROGRAM),
)
_DRUMS = _Track(DRUM_DEPTH, _shared(drum_input_table), lambda n: n.is_drum, drums_to_tokens, tokens_to_drums)


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
    """Melody (non-drum, non-bass programs), bass (GM programs 32..39) and drums: depths
    (90, 90, 512), inputs 90 + 90 + 10. Magenta takes melody programs 0..31 only; here any
    non-bass program counts. Decoded bass uses program 33 (electric bass, finger)."""

    name: ClassVar[str] = "trio"
    _tracks: ClassVar[tuple[_Track, ...]] = (_TRIO_MELODY, _TRIO_BASS, _DRUMS)


ENCODINGS: Mapping[str, Encoding] = MappingProxyType({e.name: e for e in (MelodyEncoding(), DrumsEncoding(), TrioEncoding())})


def get_encoding(name: str) -> Encoding:
    """The encoding called ``name``; an unknown name lists the valid ones."""
    try:
        return ENCODINGS[name]
    except KeyError:
        raise ConfigError(f"unknown music encoding {name!r}; valid encodings are {sorted(ENCODINGS)}") from None
