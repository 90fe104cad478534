"""Quantized notes and note sequences: the data model of :mod:`zspace.music`.

Time is counted in steps: 4 per quarter note, 16 per 4/4 bar (Roberts et al. 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zspace.errors import DataError

STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16  # 4/4 at 4 steps per quarter: MusicVAE's bar
DEFAULT_QPM = 120.0
DEFAULT_VELOCITY = 80  # Magenta's OUTPUT_VELOCITY


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
