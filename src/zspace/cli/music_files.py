"""What ``zspace music`` writes and says about decoded windows: MIDI (+ PNG, WAV) files, and
notes when a decode is silent or only part of a file was encoded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from zspace.cli.common import console

if TYPE_CHECKING:
    import numpy as np

    from zspace.music.encoding import Encoding

__all__ = ["note_unencoded_bars", "warn_if_silent", "write_windows"]


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


def note_unencoded_bars(files: Sequence[Path], n_steps: int, steps_per_bar: int) -> None:
    """Say which files are longer than the one window that was encoded (one code per file)."""
    from zspace.music.encoding import STEPS_PER_QUARTER
    from zspace.music.midi import read_midi

    for f in files:
        total = read_midi(f, steps_per_quarter=STEPS_PER_QUARTER).total_steps or 0
        if total > n_steps:
            console.print(
                f"[yellow]note:[/] {f.name} has {-(-total // steps_per_bar)} bars; only its first "
                f"{n_steps // steps_per_bar} (one window of this model) were encoded"
            )
