"""The windows a :class:`~zspace.music.config.MusicConverter` cuts from a song or a user's file.

One code path for the training data (:func:`zspace.music.songs.song_windows`, run by
``zspace music prepare``), the files of ``encode`` / ``interpolate`` / ``attributes`` and the
browser's uploads: :func:`section_windows` cuts one quantized section by the converter's rules
(Magenta's converters, ``music_vae/data.py``: melodies per instrument from the converter's
programs, drums as one track, trios as ``TrioConverter``; :mod:`zspace.music.extract`,
:mod:`zspace.music.trio`), and each window says where it came from (section, line, MIDI track,
bar). Windows slide by one bar over every melody / drum line.

One departure for user files, so that a short file can still be encoded: with ``pad=True``
(:func:`midi_windows`) a line shorter than one window is padded with silence to a window
(Magenta drops it, and so does the training data). ``melody="skyline"`` (a departure of the
converter) takes the top voice over all tracks merged, split at silences, with all-silent
windows left out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from zspace.errors import ConfigError, DataError
from zspace.music.config import MusicConverter
from zspace.music.encoding import BASS_PROGRAMS, MELODY_MAX_PITCH, MELODY_MIN_PITCH, NoteSequence
from zspace.music.extract import MELODY_PROGRAMS, Line, drum_lines, melody_lines, set_melody_length, slide
from zspace.music.midi import read_midi_sections
from zspace.music.tokens import canonical_melody_tokens, extract_melodies
from zspace.music.trio import trio_windows


class Skip(Exception):
    """Why a section (or a song) gives no windows: ``reason`` a key of ``songs.SKIP_REASONS``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True, kw_only=True, eq=False)
class Window:
    """One window: ``tokens (n_steps, n_tracks)`` int64 and where it came from."""

    tokens: np.ndarray
    qpm: float  # tempo of its section
    section: int  # 0-based section of the file (cut at meter and tempo changes)
    start_bar: int | None  # 0-based bar of that section where the window starts (None: a trio window)
    line: int  # 0-based melody / drum line of the section it was cut from (skyline: 0; trio: the window's number)
    track: int | None  # MIDI track of that line; None when several tracks make it (drums, trio, skyline)
    padded: bool = False  # its line was shorter than a window: padded with silence

    @property
    def tag(self) -> str:
        """A short name for file names, e.g. ``s0_l1_bar05`` (section, line, first bar) or ``s0_w03`` (trio)."""
        if self.start_bar is None:
            return f"s{self.section}_w{self.line:02d}"
        return f"s{self.section}_l{self.line}_bar{self.start_bar + 1:02d}"

    def describe(self, bars: int) -> str:
        """Words for a message, e.g. ``line 1 (track 2), bars 5-6``."""
        section = f"section {self.section}, " if self.section else ""
        if self.start_bar is None:
            return f"{section}trio window {self.line}"
        where = f"line {self.line}" + (f" (track {self.track})" if self.track is not None else "")
        return f"{section}{where}, bars {self.start_bar + 1}-{self.start_bar + bars}" + (" (padded)" if self.padded else "")


def section_windows(
    seq: NoteSequence, converter: MusicConverter, *, section: int = 0, pad: bool = False, by_track: bool = False
) -> list[Window]:
    """Every window of one quantized section, line by line (in extraction order, as Magenta's
    converters; ``by_track``: track by track, in time), bar by bar.

    Raises :class:`Skip` when the section gives none (its meter, no melody, too short, ...).
    ``pad``: lines shorter than a window are padded to one (user files), not dropped.
    """
    bar = converter.steps_per_bar
    try:
        steps_per_bar = seq.steps_per_bar
    except DataError as err:  # a meter whose bars are not whole steps
        if converter.meter != "any":
            raise Skip("meter", str(err)) from err
        steps_per_bar = None
    if converter.meter == "4/4" and steps_per_bar != bar:
        num, den = seq.time_signature
        raise Skip("meter", f"{num}/{den} bars are {steps_per_bar} steps, not {bar} (--meter any keeps them)")
    if converter.meter == "any":  # departure: `bar`-step "bars" whatever the meter
        seq = replace(seq, time_signature=(bar, 4 * seq.steps_per_quarter))
    if converter.kind == "trio":
        return _trio_windows(seq, converter, section)
    lines = _lines(seq, converter)
    if by_track:
        lines.sort(key=lambda line: (line.instrument or 0, line.start_step))
    n, kind, skyline = converter.n_steps, converter.kind, converter.melody == "skyline"
    out = []
    for k, line in enumerate(lines):
        tokens, padded = line.tokens, pad and len(line.tokens) < n
        if padded and kind == "melody":  # departure: Magenta drops a line shorter than a window
            events = tokens.tolist()
            set_melody_length(events, n)  # a note still sounding ends where the line did
            tokens = np.array(events, dtype=np.int64)
        elif padded:
            tokens = np.pad(tokens, (0, n - len(tokens)))
        for i, window in enumerate(slide(tokens, n, bar)):
            if skyline:  # canonical note offs, silent windows left out
                window = canonical_melody_tokens(window)
                if not window.any():
                    continue
            out.append(Window(tokens=window[:, None], qpm=seq.qpm, section=section, line=k, track=line.instrument,
                              start_bar=line.start_step // bar + i, padded=padded))  # fmt: skip
    if not out:
        if skyline and any(len(line.tokens) >= n for line in lines):
            raise Skip("silent", f"every {converter.bars}-bar window is silent")
        longest = max(len(line.tokens) for line in lines) // bar
        what = "melody" if skyline else f"{kind} line"
        raise Skip("too_short", f"the longest {what} spans {longest} bar(s), windows need {converter.bars}")
    return out


def _lines(seq: NoteSequence, converter: MusicConverter) -> list[Line]:
    """The melody or drum lines of a section (Magenta's extractors, or the skyline departure)."""
    gap, max_bars = converter.gap_bars, converter.max_bars
    if converter.kind == "melody" and converter.melody == "skyline":  # every program, all tracks merged
        segments = extract_melodies(seq, gap_bars=gap)
        if not segments:
            raise Skip("no_melody", f"no non-drum notes in MIDI pitch {MELODY_MIN_PITCH}..{MELODY_MAX_PITCH}")
        return [Line(tokens=m.tokens, start_step=m.start_step, instrument=None) for m in segments]
    if converter.kind == "melody":
        lines = melody_lines(seq, gap_bars=gap, max_bars=max_bars, programs=converter.programs)
        if not lines:
            which = "any program" if converter.programs is None else "programs 0..31"
            raise Skip("no_melody", f"no notes of {which} in MIDI pitch {MELODY_MIN_PITCH}..{MELODY_MAX_PITCH}")
        return lines
    lines = drum_lines(seq, gap_bars=gap, max_bars=max_bars)
    if not lines:
        raise Skip("no_drums", "no notes of the 9 drum classes on the drum channel")
    return lines


def _trio_windows(seq: NoteSequence, converter: MusicConverter, section: int) -> list[Window]:
    """Magenta's TrioConverter windows (:mod:`zspace.music.trio`), each ``(n_steps, 3)``."""
    parts = {"drums" if x.is_drum else "melody" if x.program in MELODY_PROGRAMS else "bass" if x.program in BASS_PROGRAMS else ""
             for x in seq.notes}  # fmt: skip
    if "drums" not in parts:
        raise Skip("no_drums", "no notes on the drum channel")
    if "bass" not in parts:
        raise Skip("no_bass", f"no notes with a bass program ({BASS_PROGRAMS.start}..{BASS_PROGRAMS.stop - 1})")
    if "melody" not in parts:
        raise Skip("no_melody", "no notes of melody programs 0..31")
    tokens = trio_windows(seq, converter.bars)
    if not len(tokens):
        raise Skip("too_short", f"no {converter.bars} bars where a melody, a bass and a drum track all play")
    return [Window(tokens=t, qpm=seq.qpm, section=section, start_bar=None, line=i, track=None) for i, t in enumerate(tokens)]


def midi_windows(path: str | Path, converter: MusicConverter, *, track: int | None = None) -> list[Window]:
    """Every window of a user's MIDI file, in file order (section, line by track and time, bar).

    ``track``: only the notes of this MIDI track (0-based, as pretty_midi numbers them). Lines
    shorter than a window are padded (see the module doc). Raises DataError naming the file
    when it gives none, with the rule that left it empty.
    """
    if track is not None and track < 0:
        raise ConfigError(f"track must be a MIDI track number >= 0, got {track}")
    sections = read_midi_sections(path, split=converter.split_time_changes)
    windows: list[Window] = []
    for k, seq in enumerate(sections):
        if track is not None:
            seq = replace(seq, notes=tuple(n for n in seq.notes if n.instrument == track))
        try:
            found = section_windows(seq, converter, section=k, pad=True, by_track=True)
        except Skip:
            continue
        if track is not None and converter.melody == "skyline":  # the top voice of the one track read
            found = [replace(w, track=track) for w in found]
        windows += found
    if not windows:
        raise DataError(f"{path}: {_why_empty(sections, converter, track)}")
    return windows


def _bar_steps(seq: NoteSequence) -> int | None:
    """Steps per bar of a section, or None where its meter does not give whole steps."""
    try:
        return seq.steps_per_bar
    except DataError:
        return None


def _why_empty(sections: list[NoteSequence], converter: MusicConverter, track: int | None) -> str:
    """Why a file gave no windows, and the option that would change it."""
    where, bar, kind = "" if track is None else f" in track {track}", converter.steps_per_bar, converter.kind
    if not any(s.notes for s in sections):
        return "no notes"
    if converter.meter == "4/4" and all(_bar_steps(s) != bar for s in sections if s.notes):
        found = ", ".join(f"{n}/{d}" for n, d in sorted({s.time_signature for s in sections}))
        return f"no section has {bar}-step bars, its meters are {found}; --meter any cuts {bar}-step bars anyway"
    if kind == "melody" and converter.melody == "skyline":
        return f"no melody notes{where} in MIDI pitch 21..108 (the top voice of every program), or every window is silent"
    if kind == "melody":
        which = (
            "any program"
            if converter.programs is None
            else "programs 0..31 (Magenta's rule for 2-bar models; --melody-programs all takes every program)"
        )
        return f"no melody notes{where}: none of {which} in MIDI pitch 21..108"
    if kind == "drums":
        return f"no drum notes{where} of the 9 drum classes on the drum channel"
    return (
        f"no {converter.bars} bars{where} where a melody (programs 0..31), a bass (32..39) and a drum track "
        "all play (Magenta's trio rule)"
    )


__all__ = ["Skip", "Window", "midi_windows", "section_windows"]
