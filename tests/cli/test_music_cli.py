"""``zspace music prepare`` through the command line: a run, its outputs, one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from zspace.cli.main import app
from zspace.music import Note, NoteSequence, write_midi
from zspace.music.corpus import load_prepared

pytest.importorskip("pretty_midi")
runner = CliRunner()


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
        (["--midi-dir", ".", "--bars", "0"], "PrepareConfig.bars = 0: expected an integer in [1, 2^63)"),
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


# -- train, sample, interpolate ------------------------------------------------------------------
def prepared(tmp_path, n=6):
    """A 2-bar melody set from ``n`` 4-bar songs (valid split kept small but not empty)."""
    from zspace.music.corpus import PrepareConfig, prepare

    config = PrepareConfig(kind="melody", bars=2, workers=1, valid_fraction=0.3, test_fraction=0.0)
    return prepare(tmp_path / "mel2.npz", config, midi_dir=songs(tmp_path / "midi", n)).out


def test_train_sample_interpolate_smoke(tmp_path):
    import torch

    from zspace.music import read_midi

    torch.set_num_threads(1)
    data, run = prepared(tmp_path), tmp_path / "runs" / "mel2"
    args = ["train", "music", "--preset", "cat-mel_2bar_tiny", "--data", str(data), "--out", str(run), "--device", "cpu"]
    result = runner.invoke(app, [*args, "--steps", "2", "--batch-size", "4", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert (run / "checkpoints" / "step-00000002" / "model.safetensors").is_file()
    assert json.loads((run / "config.json").read_text())["train"]["seed"] == 1

    result = runner.invoke(app, [*args, "--steps", "3", "--batch-size", "4", "--seed", "1", "--resume"])
    assert result.exit_code == 0, result.output
    assert (run / "checkpoints" / "step-00000003").is_dir()

    result = runner.invoke(
        app, ["music", "sample", str(run), "-n", "2", "--temperature", "0.5", "--no-png", "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["sample_00.mid", "sample_01.mid"]

    a, b = tmp_path / "midi" / "song0.mid", tmp_path / "midi" / "song1.mid"
    result = runner.invoke(app, ["music", "interpolate", str(run), str(a), str(b), "--steps", "3", "--out", str(tmp_path / "i")])
    assert result.exit_code == 0, result.output
    assert read_midi(tmp_path / "i" / "interpolation.mid").total_steps <= 3 * 32


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["music", "sample", "{tmp}/no-run", "--out", "{tmp}/s"], "does not exist"),
        (["music", "interpolate", "{tmp}/no-run", "{tmp}/a.mid", "{tmp}/a.mid", "--out", "{tmp}/i"], "does not exist"),
        (["train", "music", "--preset", "nope", "--data", "{tmp}/mel2.npz", "--out", "{tmp}/r"], "unknown music preset 'nope'"),
        (
            ["train", "music", "--preset", "cat-drums_2bar_tiny", "--data", "{tmp}/mel2.npz", "--out", "{tmp}/r"],
            "needs 2-bar drums windows",
        ),
        (
            ["train", "music", "--preset", "cat-mel_2bar_tiny", "--data", "{tmp}/missing.npz", "--out", "{tmp}/r"],
            "no such prepared data",
        ),
    ],
)
def test_train_and_sample_errors_exit_2_with_one_line(tmp_path, command, message):
    prepared(tmp_path, n=2)
    result = runner.invoke(app, [w.format(tmp=tmp_path) for w in command])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_interpolate_a_bad_midi_file_exits_2(tmp_path):
    import torch

    torch.set_num_threads(1)
    data, run = prepared(tmp_path), tmp_path / "run"
    args = ["--preset", "cat-mel_2bar_tiny", "--data", str(data), "--out", str(run), "--steps", "1", "--batch-size", "4"]
    assert runner.invoke(app, ["train", "music", *args, "--device", "cpu"]).exit_code == 0
    (tmp_path / "bad.mid").write_bytes(b"MThd\x00\x00")
    good = tmp_path / "midi" / "song0.mid"
    result = runner.invoke(
        app, ["music", "interpolate", str(run), str(good), str(tmp_path / "bad.mid"), "--out", str(tmp_path / "i")]
    )
    assert result.exit_code == 2 and "bad.mid" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_train_bf16_on_a_device_without_bf16_kernels_trains_in_float32_and_says_so(tmp_path, monkeypatch, caplog):
    import torch

    from zspace.train import precision

    torch.set_num_threads(1)
    monkeypatch.setattr(precision, "bf16_unsupported_reason", lambda device_type: "bf16 autocast is unsupported on this cpu (x)")
    data, run = prepared(tmp_path), tmp_path / "run"
    args = ["train", "music", "--preset", "cat-mel_2bar_tiny", "--data", str(data), "--out", str(run), "--device", "cpu"]
    with caplog.at_level("WARNING", logger="zspace.train"):
        result = runner.invoke(app, [*args, "--steps", "2", "--batch-size", "4", "--bf16"])
    assert result.exit_code == 0, result.output
    assert "bf16 autocast is unsupported on this cpu (x); training in float32 instead" in caplog.text
    assert (run / "checkpoints" / "step-00000002" / "model.safetensors").is_file()
