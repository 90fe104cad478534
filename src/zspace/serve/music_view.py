"""The MusicVAE view: sample, decode, slerp interpolation, attribute sliders, MIDI in and out.

A melody goes to the page as its codes ``z (z_size,)``, tokens ``(n_steps, n_tracks)`` and
notes ``{pitch, start, end, drum}`` in 16th-note steps (the page draws the piano roll and plays
it with Web Audio at ``qpm``). The page keeps what it was given and sends codes or tokens back,
so the server holds no per-client state.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zspace.core.latent import slerp
from zspace.errors import ZspaceError
from zspace.music.attributes import apply_attributes, load_attribute_vectors
from zspace.music.config import MusicConverter
from zspace.music.encoding import DEFAULT_QPM, STEPS_PER_QUARTER
from zspace.music.generate import decode, encode, read_tokens
from zspace.music.midi import write_midi
from zspace.music.run import load_model, load_run_config
from zspace.serve.errors import RequestError, require

log = logging.getLogger("zspace.serve")
ATTRIBUTES_DIR = "attributes"  # RUN/attributes: where `zspace music attributes --out` is shown writing them
MIDI_MAGIC = b"MThd"


class MusicView:
    """A loaded MusicVAE run (and its attribute vectors, when ``RUN/attributes`` holds them)."""

    def __init__(self, model: Any, encoding: Any, vectors: Any = None, converter: MusicConverter | None = None) -> None:
        self.model = model.eval()
        # the rules uploads are cut by: the run's, as its training data was
        self.converter = converter or MusicConverter.for_model(model.config)
        self.encoding = encoding
        self.z_size = model.config.z_size
        self.n_steps = model.config.n_steps
        self.depths = tuple(encoding.output_depths)  # classes per track
        self.vectors = vectors

    @classmethod
    def from_run(cls, run_dir: Path) -> MusicView:
        config = load_run_config(run_dir)
        vectors = None
        if (run_dir / ATTRIBUTES_DIR).is_dir():
            vectors = load_attribute_vectors(run_dir / ATTRIBUTES_DIR)
            if vectors.encoding != config.encoding.name or vectors.z_size != config.model.z_size:
                log.warning("%s holds attribute vectors of another model; the page offers none", run_dir / ATTRIBUTES_DIR)
                vectors = None
        return cls(load_model(run_dir), config.encoding, vectors, config.data_converter)

    def info(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding.name,
            "z_size": self.z_size,
            "n_steps": self.n_steps,
            "steps_per_quarter": STEPS_PER_QUARTER,
            "qpm": DEFAULT_QPM,
            "attributes": [] if self.vectors is None else self.vectors.names,
        }

    # -- building blocks -------------------------------------------------------------------
    def _melody(self, z: torch.Tensor, tokens: np.ndarray, qpm: float = DEFAULT_QPM) -> dict[str, Any]:
        """JSON of one window: z (Z,), tokens (n_steps, n_tracks), its notes in steps."""
        seq = self.encoding.decode(tokens, qpm)
        notes = [{"pitch": n.pitch, "start": n.start_step, "end": n.end_step, "drum": n.is_drum} for n in seq.notes]
        return {"z": z.numpy().round(5).tolist(), "tokens": tokens.tolist(), "notes": notes, "qpm": qpm}

    def _codes(self, z: list[list[float]]) -> torch.Tensor:
        bad = [len(row) for row in z if len(row) != self.z_size]
        require(not bad, f"each code must have z_size={self.z_size} numbers; got one of length {bad[:1]}")
        return torch.tensor(z, dtype=torch.float32)  # (B, Z)

    def _decode(self, z: torch.Tensor, temperature: float, greedy: bool, seed: int) -> list[dict[str, Any]]:
        tokens = decode(self.model, z, temperature=temperature, greedy=greedy, seed=seed)  # (B, T, K)
        return [self._melody(code, window) for code, window in zip(z, tokens)]

    def check_tokens(self, tokens: list[list[int]]) -> np.ndarray:
        """A window from the page: (n_steps, n_tracks) of class indices in each track's range."""
        shape = (self.n_steps, len(self.depths))
        require(
            len(tokens) == shape[0] and all(isinstance(row, list) and len(row) == shape[1] for row in tokens),
            f"tokens must have shape {shape}: {shape[0]} steps of {shape[1]} class indices each",
        )
        require(all(isinstance(t, int) and 0 <= t < 2**31 for row in tokens for t in row), "tokens must be class indices")
        array = np.asarray(tokens, dtype=np.int64)
        for k, depth in enumerate(self.depths):
            require(bool(((array[:, k] >= 0) & (array[:, k] < depth)).all()), f"track {k}'s tokens must lie in 0..{depth - 1}")
        return array

    # -- what the page asks for ------------------------------------------------------------
    def sample(self, n: int, temperature: float, seed: int) -> dict[str, Any]:
        """n windows from z ~ N(0, I) (seeded), decoded by sampling the softmax at ``temperature``."""
        z = torch.randn(n, self.z_size, generator=torch.Generator().manual_seed(seed))
        return {"items": self._decode(z, temperature, greedy=False, seed=seed)}

    def decode(self, z: list[list[float]], temperature: float, greedy: bool, seed: int) -> dict[str, Any]:
        return {"items": self._decode(self._codes(z), temperature, greedy, seed)}

    def interpolate(self, a: list[float], b: list[float], steps: int, temperature: float, greedy: bool, seed: int) -> dict:
        """The slerp path (steps, Z) between two codes (Roberts et al. 2018, sec. 5.2), each point decoded."""
        za, zb = self._codes([a, b])
        return {"items": self._decode(slerp(za, zb, steps), temperature, greedy, seed)}

    def with_attributes(self, z: list[float], strengths: dict[str, float], temperature: float, greedy: bool, seed: int) -> dict:
        """The code moved by ``sum_k strength_k * vector_k`` and decoded."""
        require(
            self.vectors is not None, "this run has no attribute vectors (fit them with `zspace music attributes`)", status=404
        )
        unknown = sorted(set(strengths) - set(self.vectors.names))
        require(not unknown, f"no attribute vector named {unknown}; this run has {self.vectors.names}")
        moved = apply_attributes(self._codes([z]), self.vectors, strengths)
        return {"items": self._decode(moved, temperature, greedy, seed)}

    def encode_midi(self, content: bytes) -> dict[str, Any]:
        """Posterior mean and tokens of the earliest window of an uploaded MIDI file (cut as the training data)."""
        require(content[: len(MIDI_MAGIC)] == MIDI_MAGIC, "not a MIDI file: it does not start with 'MThd'", status=415)
        with _scratch_file(content) as path:
            try:
                tokens, qpm = read_tokens(path, self.converter)
            except ZspaceError as err:  # the message names our scratch file: name the upload instead
                raise RequestError(str(err).replace(str(path), "the uploaded file")) from err
        z = encode(self.model, tokens[None])[0]
        return self._melody(z, tokens, qpm)

    def midi_bytes(self, windows: list[list[list[int]]], qpm: float) -> bytes:
        """A MIDI file of the windows played one after another."""
        from zspace.music.generate import to_sequence

        seq = to_sequence(self.encoding, [self.check_tokens(w) for w in windows], qpm=qpm)
        with _scratch_file(b"") as path:
            write_midi(seq, path)
            return path.read_bytes()


@contextmanager
def _scratch_file(content: bytes) -> Iterator[Path]:
    """A private temporary file holding ``content``; its name is ours, never the request's."""
    fd, name = tempfile.mkstemp(prefix="zspace-serve-", suffix=".mid")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        yield path
    finally:
        path.unlink(missing_ok=True)


__all__ = ["ATTRIBUTES_DIR", "MusicView"]
