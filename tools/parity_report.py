"""Print the parity figures of docs/BENCHMARKS.md: ours vs note_seq's windows, per rule set.

Runs in the project venv (no note_seq needed): reads ``tests/music/fixtures/note_seq_windows.json``
(written by ``tools/note_seq_parity.py``) and the MIDI files beside it, and counts files whose
windows are identical and reference windows matched, for the defaults and for each departure.

    .venv/bin/python tools/parity_report.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zspace.music.corpus import PrepareConfig
from zspace.music.songs import SongRef, song_windows

FIXTURES = Path(__file__).resolve().parents[1] / "tests/music/fixtures"
CASES = {
    "melody_2bar": ("melody", 2, 2),
    "melody_16bar": ("melody", 16, 2),
    "drums_2bar": ("drums", 2, 3),
    "trio_16bar": ("trio", 16, 0),
}
RULES = {
    "magenta (default)": {},
    "skyline": {"melody": "skyline"},
    "every program": {"melody_programs": "all"},
    "programs 0-31": {"melody_programs": "0-31"},
    "no split on time changes": {"split_time_changes": False},
}


def hexes(window: np.ndarray, digits: int) -> str:
    """One window ``(n_steps, n_tracks)`` as the fixture spells it (trio: 2 + 2 + 3 digits a step)."""
    if digits:
        return "".join(f"{int(t):0{digits}x}" for t in window[:, 0])
    return "".join(f"{int(m):02x}{int(b):02x}{int(d):03x}" for m, b, d in window)


def main() -> None:
    reference = json.loads((FIXTURES / "note_seq_windows.json").read_text())["files"]
    for rule, overrides in RULES.items():
        identical = matched = total = ours_total = 0
        for name in sorted(reference):
            same = True
            for case, (kind, bars, digits) in CASES.items():
                rules = {k: v for k, v in overrides.items() if kind == "melody" or k != "melody"}  # skyline: melodies only
                spec = PrepareConfig(kind=kind, bars=bars, max_per_song=None, **rules)
                result = song_windows(SongRef(id=name, path=str(FIXTURES / "parity" / name), reader="midi"), spec)
                tokens = [] if result.tokens is None else np.asarray(result.tokens)
                ours = {hexes(w, digits) for w in tokens}
                theirs = set(reference[name][case])
                total, matched, ours_total = total + len(theirs), matched + len(theirs & ours), ours_total + len(ours)
                same &= ours == theirs
            identical += same
        print(
            f"{rule}: files identical {identical}/{len(reference)}, reference windows matched {matched}/{total}, ours {ours_total}"
        )


if __name__ == "__main__":
    main()
