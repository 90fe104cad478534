"""Unquantized notes cut at time-signature and tempo changes, then quantized per section.

This is note_seq's ``split_note_sequence_on_time_changes`` followed by
``quantize_note_sequence``, which MusicVAE's converters run on every sequence
(``presplit_on_time_changes=True``): the piece is cut wherever the meter or the tempo really
changes, each section starts its own bar grid at its first instant, notes belong to the
section their onset falls in and are cut at its end, and each section takes the meter and
tempo in force at its start (4/4 and 120 qpm before any). The readers (:mod:`.midi`) bring
times in seconds (MIDI, as note_seq) or in quarter notes (music21 scores); the arithmetic is
note_seq's in both, so MIDI files quantize bit for bit as Magenta's do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zspace.errors import DataError
from zspace.music.encoding import DEFAULT_QPM, Note, NoteSequence

QUANTIZE_CUTOFF = 0.5  # note_seq's QUANTIZE_CUTOFF: round to the nearest step, halves up


@dataclass(frozen=True, slots=True)
class RawNote:
    """A note before quantization; ``start`` / ``end`` in the reader's unit (seconds or quarters)."""

    pitch: int
    start: float
    end: float
    velocity: int
    program: int
    is_drum: bool
    instrument: int  # index of the track/part the note came from (note_seq's ``instrument``)


@dataclass(frozen=True, slots=True)
class TimeChange:
    """A time-signature (``meter=(n, d)``) or tempo (``qpm``) event at ``time``; one of the two is set."""

    time: float
    meter: tuple[int, int] | None = None
    qpm: float | None = None


def split_times(changes: Iterable[TimeChange], total_time: float) -> list[float]:
    """Section boundaries ``[0, t1, ..., total_time]``: note_seq's rule (splits inside notes too).

    Events at or after ``total_time`` are ignored; an event that repeats the meter or tempo in
    force is no change; two changes at one instant make one split.
    """
    meter, qpm = (4, 4), DEFAULT_QPM
    times = [0.0]
    for change in sorted((c for c in changes if c.time < total_time), key=lambda c: c.time):
        if (change.meter or meter) == meter and (change.qpm if change.qpm is not None else qpm) == qpm:
            continue
        if change.time > times[-1]:
            times.append(change.time)
        meter = change.meter or meter
        qpm = change.qpm if change.qpm is not None else qpm
    if total_time > times[-1]:
        times.append(total_time)
    return times


def _state_at(changes: Sequence[TimeChange], time: float) -> tuple[tuple[int, int], float]:
    """The meter and tempo in force at ``time`` (events at ``time`` count): note_seq's state events."""
    meter, qpm = (4, 4), DEFAULT_QPM
    for change in sorted(changes, key=lambda c: c.time):
        if change.time > time:
            break
        meter = change.meter or meter
        qpm = change.qpm if change.qpm is not None else qpm
    return meter, qpm


def _to_step(time: float, steps_per_unit: float) -> int:
    return int(time * steps_per_unit + (1 - QUANTIZE_CUTOFF))  # note_seq's quantize_to_step


def quantized_sections(
    notes: Sequence[RawNote],
    changes: Sequence[TimeChange],
    *,
    steps_per_quarter: int,
    unit: str,
    split: bool = True,
) -> list[NoteSequence]:
    """``notes`` cut at ``changes`` (if ``split``) and quantized, one sequence per section.

    ``unit`` is ``"seconds"`` (steps per unit = steps_per_quarter * qpm / 60 of the section, as
    note_seq) or ``"quarters"``. Without ``split`` the whole piece is one section with the first
    meter and tempo (``split_time_changes=False``, a departure). Sections whose meter note_seq rejects (a
    denominator not a power of two) are left out, as Magenta's converters skip them.
    """
    if unit not in ("seconds", "quarters"):
        raise ValueError(f"unit must be 'seconds' or 'quarters', got {unit!r}")
    total_time = max((n.end for n in notes), default=0.0)
    if total_time <= 0:
        return []
    if split:
        bounds = split_times(changes, total_time)
    else:
        bounds = [0.0, total_time]
        first = sorted(changes, key=lambda c: c.time)
        changes = [
            TimeChange(0.0, meter=next((c.meter for c in first if c.meter), (4, 4))),
            TimeChange(0.0, qpm=next((c.qpm for c in first if c.qpm is not None), DEFAULT_QPM)),
        ]
    by_start = sorted(notes, key=lambda n: n.start)
    sections = []
    i = 0
    for a, b in itertools.pairwise(bounds):
        (numerator, denominator), qpm = _state_at(changes, a)
        steps_per_unit = steps_per_quarter * qpm / 60.0 if unit == "seconds" else float(steps_per_quarter)
        quantized = []
        while i < len(by_start) and by_start[i].start < b:
            n = by_start[i]
            i += 1
            if n.start < a:
                continue
            start = _to_step(n.start - a, steps_per_unit)
            end = _to_step(min(n.end, b) - a, steps_per_unit)
            end = max(end, start + 1)  # note_seq: a note never quantizes to zero length
            velocity = min(max(int(n.velocity), 1), 127)
            quantized.append(Note(int(n.pitch), start, end, velocity, int(n.program), bool(n.is_drum), int(n.instrument)))
        section_end = max((min(n.end, b) for n in by_start if a <= n.start < b), default=a)
        total_steps = max(_to_step(section_end - a, steps_per_unit), max((q.end_step for q in quantized), default=0))
        try:
            sections.append(
                NoteSequence(
                    notes=tuple(quantized),
                    steps_per_quarter=steps_per_quarter,
                    qpm=float(qpm),
                    time_signature=(int(numerator), int(denominator)),
                    total_steps=total_steps,
                )
            )
        except DataError:  # a meter note_seq cannot quantize (BadTimeSignatureError): Magenta skips it
            continue
    return sections
