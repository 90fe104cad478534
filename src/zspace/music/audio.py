"""A small audio preview of a NoteSequence: additive synthesis to a 16-bit mono WAV file.

Enough to hear what a sample or an interpolation does without a synthesizer or a
soundfont download: numpy for the signal, the stdlib ``wave`` module for the file.

- Pitched notes: a triangle-like tone (odd harmonics 1, 3, 5, 7 at 1/k^2, alternating sign,
  those under the Nyquist frequency), with a linear attack and release inside the note's own
  duration, so a note never sounds past its end step.
- Drums: one short burst per hit, by class: kick and toms a decaying sine (the kick's pitch
  falls), snare, hi-hats and cymbals decaying white noise (hi-hats and cymbals high-passed by a
  first difference, which brightens them).

The file lasts ``total_steps * seconds_per_step`` seconds; the mix is scaled so its peak is
``PEAK`` of full scale (never clipped), and silence stays all zeros.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from zspace.errors import ConfigError
from zspace.music.encoding import DRUM_PITCH_CLASSES, NoteSequence

PEAK = 0.9  # of 16-bit full scale: headroom for players that resample
ATTACK_S, RELEASE_S = 0.005, 0.03  # short enough for sixteenth notes at 120 qpm (125 ms)
_DRUM_CLASS = {pitch: k for k, pitches in enumerate(DRUM_PITCH_CLASSES) for pitch in pitches}
# Per drum class (DRUM_CLASS_NAMES order): (kind, decay seconds, sine Hz).
_DRUM_VOICES = (
    ("sine", 0.15, 55.0),  # kick
    ("noise", 0.12, 0.0),  # snare
    ("bright", 0.04, 0.0),  # closed hi-hat
    ("bright", 0.25, 0.0),  # open hi-hat
    ("sine", 0.20, 98.0),  # low tom
    ("sine", 0.18, 131.0),  # mid tom
    ("sine", 0.16, 175.0),  # high tom
    ("bright", 0.60, 0.0),  # crash
    ("bright", 0.35, 0.0),  # ride
)


def _tone(freq: float, n: int, sample_rate: int) -> np.ndarray:
    """A triangle-like tone of ``n`` samples: odd harmonics at 1/k^2, alternating sign."""
    t = np.arange(n) / sample_rate
    out = np.zeros(n)
    for i, k in enumerate((1, 3, 5, 7)):
        if k * freq < sample_rate / 2:
            out += (-1) ** i / k**2 * np.sin(2 * np.pi * k * freq * t)
    return out


def _envelope(n: int, sample_rate: int) -> np.ndarray:
    """Linear attack then sustain then linear release to zero, all within ``n`` samples."""
    attack = max(1, min(int(ATTACK_S * sample_rate), n // 4))
    release = max(1, min(int(RELEASE_S * sample_rate), n // 2))
    env = np.ones(n)
    env[:attack] = np.linspace(0.0, 1.0, attack, endpoint=False)
    env[n - release :] = np.linspace(1.0, 0.0, release)
    return env


def _drum(k: int, n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    kind, decay, freq = _DRUM_VOICES[k]
    t = np.arange(n) / sample_rate
    if kind == "sine":
        sweep = freq * (1.0 + (1.0 if k == 0 else 0.3) * np.exp(-t / 0.03))  # pitch drops as the head settles
        signal = np.sin(2 * np.pi * np.cumsum(sweep) / sample_rate)
    else:
        signal = rng.standard_normal(n + 1)
        signal = np.diff(signal) * 0.5 if kind == "bright" else signal[:n] * 0.6
    return signal * np.exp(-t / decay)


def synthesize(sequence: NoteSequence, *, sample_rate: int = 22050, seed: int = 0) -> np.ndarray:
    """The sequence as float64 samples ``(total_steps * seconds_per_step * sample_rate,)``, peak ``PEAK`` (or zeros)."""
    if sample_rate < 1000:
        raise ConfigError(f"sample_rate must be at least 1000 Hz, got {sample_rate}")
    step_s = sequence.seconds_per_step
    total = round(sequence.total_steps * step_s * sample_rate)
    mix = np.zeros(total)
    rng = np.random.default_rng(seed)  # drum noise: the same file every time
    for note in sequence.notes:
        start = round(note.start_step * step_s * sample_rate)
        gain = note.velocity / 127
        if note.is_drum:
            k = _DRUM_CLASS.get(note.pitch)
            if k is None:
                continue
            n = min(total - start, int(_DRUM_VOICES[k][1] * 5 * sample_rate))  # 5 decay times: < 1% left
            if n > 0:
                mix[start : start + n] += gain * _drum(k, n, sample_rate, rng)
        else:
            stop = min(total, round(note.end_step * step_s * sample_rate))
            if stop > start:
                freq = 440.0 * 2.0 ** ((note.pitch - 69) / 12)
                mix[start:stop] += gain * _tone(freq, stop - start, sample_rate) * _envelope(stop - start, sample_rate)
    peak = np.abs(mix).max(initial=0.0)
    return mix * (PEAK / peak) if peak > 0 else mix


def render_wav(sequence: NoteSequence, path: str | Path, *, sample_rate: int = 22050) -> Path:
    """Write ``sequence`` as a 16-bit PCM mono WAV at ``sample_rate`` Hz; returns ``path``."""
    samples = np.round(synthesize(sequence, sample_rate=sample_rate) * 32767).astype("<i2")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(samples.tobytes())
    return path


__all__ = ["render_wav", "synthesize"]
