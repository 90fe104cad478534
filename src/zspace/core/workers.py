"""Worker processes that die with their parent, even when the parent is killed with SIGKILL.

A ``ProcessPoolExecutor`` worker outlives a parent killed by SIGTERM or ``kill -9``: nothing
runs in the parent to stop it, and it (with multiprocessing's resource tracker, which waits
for every holder of its pipe) keeps running forever. :func:`worker_pool` starts each worker
with :func:`die_with_parent`: on Linux the kernel sends it SIGKILL when the parent dies
(``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread notices the re-parenting within a
second. The resource tracker then sees its pipe close and exits too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

__all__ = ["die_with_parent", "worker_pool"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this process as soon as process ``parent_pid`` is gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="zspace-parent-watch", daemon=True).start()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A spawn-context pool of ``workers`` processes that die with this one.

    spawn, not fork: the parent may hold threads (a progress bar, torch) that fork would copy
    mid-lock.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
