"""Magenta's melody and drum-track extraction, and MusicVAE's sliding windows over them.

Ports of note_seq's ``extract_melodies`` / ``Melody.from_quantized_sequence`` and
``extract_drum_tracks`` / ``DrumTrack.from_quantized_sequence`` with the arguments MusicVAE's
``OneHotMelodyConverter`` and ``DrumsConverter`` pass (``music_vae/data.py``): ``min_bars=1``,
``min_unique_pitches=1``, ``ignore_polyphonic_notes=True``, ``pad_end=True``, ``gap_bars=1``,
``max_steps_truncate = max_bars * steps_per_bar``. ``tests/music/test_parity.py`` checks the
windows against note_seq's own on a fixed set of files.

The rules, as note_seq has them:

- melodies are extracted **per instrument** (track); the melody converter first keeps notes
  of programs 0..31 (:data:`MELODY_PROGRAMS`) in MIDI pitch 21..108;
- inside one instrument, notes are taken by onset, highest first; of notes starting together
  only the highest is kept, and any later onset cuts the sounding note (whatever its pitch);
- a melody starts at the bar line before its first note and ends when a note starts
  ``gap_bars`` bars or more after the previous note off; it is padded with "no event" to the
  next bar line (a note off on that bar line is dropped), then truncated to ``max_bars`` bars;
  the next melody of the instrument is searched from that bar line;
- a drum track takes every drum note (all drum instruments together), reduced to the 9 classes,
  and ends at a gap of ``gap_bars`` bars after an onset;
- windows of ``n_steps`` slide by one bar over each melody / track, from its start; a window
  may start with a note off (of a note that began before it) and may hold no onset at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np

from zspace.music.config import MAX_BARS, MELODY_PROGRAMS
from zspace.music.notes import Note, NoteSequence
from zspace.music.tokens import (
    _DRUM_BITS,
    _DRUM_CLASS_OF_PITCH,
    _PITCH_TO_TOKEN,
    MELODY_MAX_PITCH,
    MELODY_MIN_PITCH,
    MELODY_NO_EVENT,
    MELODY_NOTE_OFF,
)


def melody_notes(notes: Iterable[Note], programs: Collection[int] | None = MELODY_PROGRAMS) -> list[Note]:
    """The notes the melody converter keeps: those of ``programs`` (None: all) in MIDI pitch
    21..108. Drum notes pass here, as in Magenta; the extractor skips them."""
    return [n for n in notes if (programs is None or n.program in programs) and MELODY_MIN_PITCH <= n.pitch <= MELODY_MAX_PITCH]


def _add_note(events: list[int], token: int, start: int, end: int) -> None:
    """note_seq's ``Melody._add_note``: resize to ``end + 1`` (which may cut a longer note), then write."""
    del events[end + 1 :]
    events.extend([MELODY_NO_EVENT] * (end + 1 - len(events)))
    events[start] = token
    events[end] = MELODY_NOTE_OFF
    events[start + 1 : end] = [MELODY_NO_EVENT] * (end - start - 1)


def _last_on_off(events: list[int]) -> tuple[int, int]:
    last_off = len(events)
    for i in range(len(events) - 1, -1, -1):
        if events[i] == MELODY_NOTE_OFF:
            last_off = i
        if events[i] >= 2:
            return i, last_off
    raise ValueError("no note in the melody")


def set_melody_length(events: list[int], length: int) -> None:
    """note_seq's ``Melody.set_length`` (on the right), in place: truncate, or pad with "no event"
    and end a note still sounding with a note off at the old end."""
    if length <= len(events):
        del events[length:]
        return
    last_event = next((e for e in reversed(events) if e != MELODY_NO_EVENT), MELODY_NOTE_OFF)
    end = len(events)
    events.extend([MELODY_NO_EVENT] * (length - end))
    if last_event != MELODY_NOTE_OFF:
        events[end] = MELODY_NOTE_OFF


def one_melody(notes: list[Note], search_start: int, steps_per_bar: int, gap_bars: float) -> tuple[int, list[int]]:
    """``Melody.from_quantized_sequence`` on one instrument's notes: (start step, tokens)."""
    notes = sorted((n for n in notes if n.start_step >= search_start), key=lambda n: (n.start_step, -n.pitch))
    if not notes:
        return search_start, []
    melody_start = notes[0].start_step - (notes[0].start_step - search_start) % steps_per_bar
    events: list[int] = []
    for note in notes:
        if note.is_drum:
            continue
        start, end = note.start_step - melody_start, note.end_step - melody_start
        if events:
            last_on, last_off = _last_on_off(events)
            if start == last_on:  # a lower note starting with the kept one
                continue
            if start - last_off >= gap_bars * steps_per_bar:
                break
        _add_note(events, note.pitch + _PITCH_TO_TOKEN, start, end)
    if not events:
        return 0, []
    if events[-1] == MELODY_NOTE_OFF:
        events.pop()
    set_melody_length(events, len(events) + -len(events) % steps_per_bar)
    return melody_start, events


@dataclass(frozen=True, kw_only=True, eq=False)
class Line:
    """One extracted melody or drum track: ``tokens (n_steps,)`` int64 from bar-aligned ``start_step``."""

    tokens: np.ndarray
    start_step: int
    instrument: int | None  # the track it came from; None for drums (every drum track together)


def melody_lines(
    seq: NoteSequence,
    *,
    gap_bars: float | None = 1.0,
    max_bars: int | None = MAX_BARS,
    programs: Collection[int] | None = MELODY_PROGRAMS,
) -> list[Line]:
    """Magenta's melodies of one quantized section, each whole bars long, instrument by instrument.

    ``gap_bars=None`` never splits (MusicVAE's ``gap_bars or inf``); ``programs=None`` keeps every
    program (MusicVAE's 16-bar converter; the 2-bar ones keep 0..31).
    """
    steps_per_bar = seq.steps_per_bar
    gap = float("inf") if not gap_bars else gap_bars
    by_instrument: dict[int, list[Note]] = defaultdict(list)
    for note in melody_notes(seq.notes, programs):
        by_instrument[note.instrument].append(note)
    lines = []
    for instrument, instrument_notes in by_instrument.items():
        search_start = 0
        while True:
            start, events = one_melody(instrument_notes, search_start, steps_per_bar, gap)
            if not events:
                break
            search_start = start + len(events)  # already on a bar line (padded)
            if max_bars is not None and len(events) > max_bars * steps_per_bar:
                del events[max_bars * steps_per_bar :]
            lines.append(Line(tokens=np.array(events, dtype=np.int64), start_step=start, instrument=instrument))
    return lines


def drum_lines(seq: NoteSequence, *, gap_bars: float | None = 1.0, max_bars: int | None = MAX_BARS) -> list[Line]:
    """Magenta's drum tracks of one quantized section (every drum instrument together).

    Drum notes of pitches outside the 9 classes are dropped first (``DrumsConverter``), so they
    neither start a track nor bridge a gap.
    """
    steps_per_bar = seq.steps_per_bar
    gap = float("inf") if not gap_bars else gap_bars
    hits: dict[int, int] = defaultdict(int)
    for note in seq.notes:
        if note.is_drum and _DRUM_CLASS_OF_PITCH[note.pitch] >= 0:
            hits[note.start_step] |= int(_DRUM_BITS[_DRUM_CLASS_OF_PITCH[note.pitch]])
    onsets = sorted(hits)
    lines, search_start = [], 0
    while True:
        todo = [s for s in onsets if s >= search_start]
        if not todo:
            break
        track_start = todo[0] - (todo[0] - search_start) % steps_per_bar
        events: list[int] = []
        for step in todo:
            index = step - track_start
            if events and index - len(events) >= gap * steps_per_bar:
                break
            events.extend([0] * (index + 1 - len(events)))
            events[index] = hits[step]
        events.extend([0] * (-len(events) % steps_per_bar))
        search_start = track_start + len(events)
        if max_bars is not None and len(events) > max_bars * steps_per_bar:
            del events[max_bars * steps_per_bar :]
        lines.append(Line(tokens=np.array(events, dtype=np.int64), start_step=track_start, instrument=None))
    return lines


def slide(line: np.ndarray, n_steps: int, hop: int) -> np.ndarray:
    """Windows ``line[i - n_steps:i]`` for ``i = n_steps, n_steps + hop, ... <= len(line)``:
    ``(n_windows, n_steps, ...)`` (MusicVAE's ``slice_bars``); none if the line is shorter."""
    if len(line) < n_steps:
        return np.zeros((0, n_steps, *line.shape[1:]), dtype=line.dtype)
    view = np.lib.stride_tricks.sliding_window_view(line, n_steps, axis=0)[::hop]  # (n, ..., n_steps)
    return np.moveaxis(view, -1, 1).copy()
