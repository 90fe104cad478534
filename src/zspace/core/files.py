"""One guarded reader per kind of file a user hands zspace: arrays, JSON, JSON lines, torch state.

Each reads without unpickling, checks what it can before allocating (an ``.npz`` member's
header is read before its data, so a header claiming a 931 GB array is refused), and turns
every failure (missing, empty, truncated, garbage, wrong dtype) into one
:class:`~zspace.errors.DataError` or :class:`~zspace.errors.CheckpointError` that names the
file and the problem. Family loaders (prepared music data, codes, images, run directories)
check keys, shapes and values on top.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from zspace.errors import CheckpointError, DataError

__all__ = ["read_json_file", "read_jsonl", "read_npz", "read_torch_state"]

# Refuse an array larger than this (default: half the machine's memory) before reading it.
_ARRAY_LIMIT_SHARE = 0.5


def _array_limit() -> int:
    from zspace.core.memory import physical_memory_bytes

    memory = physical_memory_bytes()
    return int(memory * _ARRAY_LIMIT_SHARE) if memory else 2**34


def _existing(path: Path, error: type[Exception], fix: str) -> None:
    if not path.exists():
        raise error(f"{path}: no such file{fix}")
    if not path.is_file():
        raise error(f"{path} is a directory, not a file{fix}")
    if path.stat().st_size == 0:
        raise error(f"{path} is empty (0 bytes){fix}")


def read_npz(path: str | os.PathLike, *, what: str = "an .npz array file", fix: str = "") -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (or the one array of an ``.npy``, as ``{"arr_0": ...}``).

    Refused with a DataError: a missing, empty, truncated or non-zip file, an object (pickled)
    array, and an array whose header claims more memory than half of this machine's.
    ``fix`` is appended to every message (e.g. "; write one with `zspace music encode`").
    """
    path = Path(path)
    fix = f"; {fix}" if fix and not fix.startswith(";") else fix
    _existing(path, DataError, fix)
    if path.suffix == ".npy":
        with open(path, "rb") as f:
            return {"arr_0": _read_member(f, path, "array", fix)}
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = {}
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                with archive.open(info) as member:
                    arrays[name] = _read_member(member, path, name, fix)
            return arrays
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise DataError(f"{path} is not {what}: it is damaged or truncated ({_first_line(err)}){fix}") from err


def _read_member(f: Any, path: Path, name: str, fix: str) -> np.ndarray:
    """One ``.npy`` stream: header first (dtype, shape, size), then the data."""
    try:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
    except (ValueError, EOFError, OSError) as err:
        raise DataError(f"{path}: array {name!r} has no valid .npy header ({_first_line(err)}){fix}") from err
    if dtype.hasobject:
        raise DataError(f"{path}: array {name!r} holds Python objects (dtype {dtype}), which zspace never unpickles{fix}")
    n_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if n_bytes > _array_limit():
        raise DataError(
            f"{path}: array {name!r} claims shape {shape} of {dtype} ({n_bytes / 2**30:,.1f} GiB), "
            f"more than this machine can hold{fix}"
        )
    count = int(np.prod(shape, dtype=object))
    data = f.read(n_bytes)
    if len(data) != n_bytes:
        raise DataError(f"{path}: array {name!r} is truncated ({len(data)} of {n_bytes} bytes){fix}")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def read_json_file(path: str | os.PathLike, *, kind: type = dict, error: type[Exception] = CheckpointError) -> Any:
    """A JSON document of type ``kind`` (dict or list) from ``path``, or ``error`` naming the file."""
    file = Path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError as err:
        raise error(f"{file} is missing") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise error(f"{file} is damaged: not valid JSON ({_first_line(err)})") from err
    if not isinstance(data, kind):
        raise error(f"{file} is damaged: expected a JSON {kind.__name__}, got {type(data).__name__}")
    return data


def read_jsonl(path: str | os.PathLike, *, error: type[Exception] = CheckpointError) -> list[dict[str, Any]]:
    """The records of a JSON-lines file (``metrics.jsonl``).

    A cut last line (a run killed mid-write) is dropped; garbage anywhere else is ``error``
    naming the file and the line.
    """
    file = Path(path)
    try:
        lines = file.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{file} cannot be read ({_first_line(err)})") from err
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            if number == len(lines):
                break  # the last record was being written when the run stopped
            raise error(f"{file} is damaged at line {number}: not JSON ({_first_line(err)})") from err
        if not isinstance(record, dict):
            raise error(f"{file} is damaged at line {number}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records


def read_torch_state(path: str | os.PathLike, *, what: str, fix: str = "") -> Any:
    """``torch.load(path, weights_only=True)``; a damaged or foreign file is one CheckpointError.

    torch's own message advises ``weights_only=False``, i.e. unpickling a file that is damaged
    or not ours: never do that, so only the error's type is kept.
    """
    import torch

    file = Path(path)
    fix = f"; {fix}" if fix and not fix.startswith(";") else fix
    _existing(file, CheckpointError, fix)
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, OSError, ValueError, AttributeError, TypeError) as err:
        raise CheckpointError(f"{file} is damaged or not a {what} ({type(err).__name__}){fix}") from err


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
