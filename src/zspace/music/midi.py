"""MIDI files and music21 scores to and from quantized :class:`NoteSequence` objects.

MIDI goes through ``pretty_midi`` (over ``mido``): it is maintained, resolves tempo maps and
time signatures into note times for us, and writes type-1 (multi-track) files with one
track per instrument, drums on channel 10. Both are optional dependencies (``pip install
'zspace[music]'``), imported when first needed so ``import zspace.music`` works without them.

Quantization counts beats, not seconds: a note's onset and offset are snapped to the nearest
of ``steps_per_quarter`` steps per quarter note using the file's ticks, so a file with tempo
changes keeps its rhythm; the first tempo becomes ``qpm``. A note that snaps to zero length
still lasts one step. Trailing silence after the last note is not kept.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zspace.errors import DataError, ZspaceError
from zspace.music.encoding import DEFAULT_QPM, DEFAULT_VELOCITY, STEPS_PER_QUARTER, Note, NoteSequence
from zspace.music.sections import RawNote, TimeChange, quantized_sections

WRITE_RESOLUTION = 480  # ticks per quarter note in written files: exact for 1..480 steps per quarter
_MIDI_HEADER = b"MThd"


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise ZspaceError(f"{module} is needed for MIDI and score I/O; install it with pip install 'zspace[music]'") from err


def _step(quarters: float, steps_per_quarter: int) -> int:
    """Nearest step to a position in quarter notes (halves round up, as a listener would)."""
    return math.floor(quarters * steps_per_quarter + 0.5)


def _quantized(raw: Iterable[tuple[int, float, float, int, int, bool, int]], steps_per_quarter: int) -> list[Note]:
    """Notes from ``(pitch, start, end, velocity, program, is_drum, instrument)``, times in quarters.

    Zero-length notes after snapping get one step; notes of one track snapping onto the same
    onset with the same pitch merge into the longest of them.
    """
    merged: dict[tuple[int, int, int, bool, int], Note] = {}
    for pitch, start, end, velocity, program, is_drum, instrument in raw:
        s = max(_step(start, steps_per_quarter), 0)
        e = max(_step(end, steps_per_quarter), s + 1)
        note = Note(int(pitch), s, e, int(min(max(velocity, 1), 127)), int(program), bool(is_drum), int(instrument))
        key = (note.pitch, s, note.program, note.is_drum, note.instrument)
        if key not in merged or merged[key].end_step < e:
            merged[key] = note
    return list(merged.values())


def _load_pretty_midi(path: str | Path) -> Any:
    """A checked ``pretty_midi.PrettyMIDI`` of ``path``; a bad file is a DataError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such MIDI file; check the path")
    with path.open("rb") as f:
        header = f.read(len(_MIDI_HEADER))
    if not header:
        raise DataError(f"{path}: the file is empty (0 bytes); re-export or re-download it")
    if header != _MIDI_HEADER:
        raise DataError(f"{path}: not a MIDI file (it does not start with the 'MThd' header); pass a .mid/.midi file")
    mido = _require("mido")
    pretty_midi = _require("pretty_midi")
    try:
        midi_file = mido.MidiFile(str(path))
    except Exception as err:  # mido raises OSError, EOFError, KeyError, ValueError... on bad bytes
        reason = str(err) or "unexpected end of data"
        raise DataError(f"{path}: corrupt MIDI file ({type(err).__name__}: {reason}); re-export it") from err
    if midi_file.type == 2:
        raise DataError(
            f"{path}: type-2 MIDI files (independent sequences) are unsupported; save it as type 0 or 1 in a sequencer"
        )
    try:
        return pretty_midi.PrettyMIDI(mido_object=midi_file)
    except Exception as err:  # pretty_midi's own sanity checks (e.g. absurd tick counts)
        raise DataError(f"{path}: unreadable MIDI file ({type(err).__name__}: {err}); re-export it") from err


def read_midi(path: str | Path, *, steps_per_quarter: int = STEPS_PER_QUARTER) -> NoteSequence:
    """Read a type-0 or type-1 MIDI file as one quantized sequence.

    Keeps every note with its velocity, GM program, drum flag and track (``instrument``), the
    first tempo and the first time signature (4/4 if none); notes of one track snapping onto
    the same onset and pitch merge into the longest. For training data use
    :func:`read_midi_sections`, which splits at meter and tempo changes as Magenta does. A
    missing, empty, non-MIDI, corrupt or type-2 file raises :class:`DataError` naming the path.
    """
    pm = _load_pretty_midi(path)
    ticks_per_quarter = pm.resolution

    def quarters(seconds: float) -> float:
        return pm.time_to_tick(seconds) / ticks_per_quarter

    raw = (
        (n.pitch, quarters(n.start), quarters(n.end), n.velocity, inst.program, inst.is_drum, k)
        for k, inst in enumerate(pm.instruments)
        for n in inst.notes
    )
    _, tempi = pm.get_tempo_changes()
    signatures = sorted(pm.time_signature_changes, key=lambda ts: ts.time)
    return NoteSequence(
        notes=tuple(_quantized(raw, steps_per_quarter)),
        steps_per_quarter=steps_per_quarter,
        qpm=float(tempi[0]) if len(tempi) else DEFAULT_QPM,
        time_signature=(signatures[0].numerator, signatures[0].denominator) if signatures else (4, 4),
    )


def read_midi_sections(path: str | Path, *, steps_per_quarter: int = STEPS_PER_QUARTER, split: bool = True) -> list[NoteSequence]:
    """A MIDI file as note_seq reads it for MusicVAE: cut at every time-signature and tempo
    change, each section quantized from its own start (:mod:`zspace.music.sections`).

    Notes keep their track index as ``instrument`` (pretty_midi's instruments, as note_seq's
    ``midi_to_note_sequence``); identical notes are kept, never merged. ``split=False``: one
    section with the first meter and tempo. Errors as :func:`read_midi`.
    """
    pm = _load_pretty_midi(path)
    notes = [
        RawNote(n.pitch, n.start, n.end, n.velocity, inst.program, inst.is_drum, k)
        for k, inst in enumerate(pm.instruments)
        for n in inst.notes
    ]
    times, tempi = pm.get_tempo_changes()
    changes = [TimeChange(float(t), qpm=float(q)) for t, q in zip(times, tempi)]
    changes += [TimeChange(float(ts.time), meter=(ts.numerator, ts.denominator)) for ts in pm.time_signature_changes]
    return quantized_sections(notes, changes, steps_per_quarter=steps_per_quarter, unit="seconds", split=split)


def write_midi(seq: NoteSequence, path: str | Path) -> Path:
    """Write ``seq`` as a type-1 MIDI file at tempo ``seq.qpm``, with its time signature.

    One track per (program, drum) pair; parent directories are created. Returns the path.
    Tempo is stored in whole microseconds per quarter, so ``qpm`` reads back to ~1e-5 relative.
    """
    pretty_midi = _require("pretty_midi")
    path = Path(path)
    pm = pretty_midi.PrettyMIDI(resolution=WRITE_RESOLUTION, initial_tempo=float(seq.qpm))
    numerator, denominator = seq.time_signature
    pm.time_signature_changes.append(pretty_midi.TimeSignature(numerator, denominator, 0.0))
    tracks: dict[tuple[bool, int], list[Note]] = defaultdict(list)
    for note in seq.notes:
        tracks[(note.is_drum, note.program)].append(note)
    seconds = seq.seconds_per_step
    for (is_drum, program), notes in sorted(tracks.items()):
        name = "Drums" if is_drum else pretty_midi.program_to_instrument_name(program)
        instrument = pretty_midi.Instrument(program=program, is_drum=is_drum, name=name)
        instrument.notes = [
            pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=n.start_step * seconds, end=n.end_step * seconds)
            for n in notes
        ]
        pm.instruments.append(instrument)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        pm.write(str(path))
    except OSError as err:
        raise DataError(f"{path}: cannot write the MIDI file ({err}); check the directory's permissions") from err
    return path


def _music21_parts(score: Any) -> tuple[Any, float, list[Any]]:
    """(score with ties merged, pickup padding in quarters, parts) of a Score or Part."""
    stream = _require("music21").stream
    if isinstance(score, stream.Opus):
        raise DataError(f"{score!r} is an Opus of {len(score.scores)} scores; convert each of opus.scores")
    if not isinstance(score, stream.Stream):
        raise TypeError(f"from_music21 needs a music21 Stream (Score or Part), got {type(score).__name__}")
    score = score.stripTies(inPlace=False)
    first_measure = score.recurse().getElementsByClass("Measure").first()
    pickup = float(first_measure.paddingLeft) if first_measure is not None else 0.0
    return score, pickup, list(score.parts) if score.hasPartLikeStreams() else [score]


def _music21_notes(parts: list[Any], pickup: float) -> Iterable[tuple[int, float, float, int, int, bool, int]]:
    """``(pitch, start, end, velocity, program, is_drum, instrument)`` in quarters, part k = instrument k."""
    for k, part in enumerate(parts):
        instrument = part.getInstrument(returnDefault=False)
        program = (instrument.midiProgram if instrument is not None else None) or 0
        for element in part.flatten().notes:
            length = float(element.quarterLength)
            if length <= 0:  # grace notes take no time of their own
                continue
            start = float(element.offset) + pickup
            velocity = element.volume.velocity if element.volume.velocity is not None else DEFAULT_VELOCITY
            for pitch in getattr(element, "pitches", ()):
                yield pitch.midi, start, start + length, velocity, program, False, k


def from_music21(score: Any, *, steps_per_quarter: int = STEPS_PER_QUARTER) -> NoteSequence:
    """A quantized sequence of a music21 score or part (e.g. ``music21.corpus.parse(...)``).

    Onsets and ends are ``offset * steps_per_quarter`` rounded to the nearest step, after
    tied notes are merged and a pickup bar is padded so bar lines fall on whole bars. Part k's
    notes get ``instrument=k`` and its instrument's MIDI program (0 if unset); grace notes,
    unpitched percussion and repeats (not expanded) are left out. Tempo is the first metronome
    mark (120 if none), the meter the first time signature (4/4 if none); for training data use
    :func:`music21_sections`, which splits at every change.
    """
    score, pickup, parts = _music21_parts(score)
    marks = score.recurse().getElementsByClass("MetronomeMark")
    bpm = marks.first().getQuarterBPM() if marks.first() is not None else None
    signature = score.recurse().getElementsByClass("TimeSignature").first()
    return NoteSequence(
        notes=tuple(_quantized(_music21_notes(parts, pickup), steps_per_quarter)),
        steps_per_quarter=steps_per_quarter,
        qpm=float(bpm) if bpm else DEFAULT_QPM,
        time_signature=(signature.numerator, signature.denominator) if signature is not None else (4, 4),
    )


def music21_sections(
    score: Any, *, steps_per_quarter: int = STEPS_PER_QUARTER, split: bool = True, expand_repeats: bool = False
) -> list[NoteSequence]:
    """A music21 score cut at every time-signature and metronome-mark change, each section
    quantized from its own start (as :func:`read_midi_sections` does for MIDI).

    Times are quarter notes from the first bar line (a pickup is padded to a whole bar, and a
    meter given at the pickup counts from time 0). ``expand_repeats`` first writes out repeats
    with music21's ``expandRepeats`` (a score whose repeat marks it cannot resolve is read as
    written). Notes are never merged.
    """
    if expand_repeats:
        with contextlib.suppress(Exception):  # music21 raises many types on repeat marks it cannot resolve
            score = score.expandRepeats()
    score, pickup, parts = _music21_parts(score)
    notes = [RawNote(*n) for n in _music21_notes(parts, pickup)]
    flat = score.flatten()

    def at(element: Any) -> float:
        offset = float(element.offset)
        return offset + pickup if offset > 0 else 0.0

    changes = [TimeChange(at(ts), meter=(ts.numerator, ts.denominator)) for ts in flat.getElementsByClass("TimeSignature")]
    changes += [
        TimeChange(at(m), qpm=float(m.getQuarterBPM())) for m in flat.getElementsByClass("MetronomeMark") if m.getQuarterBPM()
    ]
    return quantized_sections(notes, changes, steps_per_quarter=steps_per_quarter, unit="quarters", split=split)
