"""One results file per family: ``docs/benchmarks/FAMILY.json`` holds each experiment under its own key.

A benchmark run with ``--json-out docs/benchmarks/vae.json --json-key throughput`` replaces only that
file's ``"throughput"`` entry and keeps the others; without ``--json-key`` its result is the whole
file, as for a scratch output. Only the standard library and ``zspace.core.io`` are imported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from zspace.core.io import atomic_write_text


def read_result(path: str | os.PathLike | None, key: str | None = None) -> dict[str, Any]:
    """The results at ``path`` (its entry ``key`` when given); {} when there is no such file or entry."""
    if path is None or not Path(path).is_file():
        return {}
    data = json.loads(Path(path).read_text())
    return data if key is None else data.get(key, {})


def write_result(path: str | os.PathLike | None, result: dict[str, Any], key: str | None = None, *, indent: int = 2) -> None:
    """Write ``result`` to ``path`` atomically as sorted JSON (NaN refused); None: nothing.

    With ``key`` the result becomes that entry of the file and every other entry stays as it was.
    """
    if path is None:
        return
    data = result if key is None else {**read_result(path), key: result}
    atomic_write_text(path, json.dumps(data, indent=indent, sort_keys=True, allow_nan=False) + "\n")
