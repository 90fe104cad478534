"""MIDI and music21 I/O: exact quantized round trips, tempo/meter, quantization, errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from zspace.errors import DataError
from zspace.music import (
    DrumsEncoding,
    MelodyEncoding,
    Note,
    NoteSequence,
    TrioEncoding,
    extract_melodies,
    from_music21,
    read_midi,
    tokens_to_melody,
    write_midi,
)

pretty_midi = pytest.importorskip("pretty_midi")
mido = pytest.importorskip("mido")

MELODY = [Note(60, 0, 4), Note(62, 4, 6), Note(64, 6, 7), Note(67, 8, 16), Note(72, 20, 22), Note(71, 22, 32)]
BASS = [Note(36, 0, 8, program=33), Note(43, 8, 12, program=33), Note(41, 16, 30, program=33)]
DRUMS = [Note(p, s, s + 1, is_drum=True) for s in range(0, 32, 4) for p in (36, 42)] + [
    Note(38, 4, 5, is_drum=True),
    Note(49, 16, 17, is_drum=True),
    Note(51, 30, 31, is_drum=True),
]


@pytest.mark.parametrize(("qpm", "signature"), [(120.0, (4, 4)), (96.0, (3, 4)), (137.5, (6, 8)), (97.0, (7, 8))])
def test_write_read_preserves_notes_tempo_and_meter(tmp_path, qpm, signature):
    seq = NoteSequence(notes=[*MELODY, Note(48, 0, 16, velocity=33, program=5), *DRUMS], qpm=qpm, time_signature=signature)
    back = read_midi(write_midi(seq, tmp_path / "sub" / "x.mid"))
    assert len({n.instrument for n in back.notes}) == 3  # one track per program and kit
    assert NoteSequence(notes=[replace(n, instrument=0) for n in back.notes]).notes == seq.notes
    assert back.time_signature == signature
    assert back.qpm == pytest.approx(qpm, rel=1e-5)  # MIDI stores whole microseconds per quarter
    assert mido.MidiFile(tmp_path / "sub" / "x.mid").type == 1


@pytest.mark.parametrize(
    ("encoding", "notes"),
    [(MelodyEncoding(), MELODY), (DrumsEncoding(), DRUMS), (TrioEncoding(), MELODY + BASS + DRUMS)],
    ids=["melody", "drums", "trio"],
)
def test_midi_to_tokens_to_midi_is_exact(tmp_path, encoding, notes):
    original = NoteSequence(notes=notes, qpm=110.0)
    seq = read_midi(write_midi(original, tmp_path / "in.mid"))
    tokens = encoding.encode(seq, 0, 32)
    back = read_midi(write_midi(encoding.decode(tokens, qpm=seq.qpm), tmp_path / "out.mid"))
    assert NoteSequence(notes=[replace(n, instrument=0) for n in back.notes]).notes == original.notes  # tracks renumbered
    assert back.qpm == pytest.approx(110.0, rel=1e-5)
    np.testing.assert_array_equal(encoding.encode(back, 0, 32), tokens)


def write_pretty(path, notes_seconds, *, tempo=120.0, program=0):
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    inst = pretty_midi.Instrument(program=program)
    inst.notes = [pretty_midi.Note(velocity=90, pitch=p, start=s, end=e) for p, s, e in notes_seconds]
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def test_read_snaps_to_the_nearest_step_and_keeps_short_notes(tmp_path):
    # 120 qpm: a step (sixteenth) is 0.125 s.
    path = write_pretty(tmp_path / "off.mid", [(60, 0.01, 0.49), (62, 0.56, 0.74), (64, 1.0, 1.02), (65, 1.49, 1.51)])
    assert read_midi(path).notes == (
        Note(60, 0, 4, velocity=90),
        Note(62, 4, 6, velocity=90),  # 0.56 s = 4.48 steps -> 4; 0.74 s = 5.92 -> 6
        Note(64, 8, 9, velocity=90),  # snapped to zero length: one step
        Note(65, 12, 13, velocity=90),
    )


def test_quantization_counts_beats_across_tempo_changes(tmp_path):
    # Quarter notes at 120 qpm for 2 beats, then 60 qpm: beats at 0, .5, 1, then 2 s, 3 s.
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    for i, pitch in enumerate((60, 62, 64, 65)):
        if i == 2:
            track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))
        track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    mid.tracks.append(track)
    mid.save(tmp_path / "tempo.mid")
    seq = read_midi(tmp_path / "tempo.mid")
    assert seq.qpm == pytest.approx(120.0)
    assert [(n.start_step, n.end_step) for n in seq.notes] == [(0, 4), (4, 8), (8, 12), (12, 16)]


def test_read_errors_name_the_path(tmp_path):
    missing = tmp_path / "missing.mid"
    with pytest.raises(DataError, match=f"{missing}: no such MIDI file"):
        read_midi(missing)
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=f"{empty}: the file is empty"):
        read_midi(empty)
    text = tmp_path / "notes.mid"
    text.write_text("C4 D4 E4")
    with pytest.raises(DataError, match=f"{text}: not a MIDI file"):
        read_midi(text)
    good = write_midi(NoteSequence(notes=MELODY), tmp_path / "good.mid")
    truncated = tmp_path / "truncated.mid"
    truncated.write_bytes(good.read_bytes()[:40])
    with pytest.raises(DataError, match=f"{truncated}: corrupt MIDI file"):
        read_midi(truncated)


def test_type_2_files_are_rejected(tmp_path):
    mid = mido.MidiFile(type=2)
    for pitch in (60, 67):
        track = mido.MidiTrack()
        track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
        mid.tracks.append(track)
    mid.save(tmp_path / "seq.mid")
    with pytest.raises(DataError, match=f"{tmp_path / 'seq.mid'}: type-2 MIDI files .* unsupported"):
        read_midi(tmp_path / "seq.mid")


def test_bach_chorale_from_music21_to_melody_tokens():
    music21 = pytest.importorskip("music21")
    chorale = music21.corpus.parse("bach/bwv66.6")
    seq = from_music21(chorale)
    assert seq.qpm == 96.0 and seq.time_signature == (4, 4) and seq.steps_per_bar == 16
    assert len({n.start_step for n in seq.notes}) > 40
    # One-beat pickup: the first chord (soprano C#5) sits on beat 4 of a padded bar.
    assert max(n.pitch for n in seq.notes if n.start_step == 12) == 73
    assert min(n.start_step for n in seq.notes) == 12
    (segment,) = extract_melodies(seq)
    assert segment.start_step == 0 and len(segment.tokens) % 16 == 0
    assert segment.tokens[12] == 73 - 19 and not segment.tokens[:12].any()
    # The skyline of this chorale is exactly its soprano part.
    soprano = from_music21(chorale.parts[0])
    assert tokens_to_melody(segment.tokens, start_step=segment.start_step) == soprano.notes
    tokens = MelodyEncoding().encode(seq, 0, 32)
    np.testing.assert_array_equal(tokens[:, 0], segment.tokens[:32])


def test_from_music21_rejects_non_streams_and_opus():
    music21 = pytest.importorskip("music21")
    with pytest.raises(TypeError, match="Stream"):
        from_music21([60, 62])
    opus = music21.stream.Opus([music21.stream.Score(), music21.stream.Score()])
    with pytest.raises(DataError, match="Opus of 2 scores"):
        from_music21(opus)
