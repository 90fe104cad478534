"""One way to write a file that survives a crash: temp file, fsync, rename, fsync the directory.

Every writer of run files (configs, weights, metrics, prepared data, figures' JSON) goes through
:func:`atomic_write`, so a reader sees the old file or the new one, never half of either, and the
new file is on disk before the call returns. Files get the permissions of an ordinary
``open(path, "w")`` (``0o666`` less the umask): ``tempfile.mkstemp`` alone would leave them 0600.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "atomic_write_json", "atomic_write_text", "current_umask", "fsync_dir", "plain_file_name"]


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a directory entry (a rename or a new file) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Write ``path`` by calling ``write(binary_file)`` on a temp file beside it, then renaming it.

    The parent directory is created if needed. On any error the temp file is removed and
    ``path`` keeps its previous content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write` of UTF-8 text."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike, data: Any, **dumps: Any) -> Path:
    """:func:`atomic_write` of ``data`` as indented JSON plus a newline (``dumps`` go to ``json.dumps``)."""
    return atomic_write_text(path, json.dumps(data, indent=2, **dumps) + "\n")


def plain_file_name(text: str, *, max_length: int = 100) -> str:
    """``text`` made a plain file name: letters, digits, ``.``, ``_``, ``-`` and ``+``; no leading dot or dash.

    For names that come from a file's content (a codes file's names and tags), which must never
    reach a path as ``..``, ``/``, an absolute path or a hidden file. Empty text gives ``"_"``.
    """
    kept = "".join(c if c.isalnum() or c in "._-+" else "_" for c in text)
    return kept.lstrip(".-")[:max_length] or "_"
