"""Note-sequence encodings: melody (90 classes), drums (512), trio; skyline, splitting, tables."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zspace.errors import ConfigError, DataError
from zspace.music import (
    DRUM_PITCH_CLASSES,
    MELODY_NOTE_OFF,
    DrumsEncoding,
    MelodyEncoding,
    Note,
    NoteSequence,
    TrioEncoding,
    canonical_melody_tokens,
    drum_classes_to_tokens,
    drum_input_table,
    drum_tokens_to_classes,
    drums_to_tokens,
    extract_melodies,
    get_encoding,
    melody_input_table,
    melody_to_tokens,
    melody_transpositions,
    skyline,
    tokens_to_drums,
    tokens_to_melody,
    transpose_melody_tokens,
)


def tok(pitch: int) -> int:
    return pitch - 19


# ---------------------------------------------------------------------------- data model
def test_note_validation_names_the_field():
    with pytest.raises(DataError, match="pitch"):
        Note(128, 0, 1)
    with pytest.raises(DataError, match="start_step=4, end_step=4"):
        Note(60, 4, 4)
    with pytest.raises(DataError, match="velocity"):
        Note(60, 0, 1, velocity=0)


def test_sequence_sorts_notes_and_defaults_total_steps():
    a, b = Note(64, 4, 8), Note(60, 0, 12)
    seq = NoteSequence(notes=[a, b])
    assert seq.notes == (b, a)
    assert seq == NoteSequence(notes=(b, a))
    assert seq.total_steps == 12
    assert NoteSequence(notes=[a], total_steps=32).total_steps == 32
    with pytest.raises(DataError, match="total_steps=6"):
        NoteSequence(notes=[a], total_steps=6)


@pytest.mark.parametrize(("signature", "steps"), [((4, 4), 16), ((3, 4), 12), ((6, 8), 12), ((4, 2), 32)])
def test_steps_per_bar(signature, steps):
    assert NoteSequence(time_signature=signature).steps_per_bar == steps


def test_fractional_bar_is_an_error():
    with pytest.raises(DataError, match="3.5 steps"):
        _ = NoteSequence(time_signature=(7, 32)).steps_per_bar


# ---------------------------------------------------------------------------- melody
def test_melody_token_range_and_out_of_range_pitches_dropped():
    notes = [Note(21, 0, 1), Note(108, 1, 2), Note(20, 2, 3), Note(109, 3, 4), Note(60, 4, 5, is_drum=True)]
    tokens = melody_to_tokens(notes, 0, 6)
    assert tokens.dtype == np.int64 and tokens.shape == (6,)
    # 21 -> 2, 108 -> 89 (its note off at step 2); 20, 109 and the drum are gone.
    np.testing.assert_array_equal(tokens, [2, 89, MELODY_NOTE_OFF, 0, 0, 0])


def test_skyline_on_a_polyphonic_example():
    notes = [
        Note(60, 0, 8),  # cut at step 2 by the higher 64
        Note(64, 2, 6),
        Note(55, 3, 12),  # starts under 64: dropped, and not resumed when 64 ends at 6
        Note(72, 8, 10),
        Note(67, 8, 12),  # same onset as 72, lower: dropped
        Note(72, 9, 11),  # same pitch re-struck: cuts the first 72
    ]
    assert skyline(notes) == [Note(60, 0, 2), Note(64, 2, 6), Note(72, 8, 9), Note(72, 9, 11)]
    expected = [tok(60), 0, tok(64), 0, 0, 0, 1, 0, tok(72), tok(72), 0, 1, 0, 0, 0, 0]
    np.testing.assert_array_equal(melody_to_tokens(notes, 0, 16), expected)


def test_tokens_to_melody_hand_example():
    tokens = np.array([0, tok(60), 0, tok(62), 1, 0, 1, tok(64), 0])
    assert tokens_to_melody(tokens, start_step=16, program=3) == (
        Note(60, 17, 19, program=3),
        Note(62, 19, 20, program=3),
        Note(64, 23, 25, program=3),
    )


def test_window_skips_notes_started_before_it_and_truncates_at_its_end():
    notes = [Note(60, 0, 20), Note(62, 20, 24), Note(64, 28, 40)]
    np.testing.assert_array_equal(melody_to_tokens(notes, 16, 16), [0] * 4 + [tok(62), 0, 0, 0, 1, 0, 0, 0, tok(64), 0, 0, 0])


@st.composite
def monophonic_melodies(draw, n_steps=32):
    """Non-overlapping in-range notes inside [0, n_steps)."""
    cuts = sorted(draw(st.sets(st.integers(0, n_steps), min_size=2, max_size=16)))
    notes = []
    for start, end in itertools.pairwise(cuts):
        if draw(st.booleans()):  # a rest here, or a note ending early
            end = draw(st.integers(start + 1, end))
            notes.append(Note(draw(st.integers(21, 108)), start, end))
    return notes


@settings(max_examples=150, deadline=None)
@given(monophonic_melodies())
def test_monophonic_melodies_round_trip_through_tokens(notes):
    tokens = melody_to_tokens(notes, 0, 32)
    assert tokens.min() >= 0 and tokens.max() < 90
    assert list(tokens_to_melody(tokens)) == notes


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 89), min_size=1, max_size=40))
def test_any_tokens_re_encode_to_their_canonical_form(values):
    tokens = np.array(values)
    back = melody_to_tokens(tokens_to_melody(tokens), 0, len(tokens))
    np.testing.assert_array_equal(back, canonical_melody_tokens(tokens))


def test_canonical_tokens_drop_note_offs_that_end_nothing():
    tokens = np.array([[1, 0, 1, tok(60), 0, 1, 1, 0, tok(60), 1], [tok(60), 1, 0, 0, 0, 0, 0, 0, 0, 0]])
    expected = [[0, 0, 0, tok(60), 0, 1, 0, 0, tok(60), 1], [tok(60), 1, 0, 0, 0, 0, 0, 0, 0, 0]]
    np.testing.assert_array_equal(canonical_melody_tokens(tokens), expected)


def test_window_is_the_canonical_slice_of_the_whole():
    rng = np.random.default_rng(0)
    # Dense random polyphony, seeded: a window equals the canonicalised slice of the full encoding.
    starts = rng.integers(0, 60, size=40)
    notes = [Note(int(p), int(s), int(s + d)) for p, s, d in zip(rng.integers(40, 90, 40), starts, rng.integers(1, 9, 40))]
    full = melody_to_tokens(notes, 0, 64)
    for start in range(0, 48, 3):
        window = melody_to_tokens(notes, start, 16)
        np.testing.assert_array_equal(window, canonical_melody_tokens(full[start : start + 16]))


def test_transposition():
    tokens = np.array([tok(60), 0, 1, tok(100), 0, 0])
    np.testing.assert_array_equal(transpose_melody_tokens(tokens, -3), [tok(57), 0, 1, tok(97), 0, 0])
    # Lowest note 60 may go down 39 (to 21), highest 100 up 8 (to 108).
    np.testing.assert_array_equal(melody_transpositions(tokens, 12), np.arange(-12, 9))
    np.testing.assert_array_equal(melody_transpositions(np.array([tok(22), tok(107)]), 3), [-1, 0, 1])
    np.testing.assert_array_equal(melody_transpositions(np.zeros(4, int), 2), [-2, -1, 0, 1, 2])
    with pytest.raises(DataError, match=r"\+9 semitones.*\[-9, .*, 8\]"):
        transpose_melody_tokens(tokens, 9)


def bar_notes(bar: int, pitches: list[int]) -> list[Note]:
    """Quarter notes starting at the beginning of ``bar``."""
    return [Note(p, 16 * bar + 4 * i, 16 * bar + 4 * i + 4) for i, p in enumerate(pitches)]


def test_extract_melodies_splits_at_a_bar_of_silence():
    # Phrase A: bars 0-1; one full empty bar; phrase B starts on bar 3, beat 2.
    phrase_b = [Note(67, 52, 54), Note(65, 54, 56), Note(64, 56, 60)]
    seq = NoteSequence(notes=bar_notes(0, [60, 62, 64, 65]) + bar_notes(1, [67]) + phrase_b)
    a, b = extract_melodies(seq)
    assert (a.start_step, len(a.tokens)) == (0, 32)
    assert (b.start_step, len(b.tokens)) == (48, 16)
    assert tokens_to_melody(b.tokens, start_step=b.start_step) == tuple(phrase_b)
    assert a.tokens[20] == MELODY_NOTE_OFF and not a.tokens[21:].any()

    (whole,) = extract_melodies(seq, gap_bars=None)
    assert (whole.start_step, len(whole.tokens)) == (0, 64)
    assert len(extract_melodies(seq, gap_bars=2)) == 2  # the silence, steps 20..52, is exactly 2 bars
    assert len(extract_melodies(seq, gap_bars=2.5)) == 1


def test_extract_melodies_filters_and_selects_programs():
    repeated = bar_notes(0, [60, 60, 60, 60])
    other = [Note(n.pitch, n.start_step + 64, n.end_step + 64, program=40) for n in bar_notes(0, [62, 64, 65, 67])]
    seq = NoteSequence(notes=repeated + other)
    assert [s.start_step for s in extract_melodies(seq)] == [0, 64]
    assert [s.start_step for s in extract_melodies(seq, min_unique_pitches=2)] == [64]
    assert extract_melodies(seq, min_notes=5) == []
    assert [s.start_step for s in extract_melodies(seq, programs={40})] == [64]


# ---------------------------------------------------------------------------- drums
def test_drum_pitch_classes_are_magentas():
    assert len(DRUM_PITCH_CLASSES) == 9
    assert tuple(c[0] for c in DRUM_PITCH_CLASSES) == (36, 38, 42, 46, 45, 48, 50, 49, 51)
    pitches = [p for c in DRUM_PITCH_CLASSES for p in c]
    assert len(pitches) == len(set(pitches)) == 63  # no pitch in two classes
    for k, group in enumerate(DRUM_PITCH_CLASSES):
        hits = [Note(p, i, i + 1, is_drum=True) for i, p in enumerate(group)]
        np.testing.assert_array_equal(drums_to_tokens(hits, 0, len(group)), [1 << k] * len(group))


def test_drum_bitmask_round_trips_on_all_512_values():
    tokens = np.arange(512)
    classes = drum_tokens_to_classes(tokens)
    assert classes.shape == (512, 9) and classes.dtype == bool
    np.testing.assert_array_equal(classes.sum(axis=1), [t.bit_count() for t in range(512)])
    np.testing.assert_array_equal(drum_classes_to_tokens(classes), tokens)
    # Tokens -> notes -> tokens, one step per value.
    notes = tokens_to_drums(tokens)
    assert all(n.is_drum and n.end_step == n.start_step + 1 for n in notes)
    np.testing.assert_array_equal(drums_to_tokens(notes, 0, 512), tokens)


def test_drums_ignore_unknown_pitches_and_pitched_notes():
    notes = [Note(36, 0, 4, is_drum=True), Note(38, 0, 1, is_drum=True), Note(21, 1, 2, is_drum=True), Note(36, 2, 3)]
    np.testing.assert_array_equal(drums_to_tokens(notes, 0, 4), [0b11, 0, 0, 0])


# ---------------------------------------------------------------------------- tables and encodings
def test_input_tables():
    np.testing.assert_array_equal(melody_input_table(), np.eye(90))
    table = drum_input_table()
    assert table.shape == (512, 10) and table.dtype == np.float32
    np.testing.assert_array_equal(table[:, :9], drum_tokens_to_classes(np.arange(512)))
    np.testing.assert_array_equal(np.flatnonzero(table[:, 9]), [0])  # rest bit only for "no hit"


def test_input_tables_are_copies():
    encoding = DrumsEncoding()
    (table,) = encoding.input_table()
    table[0] = 7.0  # a caller's table is theirs to change ...
    np.testing.assert_array_equal(encoding.to_inputs(np.zeros((1, 1), dtype=int)), [[0] * 9 + [1]])  # ... not ours


@pytest.mark.parametrize(
    ("encoding", "depths", "input_depth"),
    [(MelodyEncoding(), (90,), 90), (DrumsEncoding(), (512,), 10), (TrioEncoding(), (90, 90, 512), 692)],
)
def test_encoding_shapes_and_to_inputs_matches_the_tables(encoding, depths, input_depth):
    assert encoding.output_depths == depths and encoding.input_depth == input_depth
    tables = encoding.input_table()
    assert [t.shape for t in tables] == [(d, t.shape[1]) for d, t in zip(depths, tables)]
    assert sum(t.shape[1] for t in tables) == input_depth
    rng = np.random.default_rng(1)
    tokens = np.stack([rng.integers(0, d, size=(2, 5, 32)) for d in depths], axis=-1)  # (2, 5, 32, n_tracks)
    inputs = encoding.to_inputs(tokens)
    assert inputs.shape == (2, 5, 32, input_depth) and inputs.dtype == np.float32
    b, i, t = 1, 3, 17
    np.testing.assert_array_equal(inputs[b, i, t], np.concatenate([tab[tokens[b, i, t, k]] for k, tab in enumerate(tables)]))


@pytest.mark.parametrize("encoding", [MelodyEncoding(), DrumsEncoding(), TrioEncoding()])
def test_decode_then_encode_is_identity_on_canonical_tokens(encoding):
    rng = np.random.default_rng(2)
    tokens = np.stack([rng.integers(0, d, size=64) for d in encoding.output_depths], axis=-1)
    for k, depth in enumerate(encoding.output_depths):
        if depth == 90:
            tokens[:, k] = canonical_melody_tokens(tokens[:, k])
    seq = encoding.decode(tokens, qpm=90.0)
    assert seq.qpm == 90.0 and seq.total_steps == 64 and seq.time_signature == (4, 4)
    out = encoding.encode(seq, 0, 64)
    assert out.dtype == np.int64 and out.shape == (64, len(encoding.output_depths))
    np.testing.assert_array_equal(out, tokens)


def test_trio_chooses_parts_by_program():
    seq = NoteSequence(
        notes=[
            Note(72, 0, 4, program=0),  # melody (piano)
            Note(76, 4, 8, program=81),  # no part: Magenta's trio melody is programs 0..31
            Note(40, 0, 8, program=33),  # bass
            Note(36, 0, 1, is_drum=True),
            Note(42, 0, 1, is_drum=True),
        ]
    )
    tokens = TrioEncoding().encode(seq, 0, 16)
    assert tokens[0].tolist() == [tok(72), tok(40), 0b101]
    assert tokens[4, 0] == 1 and tokens[8].tolist() == [0, 1, 0]  # the piano's note-off; program 81 is no melody
    bass = [n for n in TrioEncoding().decode(tokens).notes if n.pitch == 40]
    assert bass == [Note(40, 0, 8, program=33)]
    assert MelodyEncoding().encode(seq, 0, 16)[4, 0] == tok(76)  # the melody encoding takes every program


def test_encoding_errors():
    with pytest.raises(ConfigError, match=r"'lead'.*\['drums', 'melody', 'trio'\]"):
        get_encoding("lead")
    assert get_encoding("trio") == TrioEncoding()
    with pytest.raises(DataError, match="steps_per_quarter=4"):
        MelodyEncoding().encode(NoteSequence(steps_per_quarter=8), 0, 16)
    with pytest.raises(DataError, match=r"track 2 .*0\.\.511"):
        TrioEncoding().to_inputs(np.array([[0, 0, 512]]))
    with pytest.raises(DataError, match="integers"):
        MelodyEncoding().to_inputs(np.zeros((4, 1), dtype=np.float32))
    with pytest.raises(DataError, match=r"\(\.\.\., n_steps, 3\)"):
        TrioEncoding().decode(np.zeros((16, 1), dtype=int))
