"""What a musician does with a trained MusicVAE: sample, encode, decode, interpolate, to and from MIDI.

Token arrays are numpy int64 ``(..., n_steps, n_tracks)`` in the model's encoding; codes are
torch tensors ``(..., z_size)``. Every function here is a thin composition of the model
(:class:`~zspace.music.model.MusicVAE`), the encoding and :mod:`zspace.music.midi`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from zspace.core.io import atomic_write
from zspace.core.latent import slerp
from zspace.errors import ConfigError, DataError
from zspace.music.encoding import DEFAULT_QPM, STEPS_PER_QUARTER, Encoding, Note, NoteSequence, get_encoding
from zspace.music.midi import read_midi, write_midi
from zspace.music.model import MusicVAE


def model_encoding(model: MusicVAE, encoding: Encoding | None = None) -> Encoding:
    """The model's encoding; a given ``encoding`` must be it."""
    if encoding is not None and encoding.name != model.config.encoding:
        raise ConfigError(f"the model reads the {model.config.encoding} encoding, not {encoding.name}")
    return encoding or get_encoding(model.config.encoding)


def _generator(model: MusicVAE, seed: int) -> torch.Generator:
    device = next(model.parameters()).device
    return torch.Generator(device=device).manual_seed(seed)


def sample(
    model: MusicVAE,
    encoding: Encoding | None = None,
    n: int = 8,
    *,
    temperature: float = 1.0,
    seed: int = 0,
    greedy: bool = False,
) -> np.ndarray:
    """``n`` sequences decoded from z ~ N(0, I): tokens int64 ``(n, n_steps, n_tracks)``.

    The same seed gives the same sequences (z and every draw come from one seeded generator).
    """
    model_encoding(model, encoding)
    if n < 1:
        raise ConfigError(f"sample needs n >= 1, got {n}")
    if not greedy and temperature <= 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    tokens = model.sample(n, temperature=temperature, greedy=greedy, generator=_generator(model, seed))
    return tokens.cpu().numpy().astype(np.int64)


@torch.no_grad()
def encode(model: MusicVAE, tokens: np.ndarray, *, encoding: Encoding | None = None) -> Tensor:
    """Posterior means of token windows ``(B, n_steps, n_tracks)``: ``(B, z_size)``."""
    encoding = model_encoding(model, encoding)
    inputs = torch.from_numpy(encoding.to_inputs(np.asarray(tokens, dtype=np.int64)))  # (B, T, input_depth)
    return model.encode(inputs.to(next(model.parameters()).device)).mean


def decode(
    model: MusicVAE, z: Tensor, *, temperature: float = 1.0, greedy: bool = True, seed: int = 0, n_steps: int | None = None
) -> np.ndarray:
    """Tokens int64 ``(B, n_steps, n_tracks)`` of codes ``z (B, z_size)``; greedy (argmax) by default."""
    if z.dim() != 2 or z.shape[-1] != model.config.z_size:
        raise ConfigError(f"codes must have shape (B, {model.config.z_size}) for this model, got {tuple(z.shape)}")
    bad = (~torch.isfinite(z).all(dim=1)).nonzero().flatten().tolist()
    if bad:  # a NaN code decodes to silence, not to an error
        raise DataError(f"codes {bad[:10]} hold NaN or inf; re-encode the files with `zspace music encode`")
    z = z.to(next(model.parameters()).device)
    tokens = model.decode(z, n_steps, temperature=temperature, greedy=greedy, generator=_generator(model, seed))
    return tokens.cpu().numpy().astype(np.int64)


def interpolate(
    model: MusicVAE,
    a_tokens: np.ndarray,
    b_tokens: np.ndarray,
    steps: int = 7,
    *,
    encoding: Encoding | None = None,
    temperature: float = 1.0,
    greedy: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """Decoded points of the slerp path between the posterior means of two windows.

    a_tokens, b_tokens: ``(n_steps, n_tracks)``; returns ``(steps, n_steps, n_tracks)``, both
    end points included (Roberts et al. 2018, sec. 5.2: interpolate in latent space, decode).
    """
    if steps < 2:
        raise ConfigError(f"an interpolation needs --steps >= 2 (both end points), got {steps}")
    z = encode(model, np.stack([a_tokens, b_tokens]), encoding=encoding)  # (2, Z)
    path = slerp(z[0], z[1], steps)  # (steps, Z)
    return decode(model, path, temperature=temperature, greedy=greedy, seed=seed, n_steps=np.shape(a_tokens)[0])


# ---------------------------------------------------------------------------- MIDI
def read_tokens(path: str | Path, encoding: Encoding, n_steps: int) -> tuple[np.ndarray, float]:
    """The first ``n_steps`` of a MIDI file as tokens ``(n_steps, n_tracks)``, and its tempo.

    A file shorter than that is padded with silence; one with nothing the encoding reads in
    those steps is a DataError (e.g. a drum-only file for a melody model).
    """
    seq = read_midi(path, steps_per_quarter=STEPS_PER_QUARTER)
    tokens = encoding.encode(seq, 0, n_steps)
    if not tokens.any():
        raise DataError(
            f"{path}: no {encoding.name} notes in its first {n_steps} steps ({n_steps // 16} bars of 4/4); "
            f"pass a file whose {encoding.name} starts at the beginning"
        )
    return tokens, seq.qpm


def to_sequence(encoding: Encoding, windows: Sequence[np.ndarray] | np.ndarray, *, qpm: float = DEFAULT_QPM) -> NoteSequence:
    """Windows ``(n, n_steps, n_tracks)`` played one after another as one sequence.

    Each window is decoded on its own, so a note held at a window's end stops there (as
    Magenta concatenates interpolation steps), instead of running on into the next.
    """
    notes: list[Note] = []
    offset = 0
    for window in windows:
        seq = encoding.decode(np.asarray(window, dtype=np.int64), qpm)
        notes += [Note(n.pitch, n.start_step + offset, n.end_step + offset, n.velocity, n.program, n.is_drum) for n in seq.notes]
        offset += seq.total_steps
    return NoteSequence(notes=tuple(notes), qpm=qpm, total_steps=offset)


def numbered(prefix: str, n: int) -> list[str]:
    """File stems ``prefix_00``, ``prefix_01``, ... (wider past 100) that sort in order."""
    width = max(2, len(str(n - 1)))
    return [f"{prefix}_{i:0{width}d}" for i in range(n)]


def write_samples(
    encoding: Encoding,
    tokens: np.ndarray,
    out_dir: str | Path,
    *,
    qpm: float | Sequence[float] = DEFAULT_QPM,
    prefix: str = "sample",
    stems: Sequence[str] | None = None,
) -> list[Path]:
    """One MIDI file per window ``tokens (n, n_steps, n_tracks)``: ``out_dir/sample_00.mid``, ...

    ``stems`` names the files instead of ``prefix``; ``qpm`` is one tempo or one per window.
    """
    out_dir = Path(out_dir)
    stems = list(stems) if stems is not None else numbered(prefix, len(tokens))
    tempi = [qpm] * len(tokens) if isinstance(qpm, (int, float)) else list(qpm)
    return [
        write_midi(encoding.decode(t, float(q)), out_dir / f"{stem}.mid") for stem, t, q in zip(stems, tokens, tempi, strict=True)
    ]


# ---------------------------------------------------------------------------- codes on disk
@dataclass(frozen=True, kw_only=True, eq=False)
class Codes:
    """Latent codes with where they came from: ``z (n, z_size)``, ``names (n,)``, tempo ``qpm (n,)``."""

    z: Tensor
    names: tuple[str, ...]
    qpm: np.ndarray
    encoding: str
    n_steps: int


def save_codes(path: str | Path, codes: Codes) -> Path:
    """Write codes as an ``.npz`` (arrays and strings only, no pickles), atomically."""
    path = Path(path)
    atomic_write(path, lambda f: np.savez(
        f, z=codes.z.detach().cpu().numpy().astype(np.float32), names=np.array(codes.names, dtype=str),
        qpm=np.asarray(codes.qpm, dtype=np.float64), encoding=np.array(codes.encoding), n_steps=np.array(codes.n_steps),
    ))  # fmt: skip
    return path


def load_codes(path: str | Path) -> Codes:
    """Read a file written by :func:`save_codes` (``zspace music encode``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such codes file {path}; write one with `zspace music encode RUN a.mid ... --out {path}`")
    try:
        with np.load(path, allow_pickle=False) as f:
            z, names, qpm = f["z"], f["names"], f["qpm"]
            encoding, n_steps = str(f["encoding"]), int(f["n_steps"])
    except (KeyError, ValueError, OSError) as err:
        raise DataError(f"{path} is not a codes file of `zspace music encode` ({err})") from err
    if z.ndim != 2 or len(names) != len(z) or len(qpm) != len(z):
        raise DataError(f"{path}: z must be (n, z_size) with n names and tempi, got {z.shape}, {names.shape}, {qpm.shape}")
    return Codes(z=torch.from_numpy(z), names=tuple(str(n) for n in names), qpm=qpm, encoding=encoding, n_steps=n_steps)


__all__ = [
    "Codes", "decode", "encode", "interpolate", "load_codes", "model_encoding", "numbered", "read_tokens", "sample",
    "save_codes", "to_sequence", "write_samples",
]  # fmt: skip
