"""Magenta's extraction rules, case by case (the parity test checks them against note_seq)."""

from __future__ import annotations

import numpy as np
import pytest

from zspace.errors import ConfigError
from zspace.music import Note, NoteSequence
from zspace.music.config import PrepareConfig
from zspace.music.corpus import prepare
from zspace.music.extract import drum_lines, melody_lines, slide
from zspace.music.sections import RawNote, TimeChange, quantized_sections, split_times
from zspace.music.songs import SongRef, song_windows

OFF, HOLD = 1, 0


def tok(pitch: int) -> int:
    return pitch - 19


def lines_of(*notes: Note, **kw) -> list[list[int]]:
    return sorted(line.tolist() for line in (x.tokens for x in melody_lines(NoteSequence(notes=notes), **kw)))


def test_melodies_are_per_instrument_and_programs_0_to_31_only():
    soprano = [Note(72, 0, 4, instrument=0), Note(74, 4, 8, instrument=0)]
    alto = [Note(64, 0, 8, instrument=1)]
    violin = [Note(76, 0, 8, program=40, instrument=2)]
    lines = lines_of(*soprano, *alto, *violin)
    assert len(lines) == 2  # soprano and alto; the violin (program 40) is not a melody program
    assert [tok(72), 0, 0, 0, tok(74), 0, 0, 0, OFF] + [HOLD] * 7 in lines
    assert len(lines_of(*soprano, *alto, *violin, programs=None)) == 3


def test_a_later_onset_cuts_the_held_note_and_the_highest_of_a_chord_wins():
    notes = [Note(60, 0, 12), Note(55, 0, 2), Note(50, 4, 6), Note(67, 8, 10)]
    (line,) = lines_of(*notes)
    # 60 and 55 start together: 60 kept; 50 cuts 60 at step 4 (lower or not); 60's tail is gone.
    assert line[:11] == [tok(60), 0, 0, 0, tok(50), 0, OFF, 0, tok(67), 0, OFF]


def test_last_note_off_is_kept_mid_bar_and_dropped_on_the_bar_line():
    assert lines_of(Note(60, 0, 6))[0][6] == OFF
    assert lines_of(Note(60, 0, 16)) == [[tok(60)] + [HOLD] * 15]


def test_a_bar_of_silence_splits_melodies_and_max_bars_truncates():
    notes = [Note(60, 0, 4), Note(62, 20, 24)]  # 16 steps of silence after the first note off
    assert len(lines_of(*notes)) == 2
    assert len(lines_of(*notes, gap_bars=None)) == 1
    long = [Note(60 + i % 12, 4 * i, 4 * i + 2) for i in range(4 * 8)]  # 8 bars
    (line,) = lines_of(*long, max_bars=3)
    assert len(line) == 48


def test_windows_slide_by_a_bar_and_may_open_with_a_note_off():
    (line,) = [x.tokens for x in melody_lines(NoteSequence(notes=(Note(60, 0, 16), Note(62, 18, 20), Note(64, 32, 40))))]
    windows = slide(line, 32, 16)
    assert windows.shape == (2, 32) and windows[1, 0] == OFF  # the note of bar 0 ends on bar 1's line


def test_drum_tracks_take_all_kits_ignore_unknown_pitches_and_split_at_gaps():
    hits = [Note(36, 0, 1, is_drum=True), Note(42, 0, 1, is_drum=True, instrument=1), Note(38, 4, 5, is_drum=True)]
    unknown = [Note(20, 10, 11, is_drum=True), Note(90, 24, 25, is_drum=True)]
    later = [Note(36, 40, 41, is_drum=True)]  # 35 steps after the last hit: a new track
    lines = [x.tokens for x in drum_lines(NoteSequence(notes=(*hits, *unknown, *later)))]
    assert [len(x) for x in lines] == [16, 16]
    assert lines[0][0] == 0b101 and lines[0][4] == 0b10 and lines[0][10] == 0  # kick + closed hat; snare
    assert lines[1][8] == 1  # the second track starts at its bar line (step 32)


def test_split_times_follow_note_seq():
    changes = [TimeChange(0.0, meter=(3, 4)), TimeChange(2.0, qpm=120.0), TimeChange(4.0, meter=(3, 4))]
    assert split_times(changes, 10.0) == [0.0, 10.0]  # a change at 0 and repeats of the state are no splits
    changes += [TimeChange(6.0, meter=(4, 4)), TimeChange(6.0, qpm=90.0), TimeChange(12.0, qpm=60.0)]
    assert split_times(changes, 10.0) == [0.0, 6.0, 10.0]  # one split per instant; events after the end ignored


def test_sections_restart_the_bar_grid_and_cut_notes_at_the_boundary():
    notes = [RawNote(60, 0.0, 7.0, 90, 0, False, 0), RawNote(62, 7.0, 8.0, 90, 0, False, 0)]
    changes = [TimeChange(0.0, meter=(3, 4)), TimeChange(6.0, meter=(4, 4))]
    first, second = quantized_sections(notes, changes, steps_per_quarter=4, unit="quarters")
    assert first.time_signature == (3, 4) and first.notes[0].end_step == 24  # cut at the change
    assert second.time_signature == (4, 4) and second.notes[0].start_step == 4  # 7.0 - 6.0 quarters
    (whole,) = quantized_sections(notes, changes, steps_per_quarter=4, unit="quarters", split=False)
    assert whole.time_signature == (3, 4) and len(whole.notes) == 2


def test_sixteen_steps_per_bar_are_required_unless_asked_otherwise(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    pm.time_signature_changes = [pretty_midi.TimeSignature(3, 4, 0.0)]
    inst = pretty_midi.Instrument(program=0)
    inst.notes = [pretty_midi.Note(90, 60 + i % 7, i * 0.5, i * 0.5 + 0.4) for i in range(24)]  # 8 bars of 3/4
    pm.instruments.append(inst)
    pm.write(str(tmp_path / "waltz.mid"))
    ref = SongRef(id="waltz.mid", path=str(tmp_path / "waltz.mid"), reader="midi")
    assert song_windows(ref, PrepareConfig(kind="melody", bars=2)).skip == "meter"
    waltz = song_windows(ref, PrepareConfig(kind="melody", bars=2, steps_per_bar=12, max_per_song=None))
    assert waltz.tokens.shape == (7, 24, 1)  # 8 bars of 12 steps, windows of 2 bars sliding by one
    with pytest.raises(ConfigError, match="max_bars"):
        PrepareConfig(bars=16, max_bars=8)
    with pytest.raises(ConfigError, match="melody 'top'"):
        PrepareConfig(melody="top")


def test_prepare_counts_windows_per_source(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    (tmp_path / "in").mkdir()
    for k in range(3):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
        inst = pretty_midi.Instrument(program=0)
        inst.notes = [pretty_midi.Note(90, 60 + (i * (k + 2)) % 12, i * 0.5, i * 0.5 + 0.25) for i in range(32)]
        pm.instruments.append(inst)
        pm.write(str(tmp_path / "in" / f"{k}.mid"))
    report = prepare(
        tmp_path / "out.npz", PrepareConfig(workers=1, valid_fraction=0.0, test_fraction=0.0), midi_dir=tmp_path / "in"
    )
    (source,) = report.windows_per_source
    assert dict(report.windows_per_source[source]) == dict(report.windows) and report.windows["train"] > 0
    assert np.load(tmp_path / "out.npz")["train"].shape[0] == report.windows["train"]


def test_each_preset_prepares_magentas_data():
    from zspace.music.presets import PRESETS, data_config

    two_bar, sixteen_bar = data_config("cat-mel_2bar_tiny"), data_config("hierdec-mel_16bar")
    assert (two_bar.bars, two_bar.transpose, two_bar.converter.programs) == (2, 5, range(32))
    assert (sixteen_bar.bars, sixteen_bar.transpose, sixteen_bar.converter.programs) == (16, 0, None)
    assert data_config("hierdec-trio_16bar_tiny").kind == "trio"
    for name in PRESETS:
        config = data_config(name)
        assert config.bars * config.steps_per_bar == PRESETS[name].model.n_steps


def test_music21_scores_split_on_meter_changes_and_expand_repeats():
    music21 = pytest.importorskip("music21")
    from zspace.music.midi import music21_sections

    part = music21.stream.Part()
    for number, pitches in ((1, "C4 D4 E4 F4"), (2, "G4 A4 B4 C5")):
        measure = music21.stream.Measure(number=number)
        measure.append([music21.note.Note(p, quarterLength=1) for p in pitches.split()])
        part.append(measure)
    part.measure(1).insert(0, music21.meter.TimeSignature("4/4"))
    part.measure(1).leftBarline = music21.bar.Repeat(direction="start")
    part.measure(2).rightBarline = music21.bar.Repeat(direction="end")
    tune = music21.stream.Score([part])
    (written,) = music21_sections(tune)
    (expanded,) = music21_sections(tune, expand_repeats=True)
    assert (written.total_steps, expanded.total_steps) == (32, 64)
    assert [n.pitch for n in expanded.notes] == [n.pitch for n in written.notes] * 2
    part = music21.stream.Part()
    for number, pitches in enumerate(("C4 D4 E4", "F4 G4 A4", "B4 C5 D5 E5", "F5 G5 A5 B5"), start=1):
        measure = music21.stream.Measure(number=number)
        if number in (1, 3):
            measure.append(music21.meter.TimeSignature("3/4" if number == 1 else "4/4"))
        measure.append([music21.note.Note(p, quarterLength=1) for p in pitches.split()])
        part.append(measure)
    sections = music21_sections(music21.stream.Score([part]))
    assert [s.time_signature for s in sections] == [(3, 4), (4, 4)]
    assert [len(s.notes) for s in sections] == [6, 8] and sections[1].notes[0].start_step == 0
