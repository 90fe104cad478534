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
    """The command's output, lines joined (rich wraps long lines at the terminal width)."""
    result = runner.invoke(app, ["music", *map(str, args)])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


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
    files = [tmp / "midi" / f"song{k}.mid" for k in (0, 1)]
    output = invoke("encode", run, *files, "--out", tmp / "codes.npz")
    codes = load_codes(tmp / "codes.npz")
    # every 2-bar window of each 4-bar song, sliding by a bar: bars 1-2, 2-3, 3-4
    assert codes.z.shape == (6, 32) and codes.names == ("song0.mid",) * 3 + ("song1.mid",) * 3 and codes.n_steps == 32
    assert codes.tags == ("s0_l0_bar01", "s0_l0_bar02", "s0_l0_bar03") * 2 and np.allclose(codes.qpm, 120.0)
    assert (
        "song0.mid: 3 window(s) from 1 line(s) of track(s) 0: line 0 (track 0), bars 1-2 .. line 0 (track 0), bars 3-4" in output
    )
    invoke("decode", run, tmp / "codes.npz", "--no-png", "--out", tmp / "d")
    assert names(tmp / "d")[:3] == ["00_song0_s0_l0_bar01.mid", "01_song0_s0_l0_bar02.mid", "02_song0_s0_l0_bar03.mid"]
    invoke("decode", run, tmp / "codes.npz", "--no-greedy", "--temperature", 0.7, "--out", tmp / "d2")
    assert len(names(tmp / "d2")) == 12  # a MIDI file and a piano roll per code


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
    invoke("attributes", run, "--vectors", tmp / "vec", "--apply", "syncopation=2", "--input", tmp / "midi" / "song1.mid",
           "--melody", "skyline", "--track", 0, "--no-png", "--out", tmp / "e3")  # the file rules of encode  # fmt: skip
    assert names(tmp / "e3") == ["edited_00.mid", "original_00.mid"]


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


def test_encode_reads_the_windows_as_the_training_data_and_takes_a_track(trained):
    from zspace.music.generate import load_codes

    tmp, _, run = trained
    two_voices = NoteSequence(notes=[Note(72, 4 * i, 4 * i + 3, program=0) for i in range(8)]
                              + [Note(60, 8 * i, 8 * i + 6, program=1) for i in range(4)])  # fmt: skip
    path = write_midi(two_voices, tmp / "two_voices.mid")  # one track per program
    invoke("encode", run, path, "--out", tmp / "both.npz")
    assert load_codes(tmp / "both.npz").tags == ("s0_l0_bar01", "s0_l1_bar01")  # a melody per track, not the top voice
    output = invoke("encode", run, path, "--track", 1, "--out", tmp / "low.npz")
    assert load_codes(tmp / "low.npz").tags == ("s0_l0_bar01",) and "line 0 (track 1)" in output
    invoke("encode", run, path, "--melody", "skyline", "--out", tmp / "top.npz")
    assert load_codes(tmp / "top.npz").tags == ("s0_l0_bar01",)
    output = invoke("interpolate", run, path, path, "--window-b", 1, "--steps", 3, "--no-png", "--out", tmp / "i")
    assert "gives 2 windows; using number 1, line 1 (track 1), bars 1-2" in output


def test_encode_codes_of_an_old_file_without_tags_still_decode(trained):
    from zspace.music.generate import load_codes, save_codes

    tmp, _, run = trained
    invoke("encode", run, tmp / "midi" / "song3.mid", "--out", tmp / "c3.npz")
    with np.load(tmp / "c3.npz") as f:
        np.savez(tmp / "old.npz", **{k: f[k] for k in f.files if k != "tags"})
    old = load_codes(tmp / "old.npz")
    assert old.tags == () and old.stems == ["00_song3", "01_song3", "02_song3"]
    save_codes(tmp / "again.npz", old)
    assert load_codes(tmp / "again.npz").tags == ("", "", "")


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


def test_decode_writes_only_plain_file_names_inside_out_whatever_the_codes_file_says(trained):
    from dataclasses import replace

    from zspace.music.generate import load_codes, save_codes

    tmp, _, run = trained
    invoke("encode", run, tmp / "midi" / "song2.mid", "--out", tmp / "c2.npz")
    codes = load_codes(tmp / "c2.npz")
    crafted = tmp / "crafted"
    crafted.mkdir()
    absolute = crafted / "absolute"
    tags = ("/../../escaped", f"x/{absolute}", str(absolute))  # a ../ walk out of --out, a nested and an absolute path
    names = ("../../up.mid", str(absolute / "name.mid"), ".hidden")
    save_codes(crafted / "codes.npz", replace(codes, tags=tags[: len(codes.tags)], names=names[: len(codes.names)]))
    out = crafted / "deep" / "out"
    before = sorted(tmp.rglob("*"))
    invoke("decode", run, crafted / "codes.npz", "--wav", "--out", out)
    written = sorted(set(tmp.rglob("*")) - set(before))
    files = set(written) - {out.parent, out}  # the folders made for --out itself
    assert files and all(p.is_file() and p.parent == out and not p.name.startswith(".") for p in files), written
    assert not (tmp / "escaped.mid").exists() and not absolute.exists()
    assert load_codes(crafted / "codes.npz").stems[0] == "00_up__.._.._escaped"  # ".." inside a name is harmless
