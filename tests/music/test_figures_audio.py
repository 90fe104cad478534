"""Piano-roll PNGs (written, sized by their panels) and the WAV preview (header, length, silence)."""

from __future__ import annotations

import struct
import wave

import numpy as np
import pytest

from zspace.errors import ConfigError
from zspace.music.audio import PEAK, render_wav, synthesize
from zspace.music.encoding import Note, NoteSequence
from zspace.music.figures import CELL_INCHES, DPI, interpolation_figure, piano_roll, piano_roll_grid

pytest.importorskip("matplotlib")
CELL_W, CELL_H = round(CELL_INCHES[0] * DPI), round(CELL_INCHES[1] * DPI)


def png_size(path) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    return struct.unpack(">II", data[16:24])


def melody_window(shift: int = 0) -> np.ndarray:
    tokens = np.zeros((32, 1), dtype=np.int64)
    tokens[[0, 4, 12, 20], 0] = np.array([60, 64, 67, 72]) - 19 + shift
    tokens[8, 0] = 1
    return tokens


def test_piano_rolls_have_one_panel_per_part(tmp_path):
    assert png_size(piano_roll(melody_window(), tmp_path / "m.png", encoding="melody", title="tune")) == (CELL_W, CELL_H)
    trio = np.zeros((32, 3), dtype=np.int64)
    trio[:, 0], trio[0, 1], trio[::4, 2] = melody_window()[:, 0], 40 - 19, 5
    assert png_size(piano_roll(trio, tmp_path / "t.png", encoding="trio")) == (CELL_W, 3 * CELL_H)
    drums = NoteSequence(notes=[Note(36, 0, 1, is_drum=True), Note(42, 2, 3, is_drum=True)])
    assert png_size(piano_roll(drums, tmp_path / "d.png")) == (CELL_W, CELL_H)


def test_grid_and_interpolation_layouts(tmp_path):
    windows = np.stack([melody_window(k) for k in range(5)])
    assert png_size(piano_roll_grid(windows, tmp_path / "g.png", encoding="melody", ncol=2)) == (2 * CELL_W, 3 * CELL_H)
    assert png_size(interpolation_figure(windows[:4], tmp_path / "i.png", encoding="melody")) == (CELL_W, 4 * CELL_H)


def test_tokens_need_an_encoding_and_titles_must_match(tmp_path):
    with pytest.raises(ConfigError, match="needs encoding="):
        piano_roll(melody_window(), tmp_path / "x.png")
    with pytest.raises(ConfigError, match="2 titles for 1 windows"):
        piano_roll_grid([melody_window()], tmp_path / "x.png", encoding="melody", titles=["a", "b"])
    assert not (tmp_path / "x.png").exists()


def read_wav(path) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(str(path), "rb") as f:
        return f.getparams(), np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")


def test_wav_header_length_and_level(tmp_path):
    seq = NoteSequence(notes=[Note(60, 0, 4), Note(67, 4, 10, velocity=40), Note(38, 8, 9, is_drum=True)], qpm=100.0)
    params, samples = read_wav(render_wav(seq, tmp_path / "a.wav", sample_rate=16000))
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    end_s = 10 * seq.seconds_per_step  # the last note's end
    assert abs(params.nframes / 16000 - end_s) < seq.seconds_per_step
    assert np.abs(samples).max() == round(PEAK * 32767)  # normalized, with headroom: never clipped


def test_notes_stay_inside_their_steps_and_silence_is_zero(tmp_path):
    seq = NoteSequence(notes=[Note(69, 0, 4)], total_steps=16)
    audio = synthesize(seq, sample_rate=8000)
    note_end = round(4 * seq.seconds_per_step * 8000)
    assert len(audio) == round(16 * seq.seconds_per_step * 8000)
    assert np.abs(audio[:note_end]).max() > 0.5 and not audio[note_end:].any()
    _, samples = read_wav(render_wav(NoteSequence(total_steps=16), tmp_path / "s.wav"))
    assert len(samples) == round(16 * seq.seconds_per_step * 22050) and not samples.any()


def test_drums_render_and_the_file_is_reproducible(tmp_path):
    seq = NoteSequence(notes=[Note(p, s, s + 1, is_drum=True) for s, p in enumerate((36, 38, 42, 46, 45, 48, 50, 49, 51))])
    a, b = render_wav(seq, tmp_path / "a.wav"), render_wav(seq, tmp_path / "b.wav")
    assert a.read_bytes() == b.read_bytes()
    assert np.abs(read_wav(a)[1]).max() == round(PEAK * 32767)
