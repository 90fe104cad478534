"""Count the MusicVAE melody windows a music21 collection gives (docs/BENCHMARKS.md, "Data").

For a hash-spread sample of a collection's tunes (the same sample as ``prepare --limit``), the
distinct 2-bar and 16-bar melody windows per tune under the default (Magenta) rules, with no
per-song cap, with and without music21's repeat expansion. Prints one JSON line.

    .venv/bin/python tools/count_windows.py oneills1850 250
"""

from __future__ import annotations

import argparse
import json
import time

from zspace.music.corpus import PrepareConfig
from zspace.music.songs import music21_songs, song_windows, stable_fraction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collection", help="a music21 corpus collection, e.g. essenFolksong")
    parser.add_argument("limit", type=int, nargs="?", help="tunes to sample (default: all)")
    args = parser.parse_args()
    refs = sorted(music21_songs(args.collection), key=lambda r: stable_fraction(r.id, "limit"))[: args.limit]
    out: dict = {"corpus": args.collection, "songs": len(refs)}
    start = time.perf_counter()
    for expand in (False, True):
        counts = {"2bar": 0, "16bar": 0, "songs_2bar": 0, "songs_16bar": 0}
        for bars in (2, 16):
            spec = PrepareConfig(bars=bars, max_per_song=None, expand_repeats=expand)
            for ref in refs:
                result = song_windows(ref, spec)
                n = 0 if result.tokens is None else len(result.tokens)
                counts[f"{bars}bar"] += n
                counts[f"songs_{bars}bar"] += n > 0
        out["expand_repeats" if expand else "as_written"] = counts
    out["seconds"] = round(time.perf_counter() - start)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
