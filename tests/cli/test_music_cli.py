"""``zspace music prepare`` through the command line: a run, its outputs, one-line errors."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from zspace.cli.music import app as music_app
from zspace.music import Note, NoteSequence, write_midi
from zspace.music.corpus import load_prepared

pytest.importorskip("pretty_midi")
runner = CliRunner()
app = typer.Typer()  # the top-level app as cli/main.py mounts it
app.add_typer(music_app, name="music")


def songs(root, n=3):
    """``n`` 4-bar melodies (no bar shared between them) and one corrupt file."""
    for k in range(n):
        notes = [
            Note(48 + 4 * k + b + d, 16 * b + 4 * i, 16 * b + 4 * i + 3) for b in range(4) for i, d in enumerate((0, 2, 4, 7))
        ]
        write_midi(NoteSequence(notes=notes), root / f"song{k}.mid")
    (root / "broken.mid").write_bytes(b"MThd\x00\x00")
    return root


def test_prepare_from_a_midi_folder(tmp_path):
    out = tmp_path / "data" / "mel2.npz"
    args = ["music", "prepare", "--midi-dir", str(songs(tmp_path / "midi")), "--kind", "melody", "--bars", "2"]
    result = runner.invoke(app, [*args, "--out", str(out), "--workers", "1", "--seed", "3", "--valid-fraction", "0"])
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert "train windows" in result.output and "skipped: corrupt" in result.output
    data = load_prepared(out, kind="melody", bars=2)
    assert sum(len(t) for t in data.tokens.values()) == 3 * 3
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["command"].startswith("zspace music prepare --out ") and "--seed 3" in manifest["command"]
    assert manifest["config"]["seed"] == 3 and manifest["skipped"] == {"corrupt": 1}


def test_prepare_from_music21(tmp_path):
    pytest.importorskip("music21")
    out = tmp_path / "essen.npz"
    args = ["music", "prepare", "--corpus", "music21:essenFolksong", "--limit", "3", "--meter", "any", "--workers", "1"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_prepared(out).manifest["songs_listed"] == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give exactly one source"),
        (["--corpus", "music21:bach", "--midi-dir", "."], "give exactly one source"),
        (["--corpus", "bach"], "is not music21:NAME"),
        (["--midi-dir", "no/such/dir"], "no such directory"),
        (["--midi-dir", ".", "--kind", "piano"], "kind 'piano' is not one of melody, drums, trio"),
        (["--midi-dir", ".", "--bars", "0"], "bars must be a whole number >= 1"),
        (["--midi-dir", ".", "--kind", "drums", "--transpose", "3"], "melodies only"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, extra, message):
    result = runner.invoke(app, ["music", "prepare", "--out", str(tmp_path / "x.npz"), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "x.npz").exists()


def test_zero_windows_exit_2_and_say_why(tmp_path):
    result = runner.invoke(
        app, ["music", "prepare", "--midi-dir", str(songs(tmp_path / "midi")), "--bars", "8", "--out", str(tmp_path / "x.npz")]
    )
    assert result.exit_code == 2
    assert "0 windows" in result.output and "3 too short for 8 bars, 1 corrupt" in result.output
