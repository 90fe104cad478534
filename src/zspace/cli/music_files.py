"""What ``zspace music`` writes and says: the prepare report, decoded windows as MIDI (+ PNG, WAV)
files, notes when a decode is silent, and which windows of a user's file were read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from zspace.cli.common import console
from zspace.music.songs import SKIP_REASONS, SPLITS

if TYPE_CHECKING:
    import numpy as np

    from zspace.music.config import MusicConverter
    from zspace.music.corpus import PrepareReport
    from zspace.music.data import Window
    from zspace.music.encoding import Encoding

__all__ = ["command_words", "describe_windows", "pick_window", "read_windows", "report_table", "warn_if_silent", "write_windows"]


def write_windows(
    encoding: Encoding, tokens: np.ndarray, out: Path, stems: Sequence[str], *, qpm: Sequence[float] | float, png: bool, wav: bool
) -> int:
    """``out/STEM.mid`` per window ``tokens (n, n_steps, n_tracks)``, plus ``.png`` / ``.wav``; returns the file count."""
    from zspace.music.audio import render_wav
    from zspace.music.figures import piano_roll
    from zspace.music.generate import write_samples

    write_samples(encoding, tokens, out, qpm=qpm, stems=stems)
    tempi = [qpm] * len(tokens) if isinstance(qpm, (int, float)) else list(qpm)
    for stem, window, tempo in zip(stems, tokens, tempi):
        if png:
            piano_roll(window, out / f"{stem}.png", encoding=encoding, title=stem)
        if wav:
            render_wav(encoding.decode(window, float(tempo)), out / f"{stem}.wav")
    return len(tokens) * (1 + png + wav)


def warn_if_silent(encoding: Encoding, tokens: np.ndarray, run: Path, checkpoint: str) -> None:
    """Warn when decoded windows hold no notes at all, and say how far the checkpoint was trained.

    A "best" checkpoint chosen early (highest validation ELBO at step 15 of 150, say) often
    decodes greedily to all rests: silent MIDI files, which look like a bug.
    """
    silent = sum(1 for window in tokens if not encoding.decode(window, 120.0).notes)
    if not silent:
        return
    from zspace.train.checkpoint import latest_checkpoint, resolve_checkpoint

    used, last = resolve_checkpoint(run, checkpoint).name, latest_checkpoint(run)
    trained = f"checkpoint {used} of {last.name if last else '?'}"
    console.print(
        f"[yellow]warning:[/] {silent} of {len(tokens)} decoded windows are silent (no notes) with {trained}; "
        "an early checkpoint decodes to rests: try --checkpoint last, --no-greedy, or train longer"
    )


def read_windows(files: Sequence[Path], converter: MusicConverter, track: int | None = None) -> list[tuple[Path, list[Window]]]:
    """Every window of each file, cut by ``converter`` (the run's, as its training data was), file by file."""
    from zspace.music.data import midi_windows

    return [(f, midi_windows(f, converter, track=track)) for f in files]


def describe_windows(read: Sequence[tuple[Path, Sequence[Window]]], bars: int) -> None:
    """One line per file: how many windows, from which lines and tracks, first and last."""
    for f, windows in read:
        lines = sorted({(w.section, w.line, w.track) for w in windows if w.start_bar is not None})
        tracks = sorted({w.track for w in windows if w.track is not None})
        parts = f"{len(lines)} line(s)" + (f" of track(s) {', '.join(map(str, tracks))}" if tracks else "") if lines else "trio"
        padded = " (shorter than a window: padded with silence)" if any(w.padded for w in windows) else ""
        span = windows[0].describe(bars) + (f" .. {windows[-1].describe(bars)}" if len(windows) > 1 else "")
        console.print(f"{f.name}: {len(windows)} window(s) from {parts}: {span}{padded}")


def pick_window(f: Path, windows: Sequence[Window], index: int, bars: int, option: str) -> Window:
    """Window ``index`` of a file's windows; says which when the file gives several."""
    from zspace.errors import ConfigError

    if not -len(windows) <= index < len(windows):
        raise ConfigError(f"{option} {index}: {f.name} gives {len(windows)} window(s), numbered 0..{len(windows) - 1}")
    chosen = windows[index]
    if len(windows) > 1:
        console.print(
            f"[yellow]note:[/] {f.name} gives {len(windows)} windows; using number {index % len(windows)}, "
            f"{chosen.describe(bars)} (pick another with {option} or --track; `zspace music encode` lists them)"
        )
    return chosen


def command_words(name: str, value: Any) -> list[str]:
    """The command-line words that set option ``name`` to ``value`` (booleans as --x / --no-x)."""
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return [f"--{flag}" if value else f"--no-{flag}"]
    return [f"--{flag}", str(value)]


def report_table(report: PrepareReport, bars: int) -> Table:
    """The end-of-run report: songs read and skipped (why, with an example), windows per split."""
    unit = report.unit
    table = Table(title=f"{report.kind} windows of {bars} bars from {report.source}", header_style="bold")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_column("detail")
    rows: list[tuple[str, Any, str]] = [
        (f"{unit}s listed", report.songs_listed, f"{report.songs_per_s:.1f} {unit}s/s, {report.seconds:.1f} s"),
        (f"{unit}s read", report.songs_read, ""),
    ]
    for reason, count in sorted(report.skipped.items(), key=lambda kv: -kv[1]):
        words = f"too short for {bars} bars" if reason == "too_short" else SKIP_REASONS.get(reason, reason)
        hint = " (--meter any keeps them)" if reason == "meter" else ""
        rows.append((f"skipped: {words}{hint}", count, (report.skip_examples.get(reason) or ("",))[0]))
    for split in SPLITS:
        rows.append((f"{split} windows", report.windows[split], f"from {report.songs[split]} {unit}s"))
    rows += [
        ("duplicates dropped", report.duplicates_dropped, "windows equal to an earlier one (train first)"),
        ("over the per-song cap", report.capped_dropped, "distinct windows left out by --max-per-song"),
    ]
    if report.augmented:
        rows.append(("transposed copies", report.augmented, "added to train"))
    for source, counts in report.windows_per_source.items():
        rows.append((f"windows from {source}", sum(counts.values()), " / ".join(f"{counts[s]} {s}" for s in SPLITS)))
    for name, count, detail in rows:
        table.add_row(name, str(count), detail)
    return table
