"""``zspace music sample / interpolate / encode / decode / attributes`` on a 2-step tiny run."""

from __future__ import annotations

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from zspace.cli.music import app as music_app
from zspace.music import Note, NoteSequence, write_midi

pytest.importorskip("pretty_midi")
pytest.importorskip("matplotlib")
runner = CliRunner()
app = typer.Typer()  # the top-level app as cli/main.py mounts it
app.add_typer(music_app, name="music")


def songs(root, n=6):
    """``n`` 4-bar melodies whose density, range and rhythm vary from bar to bar."""
    for k in range(n):
        notes = []
        for bar in range(4):
            count = 1 + (k + bar) % 5  # 1..5 notes: 5 falls off the quarter-note grid
            step = 16 // count
            notes += [
                Note(50 + 2 * k + bar + (k % 3 + 1) * i, 16 * bar + step * i, 16 * bar + step * (i + 1)) for i in range(count)
            ]
        write_midi(NoteSequence(notes=notes), root / f"song{k}.mid")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(tmp folder, prepared .npz, run directory) of cat-mel_2bar_tiny after 2 steps."""
    import torch

    from zspace.music.corpus import PrepareConfig, prepare
    from zspace.music.run import MusicRunConfig, train

    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("music")
    config = PrepareConfig(kind="melody", bars=2, workers=1, valid_fraction=0.0, test_fraction=0.0)
    data = prepare(tmp / "mel2.npz", config, midi_dir=songs(tmp / "midi")).out
    run = tmp / "run"
    train(MusicRunConfig.from_preset("cat-mel_2bar_tiny", data=data, max_steps=2, batch_size=4, device="cpu"), run)
    return tmp, data, run


def invoke(*args) -> str:
    result = runner.invoke(app, ["music", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_sample_writes_midi_piano_rolls_and_audio(trained):
    tmp, _, run = trained
    invoke("sample", run, "-n", 2, "--temperature", 0.5, "--wav", "--out", tmp / "s")
    assert names(tmp / "s") == ["sample_00.mid", "sample_00.png", "sample_00.wav", "sample_01.mid", "sample_01.png",
                                "sample_01.wav", "samples.png"]  # fmt: skip
    invoke("sample", run, "-n", 2, "--greedy", "--no-png", "--out", tmp / "g")
    assert names(tmp / "g") == ["sample_00.mid", "sample_01.mid"]


def test_interpolate_draws_the_path(trained):
    tmp, _, run = trained
    a, b = tmp / "midi" / "song0.mid", tmp / "midi" / "song3.mid"
    invoke("interpolate", run, a, b, "--steps", 3, "--out", tmp / "i")
    assert names(tmp / "i") == ["interpolation.mid", "interpolation.png"]


def test_encode_then_decode_round_trip(trained):
    from zspace.music.generate import load_codes

    tmp, _, run = trained
    files = [tmp / "midi" / f"song{k}.mid" for k in (0, 1, 2)]
    invoke("encode", run, *files, "--out", tmp / "codes.npz")
    codes = load_codes(tmp / "codes.npz")
    assert codes.z.shape == (3, 32) and codes.names == ("song0.mid", "song1.mid", "song2.mid") and codes.n_steps == 32
    assert np.allclose(codes.qpm, 120.0)
    invoke("decode", run, tmp / "codes.npz", "--no-png", "--out", tmp / "d")
    assert names(tmp / "d") == ["00_song0.mid", "01_song1.mid", "02_song2.mid"]
    invoke("decode", run, tmp / "codes.npz", "--no-greedy", "--temperature", 0.7, "--out", tmp / "d2")
    assert len(names(tmp / "d2")) == 6  # a MIDI file and a piano roll per code


def test_attributes_fit_then_apply(trained):
    tmp, data, run = trained
    output = invoke("attributes", run, "--data", data, "--out", tmp / "vec")
    assert names(tmp / "vec") == ["attribute_vectors.json", "attribute_vectors.safetensors"]
    assert all(name in output for name in ("note_density", "pitch_range", "mean_interval", "syncopation", "low mean"))
    args = ["--vectors", tmp / "vec", "--apply", "note_density=+1.5", "--apply", "pitch_range=-1", "-n", 2, "--seed", 4]
    output = invoke("attributes", run, *args, "--out", tmp / "e")
    assert names(tmp / "e") == ["attributes.png", "edited_00.mid", "edited_00.png", "edited_01.mid", "edited_01.png",
                                "original_00.mid", "original_00.png", "original_01.mid", "original_01.png"]  # fmt: skip
    assert "before" in output and "+1.5" in output
    invoke("attributes", run, "--vectors", tmp / "vec", "--apply", "syncopation=2", "--input", tmp / "midi" / "song1.mid",
           "--no-png", "--out", tmp / "e2")  # fmt: skip
    assert names(tmp / "e2") == ["edited_00.mid", "original_00.mid"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["attributes", "{run}", "--out", "{tmp}/x"], "give --data DATA.npz to fit"),
        (["attributes", "{run}", "--vectors", "{tmp}/x", "--out", "{tmp}/x"], "give --data DATA.npz to fit"),
        (["attributes", "{run}", "--vectors", "{tmp}/nothing", "--apply", "a=1", "--out", "{tmp}/x"], "has no attribute_vectors"),
        (["attributes", "{run}", "--data", "{tmp}/mel2.npz", "--attribute", "loudness", "--out", "{tmp}/x"], "unknown attribute"),
        (["decode", "{run}", "{tmp}/mel2.npz", "--out", "{tmp}/x"], "is not a codes file"),
        (["encode", "{run}", "{tmp}/missing.mid", "--out", "{tmp}/x.npz"], "missing.mid"),
    ],
)
def test_errors_exit_2_with_one_line(trained, command, message):
    tmp, _, run = trained
    result = runner.invoke(app, ["music", *(w.format(tmp=tmp, run=run) for w in command)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_encode_says_when_only_the_first_window_of_a_longer_file_is_encoded(trained):
    tmp, _, run = trained
    output = invoke("encode", run, tmp / "midi" / "song0.mid", "--out", tmp / "one.npz")
    assert "song0.mid has 4 bars; only its first 2" in output


def test_decode_refuses_nan_codes_instead_of_writing_silence(trained):
    from dataclasses import replace

    import torch

    from zspace.music.generate import load_codes, save_codes

    tmp, _, run = trained
    invoke("encode", run, tmp / "midi" / "song0.mid", tmp / "midi" / "song1.mid", "--out", tmp / "c.npz")
    codes = load_codes(tmp / "c.npz")
    z = codes.z.clone()
    z[1, 3] = float("nan")
    save_codes(tmp / "nan.npz", replace(codes, z=z))
    result = runner.invoke(app, ["music", "decode", str(run), str(tmp / "nan.npz"), "--out", str(tmp / "dn")])
    assert result.exit_code == 2 and "codes [1] hold NaN" in result.output and "zspace music encode" in result.output
    assert not (tmp / "dn").exists() and torch.isfinite(codes.z).all()


def test_silent_decodes_warn_and_name_the_checkpoint(trained, capsys):
    from zspace.cli.music_files import warn_if_silent
    from zspace.music.encoding import get_encoding

    _, _, run = trained
    warn_if_silent(get_encoding("melody"), np.zeros((3, 32, 1), dtype=np.int64), run, "best")
    out = capsys.readouterr().out
    assert "3 of 3 decoded windows are silent" in out and "step-00000002 of step-00000002" in out and "--checkpoint last" in out


def test_top_level_sample_dispatches_to_music(trained):
    from zspace.cli.main import app as main_app

    tmp, _, run = trained
    result = runner.invoke(main_app, ["sample", str(run), "-n", "2", "--out", str(tmp / "top")])
    assert result.exit_code == 0, result.output
    assert names(tmp / "top") == ["sample_00.mid", "sample_00.png", "sample_01.mid", "sample_01.png", "samples.png"]
