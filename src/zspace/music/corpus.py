"""MusicVAE's data pipeline: MIDI folders or music21's bundled corpus -> token windows on disk.

``prepare`` lists the songs of a source (a folder of .mid/.midi files, searched recursively,
or ``music21:NAME``, e.g. ``music21:essenFolksong``), assigns each song a split from a hash
of its id, parses the songs in worker processes (:mod:`zspace.music.songs`; each sends back
only its small token windows, so a Lakh-sized folder streams through), removes duplicate
windows and writes one compressed ``.npz`` plus a JSON manifest next to it. ``load_prepared``
reads and checks that file for training.

File layout (``np.load(path)``; no pickles): ``train`` / ``valid`` / ``test`` tokens
``(n, n_steps, n_tracks)`` uint8 (melody) or uint16 (drums, trio); ``{split}_song`` int32
``(n,)`` indices into ``songs`` (the song ids, str); ``manifest``, the manifest as JSON.

Duplicates are dropped across the whole data set in split order train, valid, test, so no
valid or test window is an exact copy of a train window (nor a test window of a valid one).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from zspace import __version__
from zspace.core.files import read_npz
from zspace.core.io import atomic_write_text
from zspace.core.workers import worker_pool
from zspace.errors import ConfigError, DataError
from zspace.music.config import MusicConverter, PrepareConfig, converter_of
from zspace.music.encoding import ENCODINGS, Encoding, get_encoding
from zspace.music.npzfile import write_npz
from zspace.music.songs import (
    SKIP_REASONS,
    SPLITS,
    SongRef,
    SongWindows,
    list_songs,
    song_windows,
    stable_fraction,
    window_dtype,
    with_split,
)

log = logging.getLogger(__name__)

FORMAT = "zspace.music.prepared"
FORMAT_VERSION = 1
WARNINGS_PER_REASON = 3  # a Lakh folder has thousands of bad files: warn about a few, count all


@dataclass(frozen=True, kw_only=True)
class PrepareReport:
    """What ``prepare`` did. A song is a MIDI file or one tune of a music21 collection."""

    out: Path
    manifest_path: Path
    source: str
    kind: str
    unit: str  # "file" (MIDI folder) or "tune" (music21 corpus): what a song is here
    songs_listed: int  # after --limit
    songs_read: int  # parsed and gave windows
    skipped: Mapping[str, int]  # reason key (songs.SKIP_REASONS) -> songs
    skip_examples: Mapping[str, tuple[str, ...]]  # reason -> a few "song id: message"
    windows: Mapping[str, int]  # split -> windows written
    songs: Mapping[str, int]  # split -> songs with at least one window
    duplicates_dropped: int
    capped_dropped: int  # distinct windows left out by max_per_song
    augmented: int  # transposed copies added to train
    seconds: float
    windows_per_source: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # source -> split -> windows

    @property
    def songs_per_s(self) -> float:
        return self.songs_listed / max(self.seconds, 1e-9)

    def skip_summary(self, bars: int | None = None) -> str:
        """``"5 corrupt, 7 too short"``, largest first."""

        def words(key: str) -> str:
            return f"too short for {bars} bars" if key == "too_short" and bars else SKIP_REASONS.get(key, key)

        return ", ".join(f"{n} {words(k)}" for k, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True, eq=False)
class PreparedData:
    """A prepared file, checked: ``tokens[split] (n, n_steps, n_tracks)`` (uint8/uint16,
    read-only; cast before use), ``song[split] (n,)`` indices into ``song_names``."""

    path: Path
    manifest: Mapping[str, Any]
    tokens: Mapping[str, np.ndarray]
    song: Mapping[str, np.ndarray]
    song_names: tuple[str, ...]

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def bars(self) -> int:
        return self.manifest["bars"]

    @property
    def n_steps(self) -> int:
        return self.manifest["n_steps"]

    @property
    def encoding(self) -> Encoding:
        return get_encoding(self.manifest["encoding"])

    @property
    def converter(self) -> MusicConverter:
        """The rules the windows were cut by (files written before it was stored: from their prepare config)."""
        return converter_of(self.manifest.get("converter") or self.manifest["config"])

    @property
    def train(self) -> np.ndarray:
        return self.tokens["train"]

    @property
    def valid(self) -> np.ndarray:
        return self.tokens["valid"]

    @property
    def test(self) -> np.ndarray:
        return self.tokens["test"]


def prepare(
    out: str | Path,
    config: PrepareConfig | None = None,
    *,
    corpus: str | None = None,
    midi_dir: str | Path | None = None,
    command: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> PrepareReport:
    """Turn one source into ``out`` (a ``.npz``) and ``out.with_suffix('.json')``; see the module doc.

    ``command`` is recorded in the manifest; ``on_progress(done, total)`` is called per song.
    Unreadable songs are skipped (warned about and counted); zero windows is a DataError.
    """
    start = time.perf_counter()
    config, out = config or PrepareConfig(), Path(out)
    if out.suffix != ".npz":
        raise ConfigError(f"--out {out} must end in .npz")
    refs, source = list_songs(corpus=corpus, midi_dir=midi_dir)
    if config.limit is not None and config.limit < len(refs):
        refs = sorted(refs, key=lambda r: stable_fraction(r.id, "limit"))[: config.limit]
    refs = with_split(refs, config.valid_fraction, config.test_fraction)
    unit, dtype = source["unit"], window_dtype(config.kind)
    source_name = source.get("path") or ",".join(f"music21:{n}" for n in source["name"].split(","))

    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    song_parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    song_names: list[str] = []
    skipped: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    seen: set[bytes] = set()
    per_source: dict[str, Counter[str]] = {r.source: Counter({s: 0 for s in SPLITS}) for r in refs}
    duplicates = capped = augmented = 0
    for done, result in enumerate(_run(refs, config), start=1):
        if result.tokens is None:
            skipped[result.skip] += 1
            examples.setdefault(result.skip, [])
            if len(examples[result.skip]) < WARNINGS_PER_REASON:
                examples[result.skip].append(f"{result.ref.id}: {result.message}")
                more = " (further ones are only counted)" if len(examples[result.skip]) == WARNINGS_PER_REASON else ""
                log.warning("skipped %s (%s): %s%s", result.ref.where, SKIP_REASONS[result.skip], result.message, more)
        else:
            keep = _first_seen(result.tokens, seen)
            duplicates += len(keep) - int(keep.sum())
            capped, augmented = capped + result.capped, augmented + result.augmented
            if keep.any():
                per_source[result.ref.source][result.ref.split] += int(keep.sum())
                parts[result.ref.split].append(result.tokens[keep])
                song_parts[result.ref.split].append(np.full(int(keep.sum()), len(song_names), dtype=np.int32))
                song_names.append(result.ref.id)
        if on_progress is not None:
            on_progress(done, len(refs))
        if done % max(1, len(refs) // 10) == 0:
            log.info("read %d/%d %ss (%.1f/s)", done, len(refs), unit, done / (time.perf_counter() - start))

    counts = {s: sum(len(p) for p in parts[s]) for s in SPLITS}
    songs_per_split = {s: len(song_parts[s]) for s in SPLITS}
    report = PrepareReport(
        out=out, manifest_path=out.with_suffix(".json"), source=source_name, kind=config.kind, unit=unit,
        songs_listed=len(refs), songs_read=len(refs) - sum(skipped.values()),
        skipped=MappingProxyType(dict(skipped)), skip_examples=MappingProxyType({k: tuple(v) for k, v in examples.items()}),
        windows=MappingProxyType(counts), songs=MappingProxyType(songs_per_split), duplicates_dropped=duplicates,
        capped_dropped=capped, augmented=augmented, seconds=0.0,
        windows_per_source=MappingProxyType({k: MappingProxyType(dict(v)) for k, v in sorted(per_source.items())}),
    )  # fmt: skip
    if not sum(counts.values()):
        raise DataError(
            f"0 windows from {source_name}: all {len(refs)} {unit}s were skipped ({report.skip_summary(config.bars)})"
        )
    encoding = get_encoding(config.kind)
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "kind": config.kind, "encoding": encoding.name,
        "bars": config.bars, "steps_per_bar": config.steps_per_bar, "n_steps": config.n_steps,
        "n_tracks": len(encoding.output_depths), "output_depths": list(encoding.output_depths), "dtype": dtype.name,
        "counts": counts, "songs": songs_per_split, "source": source, "songs_listed": len(refs),
        "songs_read": report.songs_read, "skipped": dict(sorted(skipped.items())), "duplicates_dropped": duplicates,
        "capped_dropped": capped, "augmented": augmented, "config": asdict(config),
        "converter": asdict(config.converter), "command": command,
        "windows_per_source": {k: dict(v) for k, v in report.windows_per_source.items()},
        "zspace_version": __version__,
    }  # fmt: skip
    shape = (config.n_steps, len(encoding.output_depths))
    members: dict[str, tuple[tuple[int, ...], np.dtype, list[np.ndarray]]] = {}
    for s in SPLITS:
        members[s] = ((counts[s], *shape), dtype, parts[s])
        members[f"{s}_song"] = ((counts[s],), np.dtype(np.int32), song_parts[s])
    names = np.array(song_names, dtype=str)
    members["songs"] = (names.shape, names.dtype, [names])
    text = np.array(json.dumps(manifest))
    members["manifest"] = ((), text.dtype, [text])
    write_npz(out, members)
    atomic_write_text(report.manifest_path, json.dumps(manifest, indent=2) + "\n")
    seconds = time.perf_counter() - start
    log.info("wrote %s: %s windows in %.1f s", out, counts, seconds)
    return replace(report, seconds=seconds)


def load_prepared(path: str | Path, *, kind: str | None = None, bars: int | None = None) -> PreparedData:
    """Read and check a file written by :func:`prepare`; ``kind`` / ``bars``, if given, must match.

    Any problem (missing file, missing field, wrong kind, bad shapes or values) is a DataError
    that names the file and how to make a good one.
    """
    path = Path(path)
    fix = _fix(path, kind, bars)
    if not path.is_file():
        raise DataError(f"{path}: no such prepared data file; {fix}")
    arrays = read_npz(path, what="a prepared .npz", fix=fix)
    if "manifest" not in arrays:
        raise DataError(f"{path}: has no 'manifest' field, so it was not written by `zspace music prepare`; {fix}")
    try:
        manifest = json.loads(str(arrays["manifest"][()]))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: its manifest is not valid JSON ({err}); {fix}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        found = f"{manifest.get('format')!r} v{manifest.get('format_version')}" if isinstance(manifest, dict) else "unknown"
        raise DataError(f"{path}: format {found}, expected {FORMAT!r} v{FORMAT_VERSION}; {fix}")
    if kind is not None and manifest.get("kind") != kind:
        raise DataError(f"{path}: holds {manifest.get('kind')} windows, {kind} windows are needed; {fix}")
    if bars is not None and manifest.get("bars") != bars:
        raise DataError(f"{path}: holds {manifest.get('bars')}-bar windows, {bars}-bar windows are needed; {fix}")
    missing = [k for k in ("songs", *SPLITS, *(f"{s}_song" for s in SPLITS)) if k not in arrays]
    missing += [k for k in ("kind", "encoding", "bars", "n_steps", "output_depths", "counts") if k not in manifest]
    if missing or manifest["encoding"] not in ENCODINGS or not isinstance(manifest["counts"], dict):
        raise DataError(f"{path}: missing or bad field(s) {', '.join(missing) or 'encoding, counts'}; {fix}")
    depths = np.array(get_encoding(manifest["encoding"]).output_depths)
    names = tuple(str(n) for n in arrays["songs"])
    for s in SPLITS:
        tokens, song = arrays[s], arrays[f"{s}_song"]
        shape = (manifest["counts"].get(s), manifest["n_steps"], len(depths))
        if tokens.shape != shape or tokens.dtype.kind != "u" or song.shape != shape[:1]:
            raise DataError(f"{path}: {s} has shape {tokens.shape} ({tokens.dtype}), the manifest says {shape} unsigned; {fix}")
        if len(tokens) and (np.any(tokens.max(axis=(0, 1)) >= depths) or song.min() < 0 or song.max() >= len(names)):
            raise DataError(f"{path}: {s} holds tokens or song indices out of range (classes {depths.tolist()}); {fix}")
        tokens.setflags(write=False)
        song.setflags(write=False)
    return PreparedData(
        path=path,
        manifest=MappingProxyType(manifest),
        tokens=MappingProxyType({s: arrays[s] for s in SPLITS}),
        song=MappingProxyType({s: arrays[f"{s}_song"] for s in SPLITS}),
        song_names=names,
    )


def _run(refs: list[SongRef], config: PrepareConfig) -> Iterator[SongWindows]:
    """``song_windows`` of every ref, in order; at most a few songs per worker in flight."""
    workers = min(config.workers or os.cpu_count() or 1, len(refs))
    if workers <= 1:
        yield from (song_windows(ref, config) for ref in refs)
        return
    pool = worker_pool(workers)  # spawned workers that die with this process, even on kill -9
    pending: deque = deque()
    todo: Iterable[SongRef] = iter(refs)
    try:
        for ref in todo:
            pending.append((ref, pool.submit(song_windows, ref, config)))
            if len(pending) >= 4 * workers:
                yield _result(*pending.popleft())
        while pending:
            yield _result(*pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _result(ref: SongRef, future: Any) -> SongWindows:
    try:
        return future.result()
    except BrokenProcessPool as err:
        raise DataError(
            f"a worker process died (out of memory or a crash in a MIDI/score library) near {ref.where}; "
            "rerun with --workers 1 to find the file, then move it out of the source"
        ) from err


def _first_seen(tokens: np.ndarray, seen: set[bytes]) -> np.ndarray:
    """Bool mask of the windows whose bytes were not seen before; adds them to ``seen``."""
    keep = np.zeros(len(tokens), dtype=bool)
    for i, row in enumerate(tokens):
        digest = hashlib.blake2b(row.tobytes(), digest_size=12).digest()
        if digest not in seen:
            seen.add(digest)
            keep[i] = True
    return keep


def _fix(path: Path, kind: str | None, bars: int | None) -> str:
    """How to make a good file at ``path``: the prepare command, with the kind and bars needed."""
    options = f"--kind {kind or 'melody|drums|trio'} --bars {bars or 'N'}"
    return f"make it with `zspace music prepare --corpus music21:essenFolksong {options} --out {path}` (or --midi-dir DIR)"


__all__ = ["PrepareConfig", "PrepareReport", "PreparedData", "list_songs", "load_prepared", "prepare"]
