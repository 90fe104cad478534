"""MusicVAE's melody (90 classes) and drum (512 classes) tokens, following Magenta's ``note_seq`` /
``music_vae/data.py``:

- melody, one token per step in 0..89: ``0`` no event (hold the sounding note, or stay
  silent), ``1`` note off, ``2..89`` note on of MIDI pitch 21..108 (the piano range);
- drums, one token per step in 0..511: bit ``k`` set iff drum class ``k`` is hit, with the
  9 classes of Magenta's reduced GM drum map (:data:`DRUM_PITCH_CLASSES`).

The converters here emit canonical tokens (no note off while nothing sounds), so for any tokens
``t`` they produced, ``to_tokens(to_notes(t)) == t``; :func:`canonical_melody_tokens` maps any
melody tokens to that form. Magenta's own extraction (per instrument) is :mod:`zspace.music.extract`;
the single-line rules here (:func:`skyline`) read all tracks as one.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

import numpy as np

from zspace.errors import DataError
from zspace.music.notes import DEFAULT_VELOCITY, Note, NoteSequence

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
