"""``zspace music prepare``'s flags for PrepareConfig's departures and rules: parsed, effective, checked."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from zspace.cli.music import app as music_app
from zspace.music.corpus import load_prepared

pretty_midi = pytest.importorskip("pretty_midi")
runner = CliRunner()
app = typer.Typer()  # the top-level app as cli/main.py mounts it
app.add_typer(music_app, name="music")
STEP = 0.125  # seconds per step at 120 qpm


def write(path, tracks, *, meters=((4, 4, 0),)):
    """A MIDI file: one instrument per (program, [(pitch, start_step, end_step)]); meters (n, d, at step)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    for n, d, at in meters:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(n, d, at * STEP))
    for program, notes in tracks:
        instrument = pretty_midi.Instrument(program=program)
        instrument.notes = [pretty_midi.Note(90, p, s * STEP, e * STEP) for p, s, e in notes]
        pm.instruments.append(instrument)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def quarters(first_pitch, bars, *, bar_steps=16, skip=()):
    """Quarter notes rising by a step each bar over ``bars`` bars, none in the bars of ``skip``."""
    return [
        (first_pitch + bar, bar_steps * bar + 4 * i, bar_steps * bar + 4 * i + 3)
        for bar in range(bars)
        if bar not in skip
        for i in range(bar_steps // 4)
    ]


def prepare(tmp_path, midi_dir, *flags, name="x.npz"):
    out = tmp_path / name
    args = ["music", "prepare", "--midi-dir", str(midi_dir), "--bars", "2", "--workers", "1", "--valid-fraction", "0"]
    result = runner.invoke(app, [*args, "--test-fraction", "0", "--out", str(out), *map(str, flags)])
    assert result.exit_code == 0, result.output
    data = load_prepared(out)
    return data.train[..., 0], data.manifest, " ".join(result.output.split())


def test_melody_rules_and_programs(tmp_path):
    midi = tmp_path / "lead"
    write(midi / "a.mid", [(0, quarters(60, 4)), (40, quarters(76, 4))])  # a piano line under a violin lead
    magenta, manifest, output = prepare(tmp_path, midi)
    assert len(magenta) == 3 and magenta[0, 0] == 60 - 19  # programs 0-31 for 2-bar windows: the piano only
    assert manifest["windows_per_source"] == {str(midi): {"train": 3, "valid": 0, "test": 0}}
    assert "windows from" in output and "3 train / 0 valid / 0 test" in output, output
    every, _, _ = prepare(tmp_path, midi, "--melody-programs", "all", name="all.npz")
    assert sorted(int(w[0]) for w in every) == [p - 19 for p in (60, 61, 62, 76, 77, 78)]  # both lines, 3 windows each
    top, manifest, _ = prepare(tmp_path, midi, "--melody", "skyline", name="sky.npz")
    assert len(top) == 3 and top[0, 0] == 76 - 19 and manifest["config"]["melody"] == "skyline"  # the top voice


def test_line_length_and_gap_flags(tmp_path):
    midi = tmp_path / "gap"
    write(midi / "a.mid", [(0, quarters(60, 5, skip=(2,)))])  # bar 3 is silent
    assert len(prepare(tmp_path, midi)[0]) == 2  # two lines (bars 1-2, 4-5), one window each
    joined, manifest, _ = prepare(tmp_path, midi, "--gap-bars", "2", name="g.npz")
    assert len(joined) == 4 and manifest["config"]["gap_bars"] == 2.0  # one line of 5 bars
    cut, manifest, _ = prepare(tmp_path, midi, "--gap-bars", "2", "--max-bars", "3", name="m.npz")
    assert len(cut) == 2 and manifest["config"]["max_bars"] == 3
    assert prepare(tmp_path, midi, "--max-bars", "0", name="none.npz")[1]["config"]["max_bars"] is None


def test_time_change_and_steps_per_bar_flags(tmp_path):
    midi = tmp_path / "meter"
    write(midi / "a.mid", [(0, quarters(60, 2) + [(p, s + 32, e + 32) for p, s, e in quarters(70, 3, bar_steps=12)])],
          meters=((4, 4, 0), (3, 4, 32)))  # fmt: skip
    split, _, _ = prepare(tmp_path, midi)
    assert len(split) == 1  # the 4/4 section's 2 bars; the 3/4 section has 12-step bars
    whole, manifest, _ = prepare(tmp_path, midi, "--no-split-time-changes", name="whole.npz")
    assert len(whole) > 1 and manifest["config"]["split_time_changes"] is False  # the 3/4 part read as 4/4 bars
    waltz, manifest, _ = prepare(tmp_path, midi, "--steps-per-bar", "12", name="waltz.npz")
    assert waltz.shape[1] == 24 and len(waltz) == 2 and manifest["config"]["steps_per_bar"] == 12
    assert np.all(waltz[:, 0] == 70 - 19 + np.arange(2))  # windows of the 3/4 section's bars 1-2 and 2-3


def test_the_recorded_command_reproduces_the_config(tmp_path):
    midi = tmp_path / "lead"
    write(midi / "a.mid", [(0, quarters(60, 4))])
    flags = ["--melody", "skyline", "--melody-programs", "0-31", "--no-split-time-changes", "--expand-repeats"]
    _, manifest, _ = prepare(tmp_path, midi, *flags, "--max-bars", "50", "--gap-bars", "1.5")
    command = shlex.split(manifest["command"])
    assert {"--no-split-time-changes", "--expand-repeats"} <= set(command)
    out = command.index("--out") + 1
    command[out] = str(tmp_path / "again.npz")
    result = runner.invoke(app, command[1:])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "again.json").read_text())["config"] == manifest["config"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--melody", "top"], "melody 'top' is not one of magenta, skyline"),
        (["--melody-programs", "some"], "melody_programs 'some' is not one of magenta, 0-31, all"),
        (["--steps-per-bar", "0"], "steps_per_bar = 0: expected an integer in [1"),
        (["--max-bars", "1"], "max_bars (None: no limit) >= bars=2"),
        (["--gap-bars", "0"], "gap_bars = 0.0: expected a finite number in (0"),
    ],
)
def test_bad_values_exit_2_with_one_line(tmp_path, extra, message):
    result = runner.invoke(app, ["music", "prepare", "--midi-dir", ".", "--out", str(tmp_path / "x.npz"), *extra])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_user_file_windows_are_the_training_windows(tmp_path):
    """encode/interpolate read a file as `prepare` cuts it (both rules): a 3/4 passage, a gap and two tracks."""
    from zspace.music.config import MusicConverter
    from zspace.music.data import midi_windows

    midi = tmp_path / "song"
    tracks = [(0, quarters(60, 8, skip=(4,))), (40, quarters(76, 6))]  # a bar of silence splits the piano line
    write(midi / "a.mid", tracks, meters=((4, 4, 0), (3, 4, 16 * 6)))  # 3/4 from bar 7: a section of its own
    for flags, converter in (((), MusicConverter()), (("--melody", "skyline"), MusicConverter(melody="skyline"))):
        training, _, _ = prepare(tmp_path, midi, *flags, "--max-per-song", 0, name=f"{len(flags)}.npz")
        user = midi_windows(midi / "a.mid", converter)
        cut = {tuple(int(t) for t in w.tokens[:, 0]) for w in user if not w.padded}  # a padded line: the one departure
        assert {tuple(int(t) for t in w) for w in training} == cut, flags
        assert any(w.padded for w in user) or flags  # the 1-bar piano line after the gap (Magenta drops it)
