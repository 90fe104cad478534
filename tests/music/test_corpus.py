"""Data pipeline: windows, skip reasons, dedup, split by song, per-song cap, files and loader."""

from __future__ import annotations

import json
import logging
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zspace.errors import ConfigError, DataError
from zspace.music import DrumsEncoding, MelodyEncoding, TrioEncoding, read_midi
from zspace.music.corpus import PrepareConfig, load_prepared, prepare
from zspace.music.songs import SKIP_REASONS, SongRef, song_windows, split_of

pretty_midi = pytest.importorskip("pretty_midi")
mido = pytest.importorskip("mido")

STEP = 0.125  # seconds per sixteenth at 120 qpm
ALL_TRAIN = {"valid_fraction": 0.0, "test_fraction": 0.0, "workers": 1}


def write_song(path, melody=(), bass=(), drums=(), *, meter=(4, 4)):
    """A type-1 MIDI file at 120 qpm; notes are (pitch, start_step, end_step), drums (pitch, step)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(*meter, 0.0))
    for program, notes, is_drum in ((0, melody, False), (33, bass, False), (0, [(p, s, s + 1) for p, s in drums], True)):
        if notes:
            inst = pretty_midi.Instrument(program=program, is_drum=is_drum)
            inst.notes = [pretty_midi.Note(velocity=90, pitch=p, start=s * STEP, end=e * STEP) for p, s, e in notes]
            pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def tune(bars, base=60, first_bar=0, length=3):
    """Four notes per bar, each bar's a semitone higher than the last's: all bars differ."""
    return [
        (base + b + d, 16 * (first_bar + b) + 4 * i, 16 * (first_bar + b) + 4 * i + length)
        for b in range(bars)
        for i, d in enumerate((0, 2, 4, 5))
    ]


def beat(bars):
    return [(p, 16 * b + s) for b in range(bars) for s in range(0, 16, 2) for p in ((36 if s % 8 == 0 else 38), 42)]


def type2(path):
    mid = mido.MidiFile(type=2)
    for pitch in (60, 67):
        track = mido.MidiTrack()
        track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
        mid.tracks.append(track)
    mid.save(path)


@pytest.fixture
def folder(tmp_path):
    """Two good songs (one nested, upper-case suffix) and one file per skip reason."""
    root = tmp_path / "midi"
    write_song(root / "a.mid", tune(4))
    write_song(root / "sub" / "b.MIDI", tune(3, base=70))
    good = write_song(root / "short.mid", tune(1))
    (root / "corrupt.mid").write_bytes(good.read_bytes()[:40])
    (root / "empty.mid").write_bytes(b"")
    (root / "notes.midi").write_text("C4 D4 E4")
    type2(root / "seq.mid")
    write_song(root / "drums_only.mid", drums=beat(4))
    write_song(root / "waltz.mid", tune(4), meter=(3, 4))
    (root / "readme.txt").write_text("not a song")
    return root


def test_windows_skip_reasons_manifest_and_round_trip(folder, tmp_path, caplog):
    out = tmp_path / "data" / "mel2.npz"
    with caplog.at_level(logging.WARNING, logger="zspace.music.corpus"):
        report = prepare(out, PrepareConfig(**ALL_TRAIN), midi_dir=folder, command="zspace music prepare ...")
    assert report.unit == "file" and report.songs_listed == 9 and report.songs_read == 2
    assert dict(report.skipped) == {
        "corrupt": 1, "empty": 1, "not_midi": 1, "type2": 1, "no_melody": 1, "too_short": 1, "meter": 1,
    }  # fmt: skip
    assert "corrupt.mid: " in report.skip_examples["corrupt"][0]
    assert any("corrupt.mid" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert dict(report.windows) == {"train": 3 + 2, "valid": 0, "test": 0}

    data = load_prepared(out, kind="melody", bars=2)
    assert data.train.shape == (5, 32, 1) and data.train.dtype == np.uint8 and data.valid.shape == (0, 32, 1)
    assert data.song_names == ("a.mid", "sub/b.MIDI")
    np.testing.assert_array_equal(data.song["train"], [0, 0, 0, 1, 1])
    seq = read_midi(folder / "a.mid")
    expected = [MelodyEncoding().encode(seq, 16 * bar, 32) for bar in range(3)]  # windows slide by one bar
    np.testing.assert_array_equal(data.train[:3], expected)
    assert not data.train.flags.writeable

    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest == dict(data.manifest)
    assert manifest["kind"] == "melody" and manifest["bars"] == 2 and manifest["n_steps"] == 32
    assert manifest["output_depths"] == [90] and manifest["counts"] == {"train": 5, "valid": 0, "test": 0}
    assert manifest["songs_listed"] == 9 and manifest["skipped"]["corrupt"] == 1
    assert manifest["source"] == {"type": "midi_dir", "path": str(folder), "unit": "file"}
    assert manifest["config"]["max_per_song"] == 50 and manifest["command"] == "zspace music prepare ..."
    assert manifest["zspace_version"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_files_are_skipped_with_a_reason_never_raised(tmp_path, data):
    good = write_song(tmp_path / "good.mid", tune(2), [(36, 0, 8)], beat(2)).read_bytes()
    start = data.draw(st.integers(0, len(good)), label="start")
    damaged = good[:start] + data.draw(st.binary(max_size=64), label="noise") + good[start + data.draw(st.integers(0, 64)) :]
    (tmp_path / "bad.mid").write_bytes(damaged)
    for kind in ("melody", "trio"):
        result = song_windows(
            SongRef(id="bad.mid", path=str(tmp_path / "bad.mid"), reader="midi"), PrepareConfig(kind=kind, bars=2)
        )
        assert (result.tokens is None) == (result.skip in SKIP_REASONS)
        assert result.tokens is not None or result.message


def test_melody_windows_never_span_a_long_silence(tmp_path):
    write_song(tmp_path / "m" / "gap.mid", tune(2) + tune(2, base=72, first_bar=4))  # bars 2-3 silent
    report = prepare(tmp_path / "gap.npz", PrepareConfig(**ALL_TRAIN), midi_dir=tmp_path / "m")
    assert report.windows["train"] == 2  # bars 0-1 and 4-5, nothing across the gap


def test_duplicates_within_and_across_songs(tmp_path):
    root = tmp_path / "m"
    loop = [(60 + 2 * i, 4 * i + 16 * b, 4 * i + 16 * b + 2) for b in range(6) for i in range(4)]  # 1 bar x 6
    write_song(root / "loop.mid", loop)
    write_song(root / "one.mid", tune(3))
    write_song(root / "two.mid", tune(3))  # the same song again
    report = prepare(tmp_path / "d.npz", PrepareConfig(**ALL_TRAIN), midi_dir=root)
    assert report.windows["train"] == 1 + 2  # the loop's 5 windows are one; two.mid adds nothing
    assert report.duplicates_dropped == 2 and report.songs["train"] == 2
    tokens = load_prepared(tmp_path / "d.npz").train
    assert len({t.tobytes() for t in tokens}) == len(tokens)


def test_a_window_in_train_is_dropped_from_valid_and_test(tmp_path):
    names = {split_of(f"s{i}.mid", 0.3, 0.3): f"s{i}.mid" for i in range(40)}
    for name in names.values():
        write_song(tmp_path / "m" / name, tune(3))
    report = prepare(tmp_path / "x.npz", PrepareConfig(valid_fraction=0.3, test_fraction=0.3, workers=1), midi_dir=tmp_path / "m")
    assert dict(report.windows) == {"train": 2, "valid": 0, "test": 0} and report.duplicates_dropped == 4


def test_split_by_song_is_stable_and_never_leaks(tmp_path):
    root = tmp_path / "m"
    for i in range(30):
        write_song(root / f"song{i:02d}.mid", tune(4, base=40 + 4 * (i % 10), length=1 + i // 10))  # no shared bars
    config = PrepareConfig(valid_fraction=0.2, test_fraction=0.2, workers=1)
    report = prepare(tmp_path / "s.npz", config, midi_dir=root)
    data = load_prepared(tmp_path / "s.npz")
    owners = {s: {data.song_names[i] for i in data.song[s]} for s in ("train", "valid", "test")}
    assert all(owners.values()), report.windows  # 30 songs: every split gets some
    assert not (owners["train"] & owners["valid"] or owners["train"] & owners["test"] or owners["valid"] & owners["test"])
    for split, songs in owners.items():
        assert all(split_of(name, 0.2, 0.2) == split for name in songs)
    # --limit reads a fixed sample that only grows with the limit; songs keep their split.
    small = load_prepared(prepare(tmp_path / "l.npz", PrepareConfig(limit=10, **ALL_TRAIN), midi_dir=root).out)
    large = load_prepared(prepare(tmp_path / "L.npz", PrepareConfig(limit=20, **ALL_TRAIN), midi_dir=root).out)
    assert len(small.song_names) == 10 and set(small.song_names) < set(large.song_names)


def test_per_song_cap_is_seeded_and_deterministic(tmp_path):
    write_song(tmp_path / "m" / "long.mid", tune(40, base=30))  # 39 distinct 2-bar windows
    write_song(tmp_path / "m" / "other.mid", tune(2, length=1))  # a second song, so 2 workers both run

    def run(name, seed, **kw):
        report = prepare(
            tmp_path / name, PrepareConfig(max_per_song=5, seed=seed, **{**ALL_TRAIN, **kw}), midi_dir=tmp_path / "m"
        )
        return report, load_prepared(report.out).train

    report, tokens = run("a.npz", 0)
    a = tokens[:5]  # long.mid's windows, then other.mid's one
    assert len(tokens) == 6 and report.capped_dropped == 34
    first_pitches = a[:, 0, 0]  # each bar starts a step higher: the kept windows stay in time order
    assert (np.diff(first_pitches.astype(int)) > 0).all()
    run("b.npz", 0)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()  # same seed, same bytes
    _, again = run("again.npz", 0, workers=2)  # in worker processes: the same windows
    np.testing.assert_array_equal(tokens, again)
    _, other = run("other.npz", 1)
    assert not np.array_equal(tokens, other)
    uncapped = prepare(tmp_path / "all.npz", PrepareConfig(max_per_song=None, **ALL_TRAIN), midi_dir=tmp_path / "m")
    assert uncapped.windows["train"] == 39 + 1 and uncapped.capped_dropped == 0


def test_transposition_augments_train_melodies_only(tmp_path):
    write_song(tmp_path / "m" / "a.mid", tune(3))
    report = prepare(tmp_path / "t.npz", PrepareConfig(transpose=2, **ALL_TRAIN), midi_dir=tmp_path / "m")
    # Bar 2 is bar 1 a semitone up, so window 1 is window 0 moved +1: six distinct windows, not ten.
    assert report.windows["train"] == 6 and report.augmented == 4
    tokens = load_prepared(report.out).train[..., 0]
    assert sorted(int(t[0]) for t in tokens) == [60 - 19 + s for s in range(-2, 4)]
    with pytest.raises(ConfigError, match="melodies only"):
        PrepareConfig(kind="drums", transpose=2)


def test_drums_windows_and_drumless_files(tmp_path):
    root = tmp_path / "m"
    write_song(root / "beat.mid", drums=beat(3))
    write_song(root / "tune.mid", tune(4))
    report = prepare(tmp_path / "dr.npz", PrepareConfig(kind="drums", **ALL_TRAIN), midi_dir=root)
    assert dict(report.skipped) == {"no_drums": 1}
    data = load_prepared(report.out, kind="drums")
    assert data.train.shape == (1, 32, 1) and data.train.dtype == np.uint16  # the 3 bars repeat: one window
    np.testing.assert_array_equal(data.train[0], DrumsEncoding().encode(read_midi(root / "beat.mid"), 0, 32))
    assert data.encoding.name == "drums"


def test_trio_needs_melody_bass_and_drums(tmp_path):
    root = tmp_path / "m"
    bass = [(36 + b, 16 * b, 16 * b + 8) for b in range(4)]
    write_song(root / "trio.mid", tune(4), bass, beat(4))
    write_song(root / "two_bars.mid", tune(2, base=50), bass[:2], beat(2))  # exactly one window
    write_song(root / "duo.mid", tune(4), drums=beat(4))
    report = prepare(tmp_path / "trio.npz", PrepareConfig(kind="trio", **ALL_TRAIN), midi_dir=root)
    assert dict(report.skipped) == {"no_bass": 1} and report.windows["train"] == 3 + 1
    data = load_prepared(report.out, kind="trio")
    assert data.train.shape == (4, 32, 3) and data.train.dtype == np.uint16
    assert data.song_names == ("trio.mid", "two_bars.mid")
    np.testing.assert_array_equal(data.train[1], TrioEncoding().encode(read_midi(root / "trio.mid"), 16, 32))


def test_zero_windows_is_an_error_that_says_why(tmp_path):
    root = tmp_path / "m"
    good = write_song(root / "short.mid", tune(1))
    (root / "bad.mid").write_bytes(good.read_bytes()[:30])
    write_song(root / "short2.mid", tune(2))
    with pytest.raises(DataError, match=r"0 windows from .*: all 3 files were skipped \(2 too short for 16 bars, 1 corrupt\)"):
        prepare(tmp_path / "z.npz", PrepareConfig(bars=16, workers=1), midi_dir=root)
    assert not (tmp_path / "z.npz").exists()
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match="no .mid/.midi files"):
        prepare(tmp_path / "z.npz", midi_dir=tmp_path / "nothing")


def test_bad_sources_and_configs(tmp_path):
    with pytest.raises(ConfigError, match="exactly one source"):
        prepare(tmp_path / "x.npz")
    with pytest.raises(ConfigError, match="exactly one source"):
        prepare(tmp_path / "x.npz", corpus="music21:bach", midi_dir=tmp_path)
    with pytest.raises(ConfigError, match="music21:NAME"):
        prepare(tmp_path / "x.npz", corpus="essen")
    with pytest.raises(DataError, match="no such directory"):
        prepare(tmp_path / "x.npz", midi_dir=tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"must end in \.npz"):
        prepare(tmp_path / "x.h5", midi_dir=tmp_path)
    with pytest.raises(ConfigError, match="melody, drums, trio"):
        PrepareConfig(kind="bass")
    with pytest.raises(ConfigError, match=r"PrepareConfig.bars = 0: expected an integer in \[1"):
        PrepareConfig(bars=0)
    with pytest.raises(ConfigError, match="leave a train split"):
        PrepareConfig(valid_fraction=0.5, test_fraction=0.5)


def test_load_prepared_errors_name_the_file_and_the_fix(tmp_path, folder):
    missing = tmp_path / "nope.npz"
    with pytest.raises(DataError, match=f"{missing}: no such prepared data file; make it with `zspace music prepare"):
        load_prepared(missing)
    out = prepare(tmp_path / "mel.npz", PrepareConfig(**ALL_TRAIN), midi_dir=folder).out
    with pytest.raises(DataError, match=r"holds melody windows, drums windows are needed; .*--kind drums --bars N"):
        load_prepared(out, kind="drums")
    with pytest.raises(DataError, match="holds 2-bar windows, 16-bar"):
        load_prepared(out, bars=16)
    garbage = tmp_path / "garbage.npz"
    garbage.write_text("hello")
    with pytest.raises(DataError, match="garbage.npz is not a prepared .npz: it is damaged or truncated"):
        load_prepared(garbage)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, train=np.zeros((2, 32, 1), np.uint8))
    with pytest.raises(DataError, match="no 'manifest' field"):
        load_prepared(foreign)
    partial = tmp_path / "partial.npz"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(partial, "w") as dst:
        for item in src.infolist():
            if item.filename != "valid.npy":
                dst.writestr(item, src.read(item))
    with pytest.raises(DataError, match="missing or bad field.*valid"):
        load_prepared(partial)


def test_a_handful_of_music21_tunes(tmp_path):
    pytest.importorskip("music21")
    report = prepare(tmp_path / "e.npz", PrepareConfig(limit=5, meter="any", **ALL_TRAIN), corpus="music21:essenFolksong")
    assert report.unit == "tune" and report.songs_listed == 5 and report.windows["train"] > 0
    data = load_prepared(report.out, kind="melody")
    assert all(name.startswith("essenFolksong/") and ".abc#" in name for name in data.song_names)  # tune N of a collection
    assert data.manifest["source"] == {"type": "music21", "name": "essenFolksong", "unit": "tune"}
    with pytest.raises(DataError, match="bundled ones: .*essenFolksong"):
        prepare(tmp_path / "x.npz", corpus="music21:noSuchComposer")
