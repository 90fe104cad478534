"""Our MusicVAE windows against note_seq's own, on a fixed set of MIDI files.

``tools/note_seq_parity.py`` (run in a venv with the ``parity`` extra) wrote the MIDI files
under ``fixtures/parity/`` and the windows note_seq and Magenta's converters give for them
into ``fixtures/note_seq_windows.json``; here zspace's pipeline reads the same files and must
give the same windows (2- and 16-bar melody, 2-bar drums, 16-bar trio), compared as sets,
file by file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zspace.music.corpus import PrepareConfig
from zspace.music.songs import SongRef, song_windows

pytest.importorskip("pretty_midi")

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "note_seq_windows.json").read_text())
FILES = sorted(REFERENCE["files"])
CASES = {
    "melody_2bar": ("melody", 2, 2),
    "melody_16bar": ("melody", 16, 2),
    "drums_2bar": ("drums", 2, 3),
    "trio_16bar": ("trio", 16, 0),  # per step: melody (2 hex digits), bass (2), drums (3)
}


def our_windows(name: str, case: str) -> list[str]:
    """Our windows of one file as note_seq_parity.py's hex strings, sorted."""
    kind, bars, digits = CASES[case]
    path = FIXTURES / "parity" / name
    spec = PrepareConfig(kind=kind, bars=bars, max_per_song=None)  # the defaults are Magenta's
    result = song_windows(SongRef(id=name, path=str(path), reader="midi"), spec)
    if result.tokens is None:
        return []
    return sorted(hexes(w, digits) for w in np.asarray(result.tokens))


def hexes(window: np.ndarray, digits: int) -> str:
    """One window ``(n_steps, n_tracks)`` as the fixture spells it."""
    if digits:
        return "".join(f"{int(t):0{digits}x}" for t in window[:, 0])
    return "".join(f"{int(m):02x}{int(b):02x}{int(d):03x}" for m, b, d in window)


def test_the_file_set_covers_the_cases_the_issue_names() -> None:
    assert len(FILES) >= 12
    for fragment in ("multitrack_leads", "polyphonic", "meter_changes", "tempo_changes", "pickup", "drums_only", "bach"):
        assert any(fragment in f for f in FILES), fragment
    total = {case: sum(len(REFERENCE["files"][f][case]) for f in FILES) for case in CASES}
    assert total["melody_2bar"] > 100 and total["drums_2bar"] > 10 and total["melody_16bar"] > 50 and total["trio_16bar"] > 50
    assert sum(1 for f in FILES if REFERENCE["files"][f]["trio_16bar"]) >= 4  # trio parity is not one file's


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("name", FILES)
def test_windows_match_note_seq(name: str, case: str) -> None:
    reference = REFERENCE["files"][name][case]
    ours = our_windows(name, case)
    missing, extra = sorted(set(reference) - set(ours)), sorted(set(ours) - set(reference))
    assert not missing and not extra, f"{name} {case}: {len(missing)} of note_seq's windows missing, {len(extra)} extra"
