"""Compute Magenta's MusicVAE training windows with note_seq itself, for the parity test.

Run in a separate environment with the ``parity`` extra's packages (note_seq must never
enter the project's own venv; it does not need torch or zspace)::

    python3 -m venv /tmp/parity && /tmp/parity/bin/pip install note-seq==0.0.5 music21 pretty_midi
    /tmp/parity/bin/python tools/note_seq_parity.py            # rewrites the fixture
    /tmp/parity/bin/python tools/note_seq_parity.py --write-midi  # also regenerates the MIDI set
    /tmp/parity/bin/python tools/note_seq_parity.py --write-trios  # regenerates only the extra trio files

It (re)writes the MIDI files under ``tests/music/fixtures/parity/`` (music21 corpus pieces
written to MIDI, plus generated multi-track, polyphonic, meter-change, tempo-change, pickup
and drums-only files), then reads each with ``note_seq.midi_file_to_note_sequence`` and runs
MusicVAE's converters as ``magenta/models/music_vae/data.py`` and ``configs.py`` set them up:
``presplit_on_time_changes``, ``quantize_note_sequence(4)``, 16 steps per bar required,
``OneHotMelodyConverter(valid_programs=MEL_PROGRAMS, max_bars=100, slice_bars=2)`` (cat-mel_2bar),
``OneHotMelodyConverter(max_bars=100, slice_bars=16)`` (mel_16bar_converter: every program) and
``DrumsConverter(max_bars=100, slice_bars=2)``, with ``max_tensors_per_notesequence=None``
so every window is kept. Magenta's converter classes need TensorFlow; the few lines of glue
between note_seq calls are copied here instead (cited beside each). The windows go to
``tests/music/fixtures/note_seq_windows.json`` as sorted hex strings (2 hex digits a step for
melody tokens, 3 for drum tokens), which ``tests/music/test_parity.py`` compares with ours.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import note_seq
from note_seq import drums_encoder_decoder, drums_lib, melodies_lib, midi_io, sequences_lib

ROOT = Path(__file__).resolve().parents[1]
MIDI_DIR = ROOT / "tests/music/fixtures/parity"
FIXTURE = ROOT / "tests/music/fixtures/note_seq_windows.json"

STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16
MEL_PROGRAMS = range(32)
MAX_BARS = 100
MELODY_ENCODING = note_seq.MelodyOneHotEncoding(21, 109)
DRUM_CLASS = {p: k for k, pitches in enumerate(drums_encoder_decoder.DEFAULT_DRUM_TYPE_PITCHES) for p in pitches}


# ---------------------------------------------------------------------------- Magenta's glue
def _quantized_sections(ns):
    """data.py: split_note_sequence_on_time_changes, quantize, keep 16-step bars only."""
    for section in sequences_lib.split_note_sequence_on_time_changes(ns):
        try:
            q = sequences_lib.quantize_note_sequence(section, STEPS_PER_QUARTER)
        except (note_seq.BadTimeSignatureError, note_seq.NonIntegerStepsPerBarError, note_seq.NegativeTimeError):
            continue
        if sequences_lib.steps_per_bar_in_quantized_sequence(q) == STEPS_PER_BAR:
            yield q


def _extract_melodies(q, gap_bars=1.0, max_steps_truncate=MAX_BARS * STEPS_PER_BAR):
    """magenta/pipelines/melody_pipelines.py extract_melodies with OneHotMelodyConverter's
    arguments: min_bars=1, min_unique_pitches=1, ignore_polyphonic_notes=True, pad_end=True."""
    melodies = []
    for instrument in {n.instrument for n in q.notes}:
        search_start = 0
        while True:
            melody = melodies_lib.Melody()
            melody.from_quantized_sequence(
                q, instrument=instrument, search_start_step=search_start, gap_bars=gap_bars,
                ignore_polyphonic_notes=True, pad_end=True, filter_drums=True,
            )  # fmt: skip
            search_start = melody.end_step + (0 - melody.end_step) % STEPS_PER_BAR
            if not melody:
                break
            if len(melody) < melody.steps_per_bar:
                continue
            if max_steps_truncate is not None and len(melody) > max_steps_truncate:
                melody.set_length(max_steps_truncate - max_steps_truncate % melody.steps_per_bar)
            melodies.append(melody)
    return melodies


def _extract_drum_tracks(q, gap_bars=1.0, max_steps_truncate=MAX_BARS * STEPS_PER_BAR):
    """magenta/pipelines/drum_pipelines.py extract_drum_tracks with DrumsConverter's arguments."""
    tracks, search_start = [], 0
    while True:
        track = drums_lib.DrumTrack()
        track.from_quantized_sequence(q, search_start_step=search_start, gap_bars=gap_bars, pad_end=True)
        search_start = track.end_step + (0 - track.end_step) % STEPS_PER_BAR
        if not track:
            break
        if len(track) < track.steps_per_bar:
            continue
        if max_steps_truncate is not None and len(track) > max_steps_truncate:
            track.set_length(max_steps_truncate - max_steps_truncate % track.steps_per_bar)
        tracks.append(track)
    return tracks


def _slices(lines, bars):
    """LegacyEventListOneHotConverter / DrumsConverter: windows sliding by one bar, as a set."""
    n = bars * STEPS_PER_BAR
    return {tuple(line[i - n : i]) for line in lines for i in range(n, len(line) + 1, STEPS_PER_BAR)}


def _windows(ns, bars, is_valid, extract, code, hex_digits):
    """Per 16-step section: keep the notes ``is_valid`` passes (the converter's ``_to_tensors``
    filter), extract lines, slide windows; windows as sorted hex strings of ``code(event)``."""
    out = set()
    for q in _quantized_sections(ns):
        keep = [n for n in q.notes if is_valid(n)]
        del q.notes[:]
        q.notes.extend(keep)
        for window in _slices([list(line) for line in extract(q)], bars):
            out.add("".join(f"{code(e):0{hex_digits}x}" for e in window))
    return sorted(out)


def _drum_code(event):
    """A drum event (a set of classes) as its 9-bit class set."""
    return sum(1 << k for k in event)


def _as_drum_class(note):
    """DrumsConverter._to_tensors: drum notes of the 9 classes, pitch replaced by the class."""
    if not (note.is_drum and note.pitch in DRUM_CLASS):
        return False
    note.pitch = DRUM_CLASS[note.pitch]
    return True


def melody_windows(ns, bars, valid_programs):
    """OneHotMelodyConverter: notes of ``valid_programs`` (None: all) in MIDI pitch 21..108."""
    return _windows(ns, bars, lambda n: (valid_programs is None or n.program in valid_programs) and 21 <= n.pitch <= 108,
                    _extract_melodies, MELODY_ENCODING.encode_event, 2)  # fmt: skip


def drum_windows(ns, bars):
    return _windows(ns, bars, _as_drum_class, _extract_drum_tracks, _drum_code, 3)


def trio_windows(ns, bars, gap_bars=2, max_bars=1024):
    """TrioConverter(slice_bars=16, gap_bars=2) (hierdec-trio_16bar): per section, instruments
    typed melody / bass / drums, encoded whole, windows where a triple is covered."""
    import copy
    import itertools

    import numpy as np

    out = set()
    for q in _quantized_sections(ns):
        total_bars = min(int(np.ceil(q.total_quantized_steps / STEPS_PER_BAR)), max_bars)
        kinds, coverage = {}, np.zeros((total_bars, 128), bool)
        for note in q.notes:
            kind = (
                "drums"
                if note.is_drum
                else "mel"
                if note.program in MEL_PROGRAMS
                else "bass"
                if 32 <= note.program < 40
                else "invalid"
            )
            kinds[note.instrument] = kind if kinds.get(note.instrument, kind) == kind else "invalid"
            start_bar, end_bar = note.quantized_start_step // STEPS_PER_BAR, int(np.ceil(note.quantized_end_step / STEPS_PER_BAR))
            if start_bar < total_bars:
                coverage[start_bar : min(end_bar, total_bars), note.instrument] = True
        by_kind = {k: sorted(i for i, t in kinds.items() if t == k) for k in ("mel", "bass", "drums")}
        if not all(by_kind.values()):
            continue
        total_steps = total_bars * STEPS_PER_BAR
        encoded = {}
        # OneHotMelodyConverter / DrumsConverter(gap_bars=None, pad_to_total_time=True), one instrument at a time
        for i in by_kind["mel"] + by_kind["bass"] + by_kind["drums"]:
            is_drums = i in by_kind["drums"]
            part = copy.deepcopy(q)
            keep = [n for n in part.notes if n.instrument == i and (_as_drum_class(n) if is_drums else 21 <= n.pitch <= 108)]
            del part.notes[:]
            part.notes.extend(keep)
            extract = _extract_drum_tracks if is_drums else _extract_melodies
            lines = extract(part, gap_bars=float("inf"), max_steps_truncate=None)
            if lines:
                line = lines[0]
                line.set_length(len(line) + line.start_step, from_left=True)
                line.set_length(total_steps)
                encoded[i] = [(_drum_code if is_drums else MELODY_ENCODING.encode_event)(e) for e in line]
            else:
                coverage[:, i] = False
        og = coverage.copy()
        for j in range(total_bars):
            coverage[j] = np.any(og[max(0, j - gap_bars) : min(total_bars, j + gap_bars) + 1], axis=0)
        for grp in itertools.product(by_kind["mel"], by_kind["bass"], by_kind["drums"]):
            grp_coverage = np.all(coverage[:, grp], axis=1)
            grp_coverage[:gap_bars] = np.any(coverage[:gap_bars, grp])
            grp_coverage[-gap_bars:] = np.any(coverage[-gap_bars:, grp])
            for j in range(total_bars - bars + 1):
                if np.all(grp_coverage[j : j + bars]) and all(i in encoded for i in grp):
                    a, b = j * STEPS_PER_BAR, (j + bars) * STEPS_PER_BAR
                    out.add(
                        "".join(f"{encoded[grp[0]][k]:02x}{encoded[grp[1]][k]:02x}{encoded[grp[2]][k]:03x}" for k in range(a, b))
                    )
    return sorted(out)


# ---------------------------------------------------------------------------- the file set
def _pm(tempo=120.0, meters=((0.0, 4, 4),)):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=tempo)
    pm.time_signature_changes = [pretty_midi.TimeSignature(n, d, t) for t, n, d in meters]
    return pm


def _track(pm, program, notes, is_drum=False, seconds_per_quarter=0.5):
    """notes: (pitch, start quarter, end quarter)."""
    import pretty_midi

    inst = pretty_midi.Instrument(program=program, is_drum=is_drum)
    for pitch, a, b in notes:
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=a * seconds_per_quarter, end=b * seconds_per_quarter))
    pm.instruments.append(inst)
    return inst


def _tune(rng, bars, start=0.0, low=60, high=79, rests=0.15, length_choices=(0.5, 1, 1, 1.5, 2)):
    notes, t = [], start
    while t < start + 4 * bars:
        d = rng.choice(length_choices)
        if rng.random() > rests:
            notes.append((rng.randint(low, high), t, min(t + d, start + 4 * bars)))
        t += d
    return notes


def _drum_pattern(rng, bars, start=0.0, pitches=(36, 38, 42, 46, 49, 51, 45, 48, 50, 39, 81, 34)):
    notes = []
    for step in range(16 * bars):
        for p in pitches:
            if rng.random() < 0.12:
                notes.append((p, start + step / 4, start + step / 4 + 0.25))
    return notes


def write_generated(out: Path) -> None:
    rng = random.Random(13)
    # 1. Multi-track: leads on programs 40 (violin) and 73 (flute), piano 0, bass 33, drums.
    pm = _pm()
    _track(pm, 40, _tune(rng, 8, low=67, high=88))
    _track(pm, 73, _tune(rng, 8, low=72, high=90))
    _track(pm, 0, _tune(rng, 8, low=55, high=72))
    _track(pm, 33, _tune(rng, 8, low=33, high=48))
    _track(pm, 0, _drum_pattern(rng, 8), is_drum=True)
    pm.write(str(out / "gen_multitrack_leads.mid"))
    # 2. Polyphonic single track: chords, overlaps, a lower note cutting a higher one.
    pm = _pm()
    notes = []
    for bar in range(6):
        for beat in range(4):
            t = bar * 4 + beat
            notes += [(60 + rng.randint(0, 7), t, t + rng.choice((0.5, 1, 2, 3))), (48 + rng.randint(0, 7), t, t + 1)]
            if rng.random() < 0.5:
                notes.append((70 + rng.randint(0, 10), t + 0.5, t + rng.choice((0.75, 1.5, 4))))
    _track(pm, 0, notes)
    pm.write(str(out / "gen_polyphonic_piano.mid"))
    # 3. Meter changes: 4/4 (4 bars), 3/4 (4 bars), 4/4 (6 bars), a note held across a change.
    pm = _pm(meters=((0.0, 4, 4), (8.0, 3, 4), (14.0, 4, 4)))
    notes = _tune(rng, 4) + [(t[0], 16 + (t[1]) * 0.75, 16 + t[2] * 0.75) for t in _tune(rng, 4)] + _tune(rng, 6, start=28)
    notes.append((84, 15.0, 17.0))
    _track(pm, 0, notes, seconds_per_quarter=0.5)
    pm.write(str(out / "gen_meter_changes.mid"))
    # 4. Tempo changes (one off the bar line), notes crossing them.
    import pretty_midi

    pm = _pm(tempo=100.0)
    inst = pretty_midi.Instrument(program=0)
    ticks = _tempo_track(pm, [(0, 100.0), (480 * 16, 140.0), (480 * 26, 90.0)])
    for pitch, a, b in _tune(rng, 12):
        inst.notes.append(pretty_midi.Note(90, pitch, ticks(a), ticks(b)))
    pm.instruments.append(inst)
    pm.write(str(out / "gen_tempo_changes.mid"))
    # 5. Pickup: a 3-quarter anacrusis (first note on beat 2), then 4/4 bars.
    pm = _pm()
    _track(pm, 0, [(67, 1, 2), (69, 2, 3), (71, 3, 4)] + _tune(rng, 6, start=4))
    pm.write(str(out / "gen_pickup.mid"))
    # 6. Drums only: gaps of 1 and 2 bars, unmapped pitches (81 is mapped, 34 too; 20, 90 not).
    pm = _pm()
    drums = _drum_pattern(rng, 3) + _drum_pattern(rng, 2, start=16) + _drum_pattern(rng, 4, start=32, pitches=(36, 42, 20, 90))
    _track(pm, 0, drums, is_drum=True)
    pm.write(str(out / "gen_drums_only.mid"))
    # 7. Two drum tracks plus a melody in 2/2, and a 6/8 file (no 16-step bars: no windows).
    pm = _pm(meters=((0.0, 2, 2),))
    _track(pm, 0, _drum_pattern(rng, 4, pitches=(36, 38)), is_drum=True)
    _track(pm, 0, _drum_pattern(rng, 4, pitches=(42, 49)), is_drum=True)
    _track(pm, 25, _tune(rng, 4))
    pm.write(str(out / "gen_two_kits_2-2.mid"))
    pm = _pm(meters=((0.0, 6, 8),))
    _track(pm, 0, _tune(rng, 6))
    pm.write(str(out / "gen_six_eight.mid"))
    # 8. Humanized timing (off the grid), long held notes across windows, duplicate notes in two tracks.
    pm = _pm()
    jitter = [(p, max(0.0, a + rng.uniform(-0.1, 0.1)), b + rng.uniform(-0.1, 0.1)) for p, a, b in _tune(rng, 8)]
    _track(pm, 0, [(p, a, max(b, a + 0.05)) for p, a, b in jitter])
    long_notes = [(60, 0, 9), (62, 9, 10), (64, 10, 24), (65, 26, 40)]
    _track(pm, 1, long_notes)
    _track(pm, 2, long_notes)
    pm.write(str(out / "gen_humanized_long.mid"))
    # 9. Long multi-track piece for 16-bar windows: 40 bars on programs 0, 40 and 73, chords in the piano.
    pm = _pm()
    _track(pm, 0, _tune(rng, 40, low=55, high=76, rests=0.05) + _tune(rng, 40, low=48, high=60, rests=0.3))
    _track(pm, 40, _tune(rng, 40, low=67, high=88, rests=0.05))
    _track(pm, 73, _tune(rng, 36, start=16, low=72, high=90, rests=0.05))
    pm.write(str(out / "gen_long_multitrack.mid"))
    # 10. Trio material: 30 bars of piano lead, bass and drums, two leads, a bass gap of 4 bars,
    # drums that stop early, and a lead on program 40 (not a trio melody).
    pm = _pm()
    _track(pm, 0, _tune(rng, 30, low=60, high=84, rests=0.1))
    _track(pm, 26, _tune(rng, 20, start=24, low=62, high=80, rests=0.1))
    _track(pm, 33, _tune(rng, 10, low=33, high=48, rests=0.1) + _tune(rng, 16, start=56, low=33, high=48, rests=0.1))
    _track(pm, 0, _drum_pattern(rng, 26), is_drum=True)
    _track(pm, 40, _tune(rng, 30, low=70, high=90, rests=0.1))
    pm.write(str(out / "gen_trio_long.mid"))


def write_trios(out: Path) -> None:
    """More trio material (its own seed, so the files above stay as they are): several melody,
    bass and drum tracks at once, a tempo change and a meter change inside a trio, late
    entries, a long bass gap, a chordal lead and notes outside 21..108."""
    import pretty_midi

    rng = random.Random(1613)
    # 1. Two leads (one chordal), two basses, two kits: every (melody, bass, drums) triple gives windows.
    pm = _pm()
    chords = [(p + k, a, b) for p, a, b in _tune(rng, 24, low=60, high=76, rests=0.05) for k in (0, 4, 7)]
    _track(pm, 0, chords)
    _track(pm, 5, _tune(rng, 16, start=32, low=64, high=84, rests=0.1))
    _track(pm, 33, _tune(rng, 24, low=33, high=48, rests=0.1))
    _track(pm, 34, _tune(rng, 20, start=16, low=28, high=45, rests=0.2))
    _track(pm, 0, _drum_pattern(rng, 24, pitches=(36, 38, 42)), is_drum=True)
    _track(pm, 0, _drum_pattern(rng, 18, start=24, pitches=(46, 49, 51, 45)), is_drum=True)
    pm.write(str(out / "gen_trio_triples.mid"))
    # 2. A tempo change after 18 bars: two sections, each with its own windows.
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=110.0)
    seconds = _tempo_track(pm, [(0, 110.0), (480 * 4 * 18, 140.0)])
    for program, is_drum, notes in (
        (1, False, _tune(rng, 36, low=62, high=82, rests=0.05)),
        (32, False, _tune(rng, 36, low=30, high=47, rests=0.05)),
        (0, True, _drum_pattern(rng, 36, pitches=(36, 38, 42, 22, 26))),
    ):
        inst = pretty_midi.Instrument(program=program, is_drum=is_drum)
        inst.notes = [pretty_midi.Note(90, p, seconds(a), seconds(b)) for p, a, b in notes]
        pm.instruments.append(inst)
    pm.write(str(out / "gen_trio_tempo_change.mid"))
    # 3. 4/4, a 3/4 passage, 4/4 again; late drums, a 6-bar bass gap, a lead with notes above 108, a violin (not a trio part).
    pm = _pm(meters=((0.0, 4, 4), (20 * 2.0, 3, 4), (20 * 2.0 + 8 * 1.5, 4, 4)))
    third = 20 * 4 + 8 * 3  # quarters before the second 4/4 passage
    lead = (
        _tune(rng, 20, low=70, high=100)
        + _tune(rng, 6, start=80, low=70, high=90)
        + _tune(rng, 20, start=third, low=90, high=112)
    )
    _track(pm, 0, lead)
    _track(
        pm,
        35,
        _tune(rng, 8, low=33, high=48) + _tune(rng, 6, start=56, low=33, high=48) + _tune(rng, 20, start=third, low=33, high=48),
    )
    _track(pm, 0, _drum_pattern(rng, 16, start=16) + _drum_pattern(rng, 20, start=third), is_drum=True)
    _track(pm, 40, _tune(rng, 40, low=60, high=80))
    pm.write(str(out / "gen_trio_meter_gaps.mid"))


def write_random(out: Path, count: int = 8) -> None:
    """Seeded stress files: random programs (drums too), overlapping notes, off-grid timing,
    meter changes among 4/4, 3/4, 2/2 and 6/8, tempo changes at arbitrary ticks."""
    import pretty_midi

    rng = random.Random(2018)
    for k in range(count):
        pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=rng.choice((90.0, 120.0, 132.0)))
        bars = rng.randint(10, 40)
        tick, meters = 0, []
        for _ in range(rng.randint(1, 3)):
            numerator, denominator = rng.choice(((4, 4), (4, 4), (3, 4), (2, 2), (6, 8)))
            meters.append((tick, numerator, denominator))
            tick += 480 * 4 * numerator // denominator * rng.randint(2, 12)
        changes = [(0, pm.get_tempo_changes()[1][0])] + sorted(
            (rng.randrange(480, 480 * 4 * bars), rng.choice((80.0, 100.0, 150.0))) for _ in range(rng.randint(0, 2))
        )
        seconds = _tempo_track(pm, changes)
        pm.time_signature_changes = [pretty_midi.TimeSignature(n, d, seconds(t / 480)) for t, n, d in meters]
        for _ in range(rng.randint(1, 4)):
            is_drum = rng.random() < 0.25
            inst = pretty_midi.Instrument(program=rng.choice((0, 0, 5, 24, 33, 40, 56, 73, 81)), is_drum=is_drum)
            t = rng.choice((0.0, 0.0, 1.0, 3.0))
            while t < 4 * bars:
                chord = rng.choice((1, 1, 1, 2, 3))
                for _ in range(chord):
                    pitch = rng.randint(35, 59) if is_drum else rng.randint(40, 96)
                    length = rng.choice((0.25, 0.5, 1.0, 1.5, 3.0, 6.0))
                    a = t + (rng.uniform(-0.08, 0.08) if rng.random() < 0.3 else 0.0)
                    inst.notes.append(pretty_midi.Note(rng.randint(1, 127), pitch, seconds(max(a, 0)), seconds(a + length)))
                t += rng.choice((0.25, 0.5, 0.5, 1.0, 1.0, 2.0)) + (4.0 if rng.random() < 0.05 else 0.0)
            pm.instruments.append(inst)
        pm.write(str(out / f"gen_random_{k}.mid"))


def _tempo_track(pm, changes):
    """Set tempo changes ``(tick, qpm)`` on ``pm`` (pretty_midi writes ``_tick_scales``) and
    return quarters -> seconds under them."""
    pm._tick_scales = [(tick, 60.0 / (qpm * pm.resolution)) for tick, qpm in changes]
    pm._update_tick_to_time(pm.resolution * 400)
    return lambda quarters: float(pm.tick_to_time(round(quarters * pm.resolution)))


def write_corpus(out: Path) -> None:
    from music21 import corpus

    for name, work in (("bach_bwv66.6", "bach/bwv66.6"), ("bach_bwv7.7", "bach/bwv7.7")):
        corpus.parse(work).write("midi", fp=str(out / f"m21_{name}.mid"))
    # Essen tunes with a pickup and with 3/4 (ABC -> MIDI through music21).
    # Essen tunes in 4/4 and 2/4 with and without pickups: the first four that music21 writes.
    opus = corpus.parse("essenFolksong/altdeu10")
    written = 0
    for score in opus.scores:
        meter = score.recurse().getElementsByClass("TimeSignature").first()
        if meter is None or meter.ratioString not in ("4/4", "2/4", "3/4"):
            continue
        try:
            score.write("midi", fp=str(out / f"m21_altdeu10_{score.metadata.number}.mid"))
        except Exception:  # noqa: BLE001, S112 - music21 cannot write some ABC tunes to MIDI; take the next
            continue
        written += 1
        if written == 4:
            break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-midi", action="store_true", help="regenerate the MIDI files first")
    parser.add_argument("--write-trios", action="store_true", help="regenerate only write_trios' MIDI files first")
    args = parser.parse_args()
    MIDI_DIR.mkdir(parents=True, exist_ok=True)
    if args.write_midi:
        write_generated(MIDI_DIR)
        write_random(MIDI_DIR)
        write_corpus(MIDI_DIR)
    if args.write_midi or args.write_trios:
        write_trios(MIDI_DIR)
    result = {
        "note_seq_version": getattr(note_seq, "__version__", "unknown"),
        "settings": {"steps_per_quarter": STEPS_PER_QUARTER, "steps_per_bar": STEPS_PER_BAR, "max_bars": MAX_BARS,
                     "gap_bars": 1.0, "melody_programs": {"melody_2bar": [0, 31], "melody_16bar": "all"}},
        "files": {},
    }  # fmt: skip
    for path in sorted(MIDI_DIR.glob("*.mid")):
        ns = midi_io.midi_file_to_note_sequence(str(path))
        result["files"][path.name] = {
            "melody_2bar": melody_windows(ns, 2, MEL_PROGRAMS),  # cat-mel_2bar_*: valid_programs=MEL_PROGRAMS
            "melody_16bar": melody_windows(ns, 16, None),  # configs.py mel_16bar_converter: every program
            "drums_2bar": drum_windows(ns, 2),
            "trio_16bar": trio_windows(ns, 16),  # hierdec-trio_16bar: TrioConverter(slice_bars=16, gap_bars=2)
        }
        counts = {k: len(v) for k, v in result["files"][path.name].items()}
        print(f"{path.name}: {counts}")
    FIXTURE.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
