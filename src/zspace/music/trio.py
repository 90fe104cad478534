"""Magenta's trio windows (``TrioConverter`` of ``music_vae/data.py``): melody, bass and drums.

Per quantized section with 16-step bars: each instrument (track) is typed by its notes as
melody (programs 0..31), bass (32..39) or drums; an instrument of mixed or other types is left
out. Each bar an instrument sounds in is *covered*, and coverage is widened by ``gap_bars`` (2)
bars each way. Every (melody, bass, drums) triple of instruments gives the windows of
``bars`` bars, sliding by one bar, in which all three are covered (the first and last
``gap_bars`` bars count as covered if any of the three is). Each instrument is encoded whole:
its melody with no gap limit (one line, every onset cutting the held note), padded to the
section's whole bars; its drums as the 9-class hits of every step.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from zspace.music.extract import MELODY_PROGRAMS, melody_notes, one_melody, set_melody_length
from zspace.music.notes import NoteSequence
from zspace.music.tokens import _DRUM_BITS, _DRUM_CLASS_OF_PITCH, BASS_PROGRAMS

GAP_BARS = 2  # TrioConverter's default, used by hierdec-trio_16bar
MAX_BARS = 1024  # TrioConverter's default
_MELODY, _BASS, _DRUMS, _INVALID = 1, 2, 3, 4


def trio_windows(seq: NoteSequence, bars: int, *, gap_bars: int = GAP_BARS, max_bars: int = MAX_BARS) -> np.ndarray:
    """Trio windows of one section: int64 ``(n, bars * steps_per_bar, 3)`` (melody, bass, drums).

    A section whose bars are not 16 steps is the caller's to reject (Magenta keeps none).
    """
    steps_per_bar = seq.steps_per_bar
    total_bars = min(-(-seq.total_steps // steps_per_bar), max_bars)
    kind: dict[int, int] = {}
    coverage: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(total_bars, dtype=bool))
    for note in seq.notes:
        found = (
            _DRUMS
            if note.is_drum
            else _MELODY
            if note.program in MELODY_PROGRAMS
            else _BASS
            if note.program in BASS_PROGRAMS
            else _INVALID
        )
        kind[note.instrument] = found if kind.get(note.instrument, found) == found else _INVALID
        start_bar, end_bar = note.start_step // steps_per_bar, -(-note.end_step // steps_per_bar)
        if start_bar < total_bars:
            coverage[note.instrument][start_bar : min(end_bar, total_bars)] = True
    groups = {k: sorted(i for i, t in kind.items() if t == k) for k in (_MELODY, _BASS, _DRUMS)}
    empty = np.zeros((0, bars * steps_per_bar, 3), dtype=np.int64)
    if not all(groups.values()):
        return empty
    total_steps = total_bars * steps_per_bar
    encoded = {}
    for i in groups[_MELODY] + groups[_BASS]:
        tokens = _melody_tokens(seq, i, total_steps)
        if tokens is not None:
            encoded[i] = tokens
    for i in groups[_DRUMS]:
        tokens = _drum_tokens(seq, i, total_steps)
        if tokens is not None:
            encoded[i] = tokens
    covered = {}
    for i in kind:
        raw = coverage[i] if i in encoded else np.zeros(total_bars, dtype=bool)
        covered[i] = np.array([raw[max(0, j - gap_bars) : j + gap_bars + 1].any() for j in range(total_bars)], dtype=bool)
    windows = []
    for group in itertools.product(groups[_MELODY], groups[_BASS], groups[_DRUMS]):
        both = np.stack([covered[i] for i in group], axis=1)  # (total_bars, 3)
        group_coverage = both.all(axis=1)
        group_coverage[:gap_bars] = both[:gap_bars].any()
        group_coverage[-gap_bars:] = both[-gap_bars:].any()
        if not all(i in encoded for i in group):
            continue
        for j in range(total_bars - bars + 1):
            if group_coverage[j : j + bars].all():
                a, b = j * steps_per_bar, (j + bars) * steps_per_bar
                windows.append(np.stack([encoded[i][a:b] for i in group], axis=-1))
    return np.stack(windows) if windows else empty


def _melody_tokens(seq: NoteSequence, instrument: int, total_steps: int) -> np.ndarray | None:
    """One instrument as one melody line over the whole section (OneHotMelodyConverter with
    ``gap_bars=None, pad_to_total_time=True``), or None if it has no note in 21..108."""
    notes = melody_notes((n for n in seq.notes if n.instrument == instrument), programs=None)
    start, events = one_melody(notes, 0, seq.steps_per_bar, float("inf"))
    if not events:
        return None
    events = [0] * start + events
    set_melody_length(events, total_steps)
    return np.array(events, dtype=np.int64)


def _drum_tokens(seq: NoteSequence, instrument: int, total_steps: int) -> np.ndarray | None:
    """One drum instrument's 9-class hits on every step (DrumsConverter, ``pad_to_total_time``)."""
    tokens = np.zeros(total_steps, dtype=np.int64)
    hits = [n for n in seq.notes if n.instrument == instrument and n.is_drum and _DRUM_CLASS_OF_PITCH[n.pitch] >= 0]
    if not hits:
        return None
    for note in hits:
        if note.start_step < total_steps:
            tokens[note.start_step] |= int(_DRUM_BITS[_DRUM_CLASS_OF_PITCH[note.pitch]])
    return tokens
