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

from zspace.core.files import read_npz
from zspace.core.io import atomic_write, plain_file_name
from zspace.core.latent import slerp
from zspace.errors import ConfigError, DataError
from zspace.music.config import MusicConverter
from zspace.music.data import midi_windows
from zspace.music.encoding import DEFAULT_QPM, Encoding, Note, NoteSequence, get_encoding
from zspace.music.midi import write_midi
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
def encode(model: MusicVAE, tokens: np.ndarray, *, encoding: Encoding | None = None, batch_size: int = 256) -> Tensor:
    """Posterior means of token windows ``(B, n_steps, n_tracks)``: ``(B, z_size)``, ``batch_size`` at a time."""
    encoding = model_encoding(model, encoding)
    tokens = np.asarray(tokens, dtype=np.int64)
    device = next(model.parameters()).device
    if not len(tokens):
        return torch.zeros(0, model.config.z_size, device=device)
    means = []
    for start in range(0, len(tokens), batch_size):
        inputs = torch.from_numpy(encoding.to_inputs(tokens[start : start + batch_size]))  # (b, T, input_depth)
        means.append(model.encode(inputs.to(device)).mean)
    return torch.cat(means)


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
def read_tokens(path: str | Path, converter: MusicConverter, *, track: int | None = None) -> tuple[np.ndarray, float]:
    """The earliest window of a MIDI file as tokens ``(n_steps, n_tracks)``, and its tempo.

    Windows are cut by the run's converter, as its training data was
    (:func:`zspace.music.data.midi_windows`; a line shorter than a window is padded with
    silence); the earliest is the first by (section, start bar, line). A file that gives none is
    a DataError that says why (e.g. a drum-only file for a melody model).
    """
    windows = midi_windows(path, converter, track=track)
    first = min(windows, key=lambda w: (w.section, w.start_bar or 0, w.line))
    return first.tokens, first.qpm


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
    """Latent codes with where they came from: ``z (n, z_size)``, ``names (n,)`` (the files),
    tempo ``qpm (n,)`` and ``tags (n,)``, which window of its file each is (``FileWindow.tag``;
    empty in files written before windows were tagged)."""

    z: Tensor
    names: tuple[str, ...]
    qpm: np.ndarray
    encoding: str
    n_steps: int
    tags: tuple[str, ...] = ()

    @property
    def stems(self) -> list[str]:
        """File stems for decoded codes: ``NN_NAME`` or ``NN_NAME_TAG``, in order, each a plain file name.

        Names and tags come from the codes file, so a crafted one could hold ``../`` or an
        absolute path: both are cut to plain names (:func:`~zspace.core.io.plain_file_name`).
        """
        tags = self.tags or ("",) * len(self.names)
        return [
            f"{i:02d}_{plain_file_name(Path(name).stem)}" + (f"_{plain_file_name(tag)}" if tag else "")
            for i, (name, tag) in enumerate(zip(self.names, tags))
        ]


def save_codes(path: str | Path, codes: Codes) -> Path:
    """Write codes as an ``.npz`` (arrays and strings only, no pickles), atomically."""
    path = Path(path)
    atomic_write(path, lambda f: np.savez(
        f, z=codes.z.detach().cpu().numpy().astype(np.float32), names=np.array(codes.names, dtype=str),
        qpm=np.asarray(codes.qpm, dtype=np.float64), encoding=np.array(codes.encoding), n_steps=np.array(codes.n_steps),
        tags=np.array(codes.tags or ("",) * len(codes.names), dtype=str),
    ))  # fmt: skip
    return path


def load_codes(path: str | Path) -> Codes:
    """Read a file written by :func:`save_codes` (``zspace music encode``)."""
    path = Path(path)
    fix = f"write one with `zspace music encode RUN a.mid ... --out {path}`"
    f = read_npz(path, what="a codes file of `zspace music encode`", fix=fix)
    kinds = {"z": "f", "qpm": "fiu", "names": "U", "tags": "U", "encoding": "U", "n_steps": "iu"}
    missing = [k for k in kinds if k not in f and k != "tags"]
    if missing:
        raise DataError(f"{path} is not a codes file of `zspace music encode`: no {', '.join(missing)} array(s); {fix}")
    for key, kind in kinds.items():
        if key in f and f[key].dtype.kind not in kind:
            raise DataError(f"{path}: {key} has dtype {f[key].dtype}, expected {_KIND_NAMES[kind]}; {fix}")
    z, names, qpm, tags = f["z"], f["names"], f["qpm"], f.get("tags", np.array([], dtype=str))
    if f["encoding"].ndim or f["n_steps"].ndim:
        raise DataError(f"{path}: encoding and n_steps must be scalars, got shapes {f['encoding'].shape}, {f['n_steps'].shape}")
    n_steps = int(f["n_steps"])
    if not 1 <= n_steps <= MAX_CODE_STEPS:
        raise DataError(f"{path}: n_steps {n_steps} is outside [1, {MAX_CODE_STEPS}]; {fix}")
    if (
        z.ndim != 2
        or names.ndim != 1
        or qpm.ndim != 1
        or len(names) != len(z)
        or len(qpm) != len(z)
        or len(tags) not in (0, len(z))
    ):
        raise DataError(f"{path}: z must be (n, z_size) with n names and tempi, got {z.shape}, {names.shape}, {qpm.shape}")
    if not (np.isfinite(qpm).all() and (qpm > 0).all()):
        raise DataError(f"{path}: qpm (tempi) must be finite and > 0; {fix}")
    return Codes(z=torch.from_numpy(z), names=tuple(str(n) for n in names), qpm=qpm.astype(np.float64),
                 encoding=str(f["encoding"]), n_steps=n_steps, tags=tuple(str(t) for t in tags))  # fmt: skip


# A codes file decodes windows of at most this many steps (Magenta's longest, 16 bars, is 256).
MAX_CODE_STEPS = 4096
_KIND_NAMES = {"f": "floats", "fiu": "numbers", "U": "strings", "iu": "an integer"}


__all__ = [
    "Codes", "decode", "encode", "interpolate", "load_codes", "model_encoding", "numbered", "read_tokens", "sample",
    "save_codes", "to_sequence", "write_samples",
]  # fmt: skip
