"""Musical attributes of token windows, and latent attribute vectors that add or remove them.

Measures (numpy, no torch) read token windows ``(n, n_steps, n_tracks)`` of any encoding
and return one float per window. What they read:

- melody: the note ons of track 0 (tokens >= 2);
- trio: the note ons of its melody track (track 0), so a trio's attributes are its tune's;
- drums: the steps where any drum is hit (token > 0); pitch measures do not apply.

An *onset* is such a step. With ``STEPS_PER_BAR = 16`` steps per bar and 4 per quarter:

- ``note_density``: onsets per bar, ``n_onsets / (n_steps / 16)``;
- ``pitch_range``: highest minus lowest onset pitch, in semitones (each note has one pitch,
  so the onset pitches are the sounding pitches);
- ``mean_interval``: mean ``|pitch_{i+1} - pitch_i|`` over consecutive onsets, in semitones;
- ``pitch_mean``: mean MIDI pitch of the onsets;
- ``syncopation``: the share of onsets that fall off the quarter-note grid, i.e. on a step
  with ``step % 4 != 0`` (eighth off-beats and the weak sixteenths alike).

Windows where a measure has no data get a fixed value: ``0`` for every measure of spread or
rate (no onsets: density, range, syncopation 0; fewer than two onsets: mean interval 0),
and NaN for ``pitch_mean`` (no pitch to average); NaN windows are left out of fitting.

Attribute vectors (Roberts et al. 2018, sec. 5.3, after White 2016): encode windows to their
posterior means, split them by an attribute's value, and take the mean code of the top
``quantile`` minus that of the bottom ``quantile``. Adding ``strength * vector`` to a code
and decoding turns the attribute up (or down, for a negative strength). Magenta describes
them but never published code; here they are :func:`fit_attribute_vectors` and
:func:`apply_attributes`. Torch is imported only by the functions that handle codes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from zspace.core.io import atomic_write
from zspace.errors import CheckpointError, ConfigError, DataError
from zspace.music.encoding import MELODY_MIN_PITCH, STEPS_PER_BAR, STEPS_PER_QUARTER, Encoding, get_encoding

if TYPE_CHECKING:
    from torch import Tensor

    from zspace.music.model import MusicVAE

VECTORS_FILE = "attribute_vectors.safetensors"
INFO_FILE = "attribute_vectors.json"
_PITCH_OFFSET = MELODY_MIN_PITCH - 2  # melody token t >= 2 is MIDI pitch t + 19


# ---------------------------------------------------------------------------- measures
def _windows(tokens: np.ndarray, encoding: Encoding | str) -> tuple[np.ndarray, str]:
    """Check ``tokens (n, T, n_tracks)`` against the encoding; return them as int64 and its name."""
    encoding = get_encoding(encoding) if isinstance(encoding, str) else encoding
    tokens = np.asarray(tokens)
    if tokens.ndim != 3 or tokens.shape[-1] != len(encoding.output_depths):
        raise DataError(
            f"attributes need {encoding.name} token windows of shape (n, n_steps, {len(encoding.output_depths)}), "
            f"got {tokens.shape}"
        )
    return tokens.astype(np.int64), encoding.name


def _onsets(tokens: np.ndarray, encoding: Encoding | str) -> np.ndarray:
    """bool ``(n, T)``: where the measured track has an onset (see the module docstring)."""
    tokens, name = _windows(tokens, encoding)
    lead = tokens[..., 0]
    return lead > 0 if name == "drums" else lead >= 2


def _pitches(tokens: np.ndarray, encoding: Encoding | str) -> list[np.ndarray]:
    """Per window, the MIDI pitches of its onsets in time order."""
    tokens, name = _windows(tokens, encoding)
    if name == "drums":
        raise ConfigError("pitch attributes measure melodies; the drums encoding has no pitches (use note_density, syncopation)")
    return [w[w >= 2] + _PITCH_OFFSET for w in tokens[..., 0]]


def note_density(tokens: np.ndarray, encoding: Encoding | str) -> np.ndarray:
    """Onsets per 16-step bar: ``(n,)`` float."""
    onsets = _onsets(tokens, encoding)
    return onsets.sum(axis=1) / (onsets.shape[1] / STEPS_PER_BAR)


def pitch_range(tokens: np.ndarray, encoding: Encoding | str) -> np.ndarray:
    """Highest minus lowest onset pitch in semitones (0 without onsets): ``(n,)`` float."""
    return np.array([float(p.max() - p.min()) if p.size else 0.0 for p in _pitches(tokens, encoding)])


def mean_interval(tokens: np.ndarray, encoding: Encoding | str) -> np.ndarray:
    """Mean absolute semitone step between consecutive onsets (0 with fewer than two): ``(n,)``."""
    return np.array([float(np.abs(np.diff(p)).mean()) if p.size > 1 else 0.0 for p in _pitches(tokens, encoding)])


def pitch_mean(tokens: np.ndarray, encoding: Encoding | str) -> np.ndarray:
    """Mean MIDI pitch of the onsets (NaN without onsets): ``(n,)`` float."""
    return np.array([float(p.mean()) if p.size else math.nan for p in _pitches(tokens, encoding)])


def syncopation(tokens: np.ndarray, encoding: Encoding | str) -> np.ndarray:
    """Share of onsets on steps with ``step % 4 != 0``, off the quarter-note grid (0 without onsets)."""
    onsets = _onsets(tokens, encoding)
    off_beat = np.arange(onsets.shape[1]) % STEPS_PER_QUARTER != 0
    count = onsets.sum(axis=1)
    return np.divide((onsets & off_beat).sum(axis=1), count, out=np.zeros(len(onsets)), where=count > 0)


Measure = Callable[[np.ndarray, "Encoding | str"], np.ndarray]
ATTRIBUTES: Mapping[str, Measure] = MappingProxyType(
    {f.__name__: f for f in (note_density, pitch_range, mean_interval, syncopation, pitch_mean)}
)
PITCH_ATTRIBUTES = frozenset({"pitch_range", "mean_interval", "pitch_mean"})


def check_names(names: Iterable[str]) -> list[str]:
    """``names`` as a list; an unknown one is a ConfigError listing the valid ones."""
    names = list(names)
    unknown = [n for n in names if n not in ATTRIBUTES]
    if unknown:
        raise ConfigError(f"unknown attribute(s) {unknown}; valid attributes are {sorted(ATTRIBUTES)}")
    return names


def default_names(encoding: Encoding | str) -> list[str]:
    """Every attribute that applies to the encoding (drums: the rhythmic ones)."""
    name = encoding if isinstance(encoding, str) else encoding.name
    return [n for n in ATTRIBUTES if not (name == "drums" and n in PITCH_ATTRIBUTES)]


def measure(tokens: np.ndarray, names: Iterable[str], encoding: Encoding | str) -> dict[str, np.ndarray]:
    """``{name: (n,) float}`` for token windows ``(n, n_steps, n_tracks)``."""
    return {name: ATTRIBUTES[name](tokens, encoding) for name in check_names(names)}


def parse_strengths(specs: Iterable[str], valid: Iterable[str] | None = None) -> dict[str, float]:
    """``["note_density=+1.5", "pitch_range=-1"]`` -> ``{"note_density": 1.5, "pitch_range": -1.0}``.

    ``valid`` (default: every attribute) are the names allowed, e.g. those of a fitted set.
    """
    valid = sorted(ATTRIBUTES if valid is None else valid)
    out: dict[str, float] = {}
    for spec in specs:
        name, sep, raw = (s.strip() for s in spec.partition("="))
        try:
            strength = float(raw)
        except ValueError:
            strength = math.nan
        if not sep or not name or not math.isfinite(strength):
            raise ConfigError(f"--apply expects NAME=STRENGTH with a finite number, e.g. note_density=+1.5; got {spec!r}")
        if name not in valid:
            raise ConfigError(f"--apply {spec!r}: no attribute vector named {name!r}; available: {valid}")
        if name in out:
            raise ConfigError(f"--apply names {name!r} twice; give each attribute once")
        out[name] = strength
    return out


# ---------------------------------------------------------------------------- vectors
@dataclass(frozen=True, kw_only=True)
class AttributeVectors:
    """Fitted vectors and what they were fitted from.

    ``vectors[name]``: float32 ``(z_size,)``, mean code of the high group minus the low group.
    ``low_mean`` / ``high_mean``: the attribute's mean value in each group (its units);
    ``n_low`` / ``n_high``: group sizes; ``n_windows``: windows with a defined value.
    """

    encoding: str
    quantile: float
    vectors: Mapping[str, np.ndarray]
    low_mean: Mapping[str, float]
    high_mean: Mapping[str, float]
    n_low: Mapping[str, int]
    n_high: Mapping[str, int]
    n_windows: Mapping[str, int]

    @property
    def names(self) -> list[str]:
        return list(self.vectors)

    @property
    def z_size(self) -> int:
        return len(next(iter(self.vectors.values())))

    def norm(self, name: str) -> float:
        return float(np.linalg.norm(self.vectors[name]))


def split_groups(values: np.ndarray, quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """bool masks ``(low, high)`` of ``values (n,)``: at or below the ``quantile`` quantile and at
    or above the ``1 - quantile`` one, over finite values only. Ties join their group."""
    if not 0 < quantile < 0.5:
        raise ConfigError(f"quantile must lie in (0, 0.5), got {quantile}")
    finite = np.isfinite(values)
    if finite.sum() < 2:
        raise DataError(f"need at least 2 windows where the attribute is defined, got {int(finite.sum())}")
    low_cut, high_cut = np.quantile(values[finite], [quantile, 1.0 - quantile])
    if not low_cut < high_cut:
        raise DataError(
            f"its {quantile:g} and {1 - quantile:g} quantiles are both {low_cut:g}, so the bottom and top groups overlap; "
            "use more varied data or a smaller quantile"
        )
    return finite & (values <= low_cut), finite & (values >= high_cut)


def vectors_from_codes(z: Tensor, values: Mapping[str, np.ndarray], *, encoding: str, quantile: float = 0.25) -> AttributeVectors:
    """Attribute vectors of codes ``z (n, z_size)`` whose windows measure ``values[name] (n,)``."""
    import torch

    from zspace.core.latent import attribute_vector

    fields: dict[str, dict[str, Any]] = {k: {} for k in ("vectors", "low_mean", "high_mean", "n_low", "n_high", "n_windows")}
    for name, v in values.items():
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (len(z),):
            raise DataError(f"attribute {name!r} has {v.shape} values for {len(z)} codes")
        try:
            low, high = split_groups(v, quantile)
        except DataError as err:
            raise DataError(f"attribute {name!r}: {err}") from None
        keep = torch.from_numpy(low | high)
        vector = attribute_vector(z[keep], torch.from_numpy(high)[keep])  # mean(high) - mean(low)
        fields["vectors"][name] = vector.detach().cpu().numpy().astype(np.float32)
        fields["low_mean"][name], fields["high_mean"][name] = float(v[low].mean()), float(v[high].mean())
        fields["n_low"][name], fields["n_high"][name] = int(low.sum()), int(high.sum())
        fields["n_windows"][name] = int(np.isfinite(v).sum())
    return AttributeVectors(encoding=encoding, quantile=quantile, **fields)


@dataclass(frozen=True, kw_only=True)
class AttributeFit:
    """How :func:`fit_attribute_vectors` splits and samples the data."""

    quantile: float = 0.25  # top vs bottom quarter: a clear contrast, yet a quarter of the data behind each mean
    max_windows: int | None = 20_000  # a seeded subset: 5k codes per group already pin the mean; None uses all
    batch_size: int = 256  # windows per encoder call
    seed: int = 0  # picks the subset

    def __post_init__(self) -> None:
        if not 0 < self.quantile < 0.5:
            raise ConfigError(f"AttributeFit.quantile must lie in (0, 0.5), got {self.quantile}")
        if (self.max_windows is not None and self.max_windows < 2) or self.batch_size < 1:
            raise ConfigError(
                f"AttributeFit needs max_windows >= 2 and batch_size >= 1, got {self.max_windows}, {self.batch_size}"
            )


def fit_attribute_vectors(
    model: MusicVAE,
    tokens: np.ndarray,
    names: Sequence[str] | None = None,
    encoding: Encoding | None = None,
    *,
    fit: AttributeFit = AttributeFit(),
) -> AttributeVectors:
    """Measure ``tokens (n, n_steps, n_tracks)``, encode them to posterior means, and fit one
    vector per attribute (default: :func:`default_names` of the model's encoding)."""
    import torch

    from zspace.music.generate import encode, model_encoding

    encoding = model_encoding(model, encoding)
    names = check_names(default_names(encoding) if names is None else names)
    tokens = np.asarray(tokens)
    if fit.max_windows is not None and len(tokens) > fit.max_windows:
        keep = np.random.default_rng(fit.seed).choice(len(tokens), fit.max_windows, replace=False)
        tokens = tokens[np.sort(keep)]
    values = measure(tokens, names, encoding)
    tokens = tokens.astype(np.int64)
    step = fit.batch_size
    z = torch.cat([encode(model, tokens[i : i + step], encoding=encoding).cpu() for i in range(0, len(tokens), step)])
    return vectors_from_codes(z, values, encoding=encoding.name, quantile=fit.quantile)


def apply_attributes(z: Tensor, vectors: AttributeVectors | Mapping[str, Any], strengths: Mapping[str, float]) -> Tensor:
    """``z (..., z_size) + sum_k strengths[k] * vectors[k]`` (``core.latent.apply_attribute``)."""
    import torch

    from zspace.core.latent import apply_attribute

    table = vectors.vectors if isinstance(vectors, AttributeVectors) else vectors
    for name, strength in strengths.items():
        if name not in table:
            raise ConfigError(f"no attribute vector named {name!r}; available: {sorted(table)}")
        vector = torch.as_tensor(np.asarray(table[name]), dtype=z.dtype, device=z.device)
        if vector.shape != z.shape[-1:]:
            raise ConfigError(
                f"attribute vector {name!r} has size {tuple(vector.shape)}, the codes {z.shape[-1]}; fit it on this run"
            )
        z = apply_attribute(z, vector, strength)
    return z


# ---------------------------------------------------------------------------- files
def save_attribute_vectors(vectors: AttributeVectors, directory: str | Path) -> Path:
    """Write ``directory/attribute_vectors.safetensors`` and ``.json``, each atomically."""
    from safetensors.numpy import save

    from zspace.train.checkpoint import write_json_atomic

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: np.ascontiguousarray(v) for k, v in vectors.vectors.items()}
    atomic_write(directory / VECTORS_FILE, lambda f: f.write(save(tensors)))
    info = {"encoding": vectors.encoding, "quantile": vectors.quantile, "z_size": vectors.z_size}
    info["attributes"] = {
        name: {k: getattr(vectors, k)[name] for k in ("low_mean", "high_mean", "n_low", "n_high", "n_windows")}
        | {"norm": vectors.norm(name)}
        for name in vectors.names
    }
    write_json_atomic(directory / INFO_FILE, info)
    return directory


def load_attribute_vectors(directory: str | Path) -> AttributeVectors:
    """Read what :func:`save_attribute_vectors` wrote (never a pickle)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    directory = Path(directory)
    paths = directory / VECTORS_FILE, directory / INFO_FILE
    if not all(p.is_file() for p in paths):
        raise CheckpointError(
            f"{directory} has no {VECTORS_FILE} + {INFO_FILE}; fit them with `zspace music attributes RUN --data ... --out {directory}`"
        )
    try:
        info = json.loads(paths[1].read_text())
        vectors = load_file(str(paths[0]))
        stats = info["attributes"]
        if set(stats) != set(vectors):
            raise KeyError(f"vectors {sorted(vectors)} vs statistics {sorted(stats)}")
        return AttributeVectors(
            encoding=info["encoding"],
            quantile=float(info["quantile"]),
            vectors={n: vectors[n] for n in stats},
            **{k: {n: stats[n][k] for n in stats} for k in ("low_mean", "high_mean", "n_low", "n_high", "n_windows")},
        )
    except (KeyError, TypeError, ValueError, OSError, SafetensorError) as err:
        raise CheckpointError(f"{directory}: unreadable attribute vectors ({err}); fit them again") from err


__all__ = [
    "ATTRIBUTES",
    "PITCH_ATTRIBUTES",
    "AttributeFit",
    "AttributeVectors",
    "apply_attributes",
    "check_names",
    "default_names",
    "fit_attribute_vectors",
    "load_attribute_vectors",
    "mean_interval",
    "measure",
    "note_density",
    "parse_strengths",
    "pitch_mean",
    "pitch_range",
    "save_attribute_vectors",
    "split_groups",
    "syncopation",
    "vectors_from_codes",
]
