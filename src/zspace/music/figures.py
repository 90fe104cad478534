"""Piano-roll figures of MusicVAE windows: one window, a grid of samples, an interpolation path.

A window is either tokens ``(n_steps, n_tracks)`` of an encoding (pass ``encoding=``) or a
:class:`~zspace.music.encoding.NoteSequence`. Each window is drawn as one panel per part,
stacked: ``melody`` and ``bass`` as pitch-vs-time bars, ``drums`` as one row per drum class
(:data:`DRUM_CLASS_NAMES`). Melody windows have one panel, drums one, trio three.

Matplotlib is imported inside the functions (``import zspace.music`` stays light) and used
through ``matplotlib.figure.Figure`` and its Agg canvas, never ``pyplot``, so no global state
changes. Figures use constrained layout at a fixed size instead of a tight bounding box, so a
PNG is exactly ``columns * CELL_INCHES[0] * DPI`` by ``panels * CELL_INCHES[1] * DPI`` pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zspace.errors import ConfigError
from zspace.music.encoding import BASS_PROGRAMS, DRUM_CLASS_NAMES, DRUM_PITCH_CLASSES, Encoding, Note, NoteSequence, get_encoding

DPI = 100
CELL_INCHES = (6.0, 1.8)  # one part of one window: wide enough for 16 bars' ticks, short enough to stack 8
PART_COLORS = {"melody": "#1f77b4", "bass": "#2ca02c", "drums": "#d62728"}
ENCODING_PARTS = {"melody": ("melody",), "drums": ("drums",), "trio": ("melody", "bass", "drums")}
_DRUM_ROW = {pitch: k for k, pitches in enumerate(DRUM_PITCH_CLASSES) for pitch in pitches}

Window = np.ndarray | NoteSequence


def _part(note: Note) -> str:
    return "drums" if note.is_drum else "bass" if note.program in BASS_PROGRAMS else "melody"


def _parts(window: Window, encoding: Encoding | str | None) -> tuple[list[tuple[str, list[Note]]], int]:
    """The window's panels ``[(part, notes)]`` and its length in steps."""
    if isinstance(window, NoteSequence):
        seq = window
        names = [p for p in ENCODING_PARTS["trio"] if any(_part(n) == p for n in seq.notes)] or ["melody"]
    else:
        if encoding is None:
            raise ConfigError("a piano roll of tokens needs encoding= (melody, drums or trio) to read them")
        encoding = get_encoding(encoding) if isinstance(encoding, str) else encoding
        seq = encoding.decode(np.asarray(window, dtype=np.int64))
        names = list(ENCODING_PARTS[encoding.name])
    return [(p, [n for n in seq.notes if _part(n) == p]) for p in names], max(1, seq.total_steps)


def _draw_part(ax: Any, part: str, notes: list[Note], n_steps: int, steps_per_bar: int) -> None:
    starts = np.array([n.start_step for n in notes], dtype=float)
    if part == "drums":
        rows = np.array([_DRUM_ROW.get(n.pitch, 0) for n in notes])
        ax.barh(rows, np.ones(len(notes)), left=starts, height=0.8, color=PART_COLORS[part], align="center")
        ax.set_ylim(-0.6, len(DRUM_CLASS_NAMES) - 0.4)
        ax.set_yticks(range(len(DRUM_CLASS_NAMES)), DRUM_CLASS_NAMES, fontsize=6)
    else:
        pitches = np.array([n.pitch for n in notes])
        widths = np.array([n.end_step - n.start_step for n in notes], dtype=float)
        ax.barh(pitches, widths, left=starts, height=0.8, color=PART_COLORS[part], align="center")
        low, high = (int(pitches.min()), int(pitches.max())) if notes else (60, 72)
        pad = max(1, (12 - (high - low)) // 2)  # show at least an octave, so steps read as steps
        ax.set_ylim(low - pad - 0.5, high + pad + 0.5)
        cs = [p for p in range(low - pad, high + pad + 1) if p % 12 == 0]
        ax.set_yticks(cs, [f"C{p // 12 - 1}" for p in cs], fontsize=7)
    ax.set_ylabel(part, fontsize=8)
    for step in range(0, n_steps + 1, steps_per_bar // 4):
        ax.axvline(step, color="0.55" if step % steps_per_bar == 0 else "0.88", linewidth=0.7, zorder=0)
    ax.set_xlim(0, n_steps)
    bars = range(0, n_steps, steps_per_bar)
    ax.set_xticks(list(bars), [str(b // steps_per_bar + 1) for b in bars], fontsize=7)


def _grid(windows: Sequence[Window], path: str | Path, *, ncol: int, titles: Sequence[str] | None, encoding: Any) -> Path:
    from matplotlib.figure import Figure

    if not len(windows):
        raise ConfigError("nothing to draw: pass at least one window")
    if titles is not None and len(titles) != len(windows):
        raise ConfigError(f"got {len(titles)} titles for {len(windows)} windows")
    cells = [_parts(w, encoding) for w in windows]
    ncol = max(1, min(ncol, len(cells)))
    nrow = -(-len(cells) // ncol)
    n_panels = max(len(parts) for parts, _ in cells)
    fig = Figure(figsize=(ncol * CELL_INCHES[0], nrow * n_panels * CELL_INCHES[1]), dpi=DPI, layout="constrained")
    subfigs = fig.subfigures(nrow, ncol, squeeze=False)
    for i, (parts, n_steps) in enumerate(cells):
        sub = subfigs[i // ncol, i % ncol]
        axes = sub.subplots(len(parts), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (part, notes) in zip(axes, parts):
            _draw_part(ax, part, notes, n_steps, 16)
        axes[-1].set_xlabel("bar", fontsize=7)
        if titles is not None:
            sub.suptitle(titles[i], fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def piano_roll(window: Window, path: str | Path, *, encoding: Encoding | str | None = None, title: str | None = None) -> Path:
    """One window as a piano roll PNG (one panel per part, stacked); returns ``path``."""
    return _grid([window], path, ncol=1, titles=None if title is None else [title], encoding=encoding)


def piano_roll_grid(
    windows: Sequence[Window] | np.ndarray,
    path: str | Path,
    *,
    encoding: Encoding | str | None = None,
    ncol: int = 2,
    titles: Sequence[str] | None = None,
) -> Path:
    """Windows (tokens ``(n, n_steps, n_tracks)`` or sequences) in a grid of ``ncol`` columns,
    row-major, titled ``titles`` (default ``sample 0``, ``sample 1``, ...)."""
    titles = [f"sample {i}" for i in range(len(windows))] if titles is None else titles
    return _grid(list(windows), path, ncol=ncol, titles=titles, encoding=encoding)


def interpolation_figure(
    path_windows: Sequence[Window] | np.ndarray, path: str | Path, *, encoding: Encoding | str | None = None
) -> Path:
    """An interpolation path ``(steps, n_steps, n_tracks)``, one row per point, top to bottom,
    titled with its fraction along the path; the first row is labelled A, the last B."""
    n = len(path_windows)
    titles = [f"t = {i / max(1, n - 1):.2f}" for i in range(n)]
    if n:
        titles[0] += "  (A: start)"
        titles[-1] += "  (B: end)" if n > 1 else ""
    return _grid(list(path_windows), path, ncol=1, titles=titles, encoding=encoding)


__all__ = ["CELL_INCHES", "DPI", "interpolation_figure", "piano_roll", "piano_roll_grid"]
