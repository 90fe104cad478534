"""Two file-system primitives under the run contract: an exclusive directory lock, and a swap.

:func:`locked_directory` holds an ``fcntl`` lock on ``DIR/.zspace.lock`` for the life of a block.
Three rules make it safe when many processes start at once: a new directory is built aside with
its lock file, locked, and renamed into place, so its creator holds it from its first instant
(the one that cleans it up is the one that made it); a process deletes only what it created itself,
and only while holding the lock; and a process that got the lock checks that the file it locked
is still the one at ``DIR/.zspace.lock`` (its creator may have removed it between our ``open`` and
``flock``), and starts over if not. So at most one process holds a directory.

:func:`exchange` swaps two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``), which is
how ``--overwrite`` puts a new run in place of the old one: a reader, or a kill, sees one whole
run or the other, never neither.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from zspace.errors import CheckpointError, ConfigError

__all__ = ["LOCK_FILE", "exchange", "locked_directory"]

LOCK_FILE = ".zspace.lock"
_ATTEMPTS = 50  # starting over needs another process to remove the lock file each time: a few suffice


@contextmanager
def locked_directory(directory: Path, flag: str = "--out") -> Iterator[bool]:
    """Create ``directory`` if needed and hold its lock for the block; yields whether this call created it.

    When the block ends, the lock file is removed if this call created it or its directory, and
    the directory if this call created it and it is empty (a run that failed before writing anything
    leaves no trace); nothing else is deleted.

    Raises:
        CheckpointError: another process holds the lock (its pid is named).
        ConfigError: the directory or its lock file cannot be created.
    """
    created = False
    for _ in range(_ATTEMPTS):
        fd = _create_locked(directory, flag)
        if fd is not None:
            created = made_lock = True
            break
        fd, made_lock = _open_lock_file(directory / LOCK_FILE, flag)
        if fd is None:  # removed (with its directory) by the process that made it: start over
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            raise CheckpointError(
                f"{directory} is in use by another zspace process (pid {other}); wait for it to finish, or choose another {flag}"
            ) from None
        if _is_current(fd, directory / LOCK_FILE):
            break
        os.close(fd)  # we locked a file its creator removed after our open: it guards nothing
    else:
        raise CheckpointError(f"{directory}: could not take its lock ({_ATTEMPTS} tries); retry, or choose another {flag}")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield created
    finally:
        # Still locked: a process that opened it meanwhile finds it gone and starts over. The file
        # must still be ours: a directory swapped in by --overwrite holds another lock file, or none.
        if (made_lock or created) and _is_current(fd, directory / LOCK_FILE):
            (directory / LOCK_FILE).unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):  # not empty: the run is kept
                directory.rmdir()
        os.close(fd)  # closing the descriptor releases the flock


def _create_locked(directory: Path, flag: str) -> int | None:
    """A locked descriptor of the lock file of ``directory``, made new by this call; None if it exists.

    The directory is built under a hidden name beside it, with its lock file locked, then renamed
    into place: no other process can see it before its creator holds it.
    """
    if os.path.lexists(directory):
        return None
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = directory.with_name(f".{directory.name}.zspace-mkdir-{secrets.token_hex(4)}")
        staging.mkdir()
    except OSError as err:
        raise ConfigError(f"{flag} {directory}: cannot create the directory ({err.strerror}); choose another {flag}") from err
    fd = os.open(staging / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)  # nobody else knows this file yet: never blocks
    try:
        _rename(staging, directory, _RENAME_NOREPLACE)
        return fd
    except OSError as err:
        os.close(fd)
        (staging / LOCK_FILE).unlink()
        staging.rmdir()
        if err.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            return None  # another process (or the user) made it first
        raise ConfigError(f"{flag} {directory}: cannot create the directory ({err.strerror}); choose another {flag}") from err


def _open_lock_file(path: Path, flag: str) -> tuple[int | None, bool]:
    """(a descriptor of the lock file or None if its directory vanished meanwhile, whether this call created the file)."""
    for flags, creates in ((os.O_RDWR | os.O_CREAT | os.O_EXCL, True), (os.O_RDWR, False)):
        try:
            return os.open(path, flags, 0o666), creates
        except FileExistsError:
            continue
        except FileNotFoundError:
            return None, False  # the directory was removed, or the file between our two tries
        except OSError as err:
            raise ConfigError(
                f"{flag} {path.parent}: cannot create its lock file ({err.strerror}); choose another {flag}"
            ) from err
    return None, False


def _is_current(fd: int, path: Path) -> bool:
    """Whether descriptor ``fd`` is the file at ``path`` now."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


# --- the swap ------------------------------------------------------------------------------------
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> None:
    """Swap directories ``a`` and ``b`` (same file system): atomically where the kernel can, else by three renames."""
    if _rename(a, b, _RENAME_EXCHANGE):
        return
    aside = a.with_name(a.name + ".swap")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)


def _rename(a: Path, b: Path, flags: int) -> bool:
    """``renameat2(a, b, flags)``; False where the libc or file system lacks it (then nothing was done).

    Only for ``_RENAME_NOREPLACE``, a missing ``renameat2`` falls back to :func:`os.rename`, which
    also refuses a non-empty ``b`` (and replaces an empty one: nothing is lost).
    """
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), flags) == 0:
            return True
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # the file system cannot: fall back
            raise OSError(code, os.strerror(code), str(a))
    if flags == _RENAME_NOREPLACE:
        os.rename(a, b)
        return True
    return False
