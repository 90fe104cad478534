"""A user's MIDI file cut into windows by the run's converter, as the training data was (zspace.music.data)."""

from __future__ import annotations

import numpy as np
import pytest

from zspace.errors import ConfigError, DataError
from zspace.music.config import MusicConverter
from zspace.music.data import midi_windows

pretty_midi = pytest.importorskip("pretty_midi")
MELODY2 = MusicConverter(kind="melody", bars=2)  # cat-mel_2bar's converter
DRUMS2 = MusicConverter(kind="drums", bars=2)
STEP = 0.125  # seconds per step at 120 qpm, 4 steps per quarter


def write(path, tracks, *, meter=(4, 4), tempo_change_at=None):
    """A MIDI file with one instrument per (program, [(pitch, start_step, end_step), ...]) in ``tracks``."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(*meter, 0.0))
    for program, notes in tracks:
        is_drum = program == "drums"
        instrument = pretty_midi.Instrument(program=0 if is_drum else program, is_drum=is_drum)
        instrument.notes = [pretty_midi.Note(90, p, s * STEP, e * STEP) for p, s, e in notes]
        pm.instruments.append(instrument)
    if tempo_change_at is not None:  # pretty_midi writes tempo changes from its private list
        pm._tick_scales.append((pm.time_to_tick(tempo_change_at * STEP), 60.0 / (90.0 * pm.resolution)))
    pm.write(str(path))
    return path


def walk(first_pitch: int, bars: int, program: int = 0):
    """Quarter notes rising by a step each bar: (program, notes) over ``bars`` bars."""
    return program, [(first_pitch + bar, 16 * bar + 4 * i, 16 * bar + 4 * i + 3) for bar in range(bars) for i in range(4)]


def test_melodies_are_per_track_and_programs_follow_the_model_length(tmp_path):
    path = write(tmp_path / "two.mid", [walk(72, 3), walk(60, 3), walk(84, 3, program=40)])  # a violin lead on top
    two_bar = midi_windows(path, MELODY2)
    assert [(w.track, w.start_bar) for w in two_bar] == [(0, 0), (0, 1), (1, 0), (1, 1)]  # programs 0-31: no violin
    assert two_bar[0].tokens[0, 0] == 72 - 19 and two_bar[2].tokens[0, 0] == 60 - 19  # each line its own track
    assert {w.track for w in midi_windows(path, MusicConverter(bars=2, melody_programs="all"))} == {0, 1, 2}
    three_bar = midi_windows(path, MusicConverter(bars=3))  # longer than 2 bars: every program, as mel_16bar_converter
    assert [w.track for w in three_bar] == [0, 1, 2] and three_bar[2].tokens[0, 0] == 84 - 19


def test_a_track_can_be_chosen_and_skyline_merges_the_tracks(tmp_path):
    path = write(tmp_path / "two.mid", [walk(60, 2), walk(72, 2)])
    (low,) = midi_windows(path, MELODY2, track=0)
    assert low.track == 0 and low.tokens[0, 0] == 60 - 19
    (top,) = midi_windows(path, MusicConverter(bars=2, melody="skyline"))
    assert top.track is None and top.tokens[0, 0] == 72 - 19  # the older rule: the top voice of both tracks
    with pytest.raises(DataError, match="no melody notes in track 5"):
        midi_windows(path, MELODY2, track=5)


def test_a_short_line_is_padded_to_one_window_and_says_so(tmp_path):
    path = write(tmp_path / "short.mid", [(0, [(60, 0, 4), (64, 4, 12)])])
    (window,) = midi_windows(path, MELODY2)
    assert window.padded and "padded" in window.describe(2)
    expected = np.zeros(32, dtype=np.int64)
    expected[[0, 4, 12]] = [60 - 19, 64 - 19, 1]  # the held note ends where the line ended
    assert np.array_equal(window.tokens[:, 0], expected)


def test_files_without_windows_say_why_and_what_to_change(tmp_path):
    drums = write(tmp_path / "drums.mid", [("drums", [(36, 0, 1), (38, 4, 5)])])
    with pytest.raises(DataError, match="no melody notes"):
        midi_windows(drums, MELODY2)
    assert len(midi_windows(drums, DRUMS2)) == 1
    violin = write(tmp_path / "violin.mid", [walk(72, 2, program=40)])
    with pytest.raises(DataError, match="--melody-programs all"):
        midi_windows(violin, MELODY2)
    waltz = write(tmp_path / "waltz.mid", [walk(72, 4)], meter=(3, 4))
    with pytest.raises(DataError, match="3/4.*--meter any"):
        midi_windows(waltz, MELODY2)
    assert len(midi_windows(waltz, MusicConverter(bars=2, meter="any"))) == 3  # 64 steps: 16-step "bars" 0..2
    with pytest.raises(ConfigError, match="skyline' applies to melody windows"):
        MusicConverter(kind="drums", bars=2, melody="skyline")
    with pytest.raises(ConfigError, match="melody_programs 'some'"):
        MusicConverter(melody_programs="some")


def test_a_tempo_change_starts_a_new_section(tmp_path):
    path = write(tmp_path / "tempo.mid", [walk(60, 4)], tempo_change_at=32)
    windows = midi_windows(path, MELODY2)
    assert [(w.section, w.start_bar) for w in windows] == [(0, 0), (1, 0)]
    assert windows[1].tag == "s1_l0_bar01" and windows[1].describe(2).startswith("section 1, line 0 (track 0), bars 1-2")
    assert abs(windows[0].qpm - 120.0) < 1e-6 and abs(windows[1].qpm - 90.0) < 1e-3


def test_bars_follow_the_models_steps_per_bar(tmp_path):
    """A 3/4 model (12-step bars) reads a 3/4 file bar by bar; a 4/4 model refuses it and says why."""
    notes = [(60 + bar, 12 * bar + 4 * i, 12 * bar + 4 * i + 3) for bar in range(4) for i in range(3)]
    path = write(tmp_path / "waltz.mid", [(0, notes)], meter=(3, 4))
    windows = midi_windows(path, MusicConverter(bars=2, steps_per_bar=12))
    assert [w.start_bar for w in windows] == [0, 1, 2] and windows[1].tokens[0, 0] == 61 - 19  # each window starts a bar
    (whole,) = midi_windows(path, MusicConverter(bars=4, steps_per_bar=12))  # 4 bars of 12 steps, not 3 bars of 16
    assert whole.tokens.shape == (48, 1) and whole.tokens[36, 0] == 63 - 19
    with pytest.raises(DataError, match="no section has 16-step bars, its meters are 3/4"):
        midi_windows(path, MELODY2)


def test_an_empty_file_says_it_has_no_notes(tmp_path):
    with pytest.raises(DataError, match="empty.mid: no notes"):
        midi_windows(write(tmp_path / "empty.mid", [(0, [])]), MELODY2)


def test_read_tokens_takes_the_earliest_window_not_the_lowest_track(tmp_path):
    from zspace.music.generate import read_tokens

    late = (0, [(72, 16 * 8 + 4 * i, 16 * 8 + 4 * i + 3) for i in range(8)])  # track 0 starts at bar 9
    path = write(tmp_path / "late.mid", [late, walk(60, 2)])  # track 1 from bar 1
    tokens, _ = read_tokens(path, MELODY2)
    assert tokens[0, 0] == 60 - 19
