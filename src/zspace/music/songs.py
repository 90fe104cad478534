"""Songs of a data source, and the training windows of one song (run in worker processes).

A *song* is one MIDI file, or one tune of a music21 corpus file: an ABC collection such as
Essen's ``altdeu10.abc`` holds hundreds of tunes, and each is its own song (its own split,
its own per-song cap). :func:`song_windows` parses one song and returns only its token
windows (kilobytes), so a worker never sends a parsed score back and the parent never holds
more than the windows of the songs in flight.

Windows are cut by the config's converter (:class:`zspace.music.config.MusicConverter`, Magenta's
data converters, in :mod:`zspace.music.data`; ``tests/music/test_parity.py`` checks them against
note_seq): each song is cut at its meter and tempo changes, only sections whose bars are
``steps_per_bar`` (16) steps give windows of ``bars`` bars sliding by one bar from each melody /
drum track; duplicates within a song are removed, then at most ``max_per_song`` kept (a seeded
random choice, made once; Magenta's converters draw at most 5 windows of a sequence afresh each
epoch, ``max_tensors_per_notesequence``). ``meter="any"`` (a departure) cuts
``steps_per_bar``-step "bars" from any meter instead, which keeps e.g. Essen's many 2/4 and 3/4
tunes but not their bar lines.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from zspace.errors import ConfigError, DataError, ZspaceError
from zspace.music.config import PrepareConfig
from zspace.music.data import Skip, section_windows
from zspace.music.encoding import NoteSequence, get_encoding, melody_transpositions, transpose_melody_tokens
from zspace.music.midi import music21_sections, read_midi_sections

SPLITS = ("train", "valid", "test")
MIDI_SUFFIXES = frozenset({".mid", ".midi"})
# music21 formats with notes; RomanText (.rntxt) analyses of the chorales are harmony, not music.
MUSIC21_SUFFIXES = frozenset({".abc", ".mxl", ".xml", ".musicxml", ".krn", ".mid", ".midi"})

# Why a song gave no windows: stable keys (manifest, report) -> words for people.
SKIP_REASONS = {
    "empty": "empty",
    "not_midi": "not MIDI",
    "corrupt": "corrupt",
    "type2": "type-2",
    "unreadable": "unreadable score",
    "meter": "bars not 16 steps (4/4, 2/2)",
    "no_melody": "no melody",
    "no_bass": "no bass",
    "no_drums": "no drums",
    "too_short": "too short",
    "silent": "no notes in any window",
}
_ABC_TUNE = re.compile(r"^\s*X:\s*(\d+)", re.MULTILINE)


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise ZspaceError(f"{module} is needed to read music data; install it with pip install 'zspace[music]'") from err


def stable_fraction(text: str, salt: str) -> float:
    """A number in [0, 1) fixed by ``text`` alone: the same on every machine, run and seed."""
    digest = hashlib.sha256(f"{salt}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(song_id: str, valid_fraction: float, test_fraction: float) -> str:
    """The split of a song, from a hash of its id: a song never lands in two splits, and keeps
    its split whatever the seed, the kind or the other songs prepared with it."""
    u = stable_fraction(song_id, "split")
    return "test" if u < test_fraction else "valid" if u < test_fraction + valid_fraction else "train"


@dataclass(frozen=True)
class SongRef:
    """Where to find one song. ``id`` is its stable name (path relative to the source root,
    ``#N`` appended for tune ``X:N`` of a collection): splits and seeds derive from it."""

    id: str
    path: str
    reader: str  # "midi" (pretty_midi) | "music21"
    number: int | None = None  # ABC reference number of the tune inside a collection file
    split: str = "train"
    source: str = ""  # the collection or folder it came from: windows are counted per source

    @property
    def where(self) -> str:
        """The file, with ``#N`` for a tune of a collection: what to name in a message."""
        return self.path if self.number is None else f"{self.path}#{self.number}"


def midi_dir_songs(root: Path) -> list[SongRef]:
    """Every ``.mid`` / ``.midi`` file under ``root`` (recursively, any letter case), by id."""
    if not root.is_dir():
        raise DataError(f"{root}: no such directory; --midi-dir needs a folder of .mid/.midi files")
    refs = [
        SongRef(id=p.relative_to(root).as_posix(), path=str(p), reader="midi", source=str(root))
        for p in root.rglob("*")
        if p.suffix.lower() in MIDI_SUFFIXES and p.is_file()
    ]
    return sorted(refs, key=lambda r: r.id)


def music21_collections() -> list[str]:
    """Names of the collections bundled with music21 (its corpus directories)."""
    root = Path(_require("music21.corpus").__file__).parent
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def music21_songs(name: str) -> list[SongRef]:
    """The tunes of music21's bundled collection ``name`` (``corpus.getComposer(name)``).

    ABC collections are split into their tunes by their ``X:`` numbers; other files are one
    song each. Files in formats without notes (RomanText analyses) are left out.
    """
    corpus = _require("music21.corpus")
    root = Path(corpus.__file__).parent
    paths = sorted(Path(p) for p in corpus.getComposer(name))
    if not paths:
        raise DataError(f"music21's corpus has no collection {name!r}; bundled ones: {', '.join(music21_collections())}")
    refs = []
    for path in paths:
        if path.suffix.lower() not in MUSIC21_SUFFIXES:
            continue
        song_id = path.relative_to(root).as_posix()
        numbers = []
        if path.suffix.lower() == ".abc":
            text = path.read_text(encoding="utf-8", errors="replace")
            numbers = list(dict.fromkeys(int(x) for x in _ABC_TUNE.findall(text)))  # unique, in order
        if len(numbers) > 1:
            refs += [SongRef(id=f"{song_id}#{n}", path=str(path), reader="music21", number=n, source=name) for n in numbers]
        else:
            refs.append(SongRef(id=song_id, path=str(path), reader="music21", source=name))
    return refs


def list_songs(*, corpus: str | None = None, midi_dir: str | Path | None = None) -> tuple[list[SongRef], dict[str, Any]]:
    """The songs of exactly one source and its description for the manifest.

    ``corpus`` may name several music21 collections, comma-separated
    (``music21:essenFolksong,music21:oneills1850``); their songs are listed together.
    """
    if (corpus is None) == (midi_dir is None):
        raise ConfigError("give exactly one source: --corpus music21:NAME (e.g. music21:essenFolksong) or --midi-dir PATH")
    if midi_dir is not None:
        root = Path(midi_dir)
        refs = midi_dir_songs(root)
        if not refs:
            raise DataError(f"{root}: no .mid/.midi files in it or its subfolders; point --midi-dir at your MIDI collection")
        return refs, {"type": "midi_dir", "path": str(root), "unit": "file"}
    names = []
    for item in str(corpus).split(","):
        prefix, sep, name = item.strip().partition(":")
        if not sep or prefix != "music21" or not name:
            raise ConfigError(
                f"corpus {item.strip()!r} is not music21:NAME (e.g. music21:essenFolksong; several: "
                "music21:essenFolksong,music21:oneills1850); for MIDI files use --midi-dir"
            )
        names.append(name)
    refs = [r for name in dict.fromkeys(names) for r in music21_songs(name)]
    return refs, {"type": "music21", "name": ",".join(dict.fromkeys(names)), "unit": "tune"}


def window_dtype(kind: str) -> np.dtype:
    """uint8 when every class fits (melody, 90), else uint16 (drums, 512)."""
    return np.dtype(np.uint8 if max(get_encoding(kind).output_depths) <= 256 else np.uint16)


@dataclass(frozen=True, eq=False)
class SongWindows:
    """What a worker sends back: ``tokens (n, n_steps, n_tracks)`` or why there are none."""

    ref: SongRef
    tokens: np.ndarray | None
    skip: str | None = None  # a key of SKIP_REASONS
    message: str = ""
    capped: int = 0  # distinct windows left out by max_per_song
    augmented: int = 0  # transposed copies added


def song_windows(ref: SongRef, config: PrepareConfig) -> SongWindows:
    """Parse one song and cut it into windows by ``config``'s converter rules, then drop
    duplicates, cap and augment; any failure becomes a skip, never an exception."""
    try:
        seqs = _read(ref, config)
    except Skip as skip:
        return SongWindows(ref, None, skip.reason, skip.message)
    except Exception as err:  # noqa: BLE001 - a bad file is a skip; the message says what broke
        reason = "corrupt" if ref.reader == "midi" else "unreadable"
        return SongWindows(ref, None, reason, f"{type(err).__name__}: {err}")
    windows, last_skip = [], Skip("silent", "no notes")
    for seq in seqs:
        try:
            windows.append(np.stack([w.tokens for w in section_windows(seq, config)]))
        except Skip as skip:
            last_skip = skip
        except DataError as err:  # e.g. a meter whose bars are not whole steps
            last_skip = Skip("meter", str(err))
        except Exception as err:  # noqa: BLE001 - odd content must not end a 170k-file run; the type is kept
            last_skip = Skip("unreadable", f"{type(err).__name__}: {err}")
    if not windows:
        return SongWindows(ref, None, last_skip.reason, last_skip.message)
    tokens = _unique_rows(np.concatenate(windows))
    capped = 0
    if config.max_per_song is not None and len(tokens) > config.max_per_song:
        rng = np.random.default_rng([config.seed, int(stable_fraction(ref.id, "cap") * 2**32)])
        keep = np.sort(rng.choice(len(tokens), size=config.max_per_song, replace=False))  # keep time order
        capped, tokens = len(tokens) - len(keep), tokens[keep]
    augmented = 0
    if config.transpose and config.kind == "melody" and ref.split == "train":
        copies = [transpose_melody_tokens(w, int(s)) for w in tokens for s in melody_transpositions(w, config.transpose) if s]
        if copies:
            before = len(tokens)
            tokens = _unique_rows(np.concatenate([tokens, np.stack(copies)]))
            augmented = len(tokens) - before
    return SongWindows(ref, tokens.astype(window_dtype(config.kind)), capped=capped, augmented=augmented)


def _read(ref: SongRef, config: PrepareConfig) -> list[NoteSequence]:
    """The song's quantized sections (cut at meter and tempo changes unless told not to)."""
    split = config.split_time_changes
    if ref.reader == "midi":
        path = Path(ref.path)
        with path.open("rb") as f:
            header = f.read(14)
        if not header:
            raise Skip("empty", "0 bytes")
        if header[:4] != b"MThd":
            raise Skip("not_midi", "no 'MThd' header")
        if len(header) >= 10 and int.from_bytes(header[8:10], "big") == 2:
            raise Skip("type2", "type-2 MIDI (independent sequences) is unsupported")
        return read_midi_sections(path, split=split)
    converter = _require("music21.converter")
    stream = _require("music21.stream")
    with warnings.catch_warnings():  # music21 warns about every odd ABC/MusicXML detail
        warnings.simplefilter("ignore")
        score = converter.parseFile(ref.path, number=ref.number, forceSource=True, storePickle=False)
        scores = list(score.scores) if isinstance(score, stream.Opus) else [score]
        return [x for s in scores for x in music21_sections(s, split=split, expand_repeats=config.expand_repeats)]


def _unique_rows(windows: np.ndarray) -> np.ndarray:
    """``windows`` without repeats, first occurrences in their original order."""
    _, first = np.unique(windows.reshape(len(windows), -1), axis=0, return_index=True)
    return windows[np.sort(first)]


def with_split(refs: list[SongRef], valid_fraction: float, test_fraction: float) -> list[SongRef]:
    """``refs`` with their splits set, ordered train, valid, test (then by id)."""
    refs = [replace(r, split=split_of(r.id, valid_fraction, test_fraction)) for r in refs]
    return sorted(refs, key=lambda r: (SPLITS.index(r.split), r.id))
