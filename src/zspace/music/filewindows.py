"""The windows of one user's MIDI file, cut as the data pipeline cuts a song (Magenta's converters).

``zspace music encode`` / ``interpolate`` / ``attributes`` and the browser read user files
through :func:`midi_windows`: the file is cut at its meter and tempo changes, only sections whose
bars have the model's steps per bar (16: 4/4 and 2/2) are used, melodies are extracted per
instrument (programs 0..31 for 2-bar models, every program for longer ones, as ``configs.py``), drums as one track, trios as
``TrioConverter`` has them (:mod:`zspace.music.extract`, :mod:`zspace.music.trio`, the code the
prepared data came from). Windows slide by one bar over every melody / drum line; each window
says where it came from (section, melody line, MIDI track, bar). The line-cutting settings are
Magenta's (a silence of a bar splits a line, at most 100 bars per line), as `music prepare`'s defaults.

One departure for user files, so that a short file can still be encoded: a line shorter than one
window is padded with silence to a window (Magenta drops it). ``melody="skyline"`` is the older
rule, kept as an option: the top voice over all tracks merged, section by section, split at
silences and with all-silent windows left out, as ``music prepare --melody skyline`` cuts its data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from zspace.errors import ConfigError, DataError
from zspace.music.encoding import STEPS_PER_BAR, STEPS_PER_QUARTER, Encoding, NoteSequence
from zspace.music.extract import MELODY_PROGRAMS, Line, drum_lines, melody_lines, set_melody_length, slide
from zspace.music.midi import read_midi_sections
from zspace.music.songs import MELODY_PROGRAM_RULES, MELODY_RULES, METERS, every_program
from zspace.music.tokens import canonical_melody_tokens, extract_melodies
from zspace.music.trio import trio_windows


@dataclass(frozen=True, kw_only=True)
class FileRules:
    """How a user's file becomes windows; the defaults are Magenta's converters."""

    melody: str = "magenta"  # per-instrument melodies | "skyline": top voice of all tracks merged (melody models)
    programs: str = "magenta"  # melody programs: "magenta" (0..31 for 2-bar windows, all for longer) | "0-31" | "all"
    track: int | None = None  # only the notes of this MIDI track (0-based, as pretty_midi numbers them)
    meter: str = "4/4"  # "4/4": sections whose bars have steps_per_bar steps only | "any": such bars cut from any meter
    steps_per_bar: int = STEPS_PER_BAR  # the model's (MusicVAEConfig.steps_per_bar): 16 for 4/4, e.g. 12 for 3/4

    def __post_init__(self) -> None:
        for name, valid in (("melody", MELODY_RULES), ("programs", MELODY_PROGRAM_RULES), ("meter", METERS)):
            if getattr(self, name) not in valid:
                raise ConfigError(f"{name} {getattr(self, name)!r} is not one of {', '.join(valid)}")
        if self.steps_per_bar < 1:
            raise ConfigError(f"steps_per_bar must be >= 1, got {self.steps_per_bar}")
        if self.track is not None and self.track < 0:
            raise ConfigError(f"track must be a MIDI track number >= 0, got {self.track}")

    def melody_programs(self, bars: int) -> range | None:
        """The GM programs melodies come from (None: every program), for windows of ``bars`` bars."""
        return None if every_program(self.programs, bars) else MELODY_PROGRAMS


@dataclass(frozen=True, kw_only=True, eq=False)
class FileWindow:
    """One window of a file: ``tokens (n_steps, n_tracks)`` int64 and where it came from."""

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


def midi_windows(path: str | Path, encoding: Encoding, n_steps: int, rules: FileRules = FileRules()) -> list[FileWindow]:
    """Every window of ``n_steps`` steps of a MIDI file, in file order (section, line, bar).

    Raises DataError naming the file when it gives none, with the rule that left it empty.
    """
    bar = rules.steps_per_bar
    if n_steps % bar:
        raise ConfigError(f"windows of {n_steps} steps are not whole {bar}-step bars")
    if rules.melody == "skyline" and encoding.name != "melody":
        raise ConfigError(f"melody 'skyline' applies to melody models; this one reads {encoding.name}")
    sections = read_midi_sections(path, steps_per_quarter=STEPS_PER_QUARTER)
    windows: list[FileWindow] = []
    meters = set()
    for k, seq in enumerate(sections):
        meters.add(seq.time_signature)
        if rules.meter == "any":  # departure, as prepare --meter any: bars of `bar` sixteenths whatever the meter
            seq = replace(seq, time_signature=(bar, 4 * STEPS_PER_QUARTER))
        elif _bar_steps(seq) != bar:
            continue
        if rules.track is not None:
            seq = replace(seq, notes=tuple(n for n in seq.notes if n.instrument == rules.track))
        windows += _section_windows(seq, k, encoding.name, n_steps, rules)
    if not windows:
        raise DataError(f"{path}: {_why_empty(sections, meters, encoding.name, n_steps, rules)}")
    return windows


def _section_windows(seq: NoteSequence, section: int, kind: str, n_steps: int, rules: FileRules) -> list[FileWindow]:
    bar = rules.steps_per_bar
    if kind == "trio":
        tokens = trio_windows(seq, n_steps // bar)
        return [
            FileWindow(tokens=t, qpm=seq.qpm, section=section, start_bar=None, line=i, track=None) for i, t in enumerate(tokens)
        ]
    skyline = kind == "melody" and rules.melody == "skyline"
    if skyline:  # the top voice of every track, as songs._skyline_windows (programs: every one)
        lines = [Line(tokens=m.tokens, start_step=m.start_step, instrument=rules.track) for m in extract_melodies(seq)]
    elif kind == "melody":
        lines = melody_lines(seq, programs=rules.melody_programs(n_steps // bar))
    else:
        lines = drum_lines(seq)
    lines.sort(key=lambda line: (line.instrument or 0, line.start_step))  # track by track, in time
    out = []
    for k, line in enumerate(lines):
        tokens, padded = line.tokens, len(line.tokens) < n_steps
        if padded and kind == "melody":  # departure: Magenta drops a line shorter than a window
            events = tokens.tolist()
            set_melody_length(events, n_steps)  # a note still sounding ends where the line did
            tokens = np.array(events, dtype=np.int64)
        elif padded:
            tokens = np.pad(tokens, (0, n_steps - len(tokens)))
        for i, window in enumerate(slide(tokens, n_steps, bar)):
            if skyline:  # as the training data: canonical note offs, silent windows left out
                window = canonical_melody_tokens(window)
                if not window.any():
                    continue
            out.append(FileWindow(tokens=window[:, None], qpm=seq.qpm, section=section, line=k, track=line.instrument,
                                  start_bar=line.start_step // bar + i, padded=padded))  # fmt: skip
    return out


def _bar_steps(seq: NoteSequence) -> int | None:
    """Steps per bar of a section, or None where its meter does not give whole steps."""
    try:
        return seq.steps_per_bar
    except DataError:
        return None


def _of_track(track: int | None) -> str:
    return "" if track is None else f" in track {track}"


def _why_empty(sections: list[NoteSequence], meters: set, kind: str, n_steps: int, rules: FileRules) -> str:
    """Why a file gave no windows, and the option that would change it."""
    track, bar = _of_track(rules.track), rules.steps_per_bar
    if not any(s.notes for s in sections):
        return "no notes"
    if rules.meter == "4/4" and all(_bar_steps(s) != bar for s in sections if s.notes):
        found = ", ".join(f"{n}/{d}" for n, d in sorted(meters))
        return f"no section has {bar}-step bars, its meters are {found}; --meter any cuts {bar}-step bars anyway"
    if kind == "melody" and rules.melody == "skyline":
        return f"no melody notes{track} in MIDI pitch 21..108 (the top voice of every program), or every window is silent"
    if kind == "melody":
        programs = rules.melody_programs(n_steps // bar)
        which = (
            "any program"
            if programs is None
            else "programs 0..31 (Magenta's rule for 2-bar models; --programs all takes every program)"
        )
        return f"no melody notes{track}: none of {which} in MIDI pitch 21..108"
    if kind == "drums":
        return f"no drum notes{track} of the 9 drum classes on the drum channel"
    return (
        f"no {n_steps // bar} bars{track} where a melody (programs 0..31), a bass (32..39) and a drum track "
        "all play (Magenta's trio rule)"
    )


__all__ = ["FileRules", "FileWindow", "midi_windows"]
