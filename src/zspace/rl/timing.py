"""Where a training loop's wall time goes: seconds per activity (environment steps, decoding, PPO, ...).

Code marks its costly calls with ``with timed("env"):``; the marks cost nothing unless a
:class:`Stopwatch` is recording, so library functions carry them whoever calls them::

    clock = Stopwatch()
    with clock.recording():
        train_one_iteration()
    clock.shares(total_s)  # {"env": 0.41, "decode": 0.33, ..., "other": 0.05}

A mark inside another mark's block counts toward the outer one only, so the shares never sum past 1.
Marks measure wall time on the host: on an accelerator, queued kernels are counted by the mark
that waits for them (e.g. the one that copies their result to the CPU), not the one that queued them.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

__all__ = ["Stopwatch", "timed"]

_RECORDING: contextvars.ContextVar[Stopwatch | None] = contextvars.ContextVar("zspace_stopwatch", default=None)


class Stopwatch:
    """Wall seconds per activity, summed over the :func:`timed` blocks run while it records."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._inside = False  # a block is being timed: marks nested in it add nothing of their own

    @contextlib.contextmanager
    def recording(self) -> Iterator[Stopwatch]:
        token = _RECORDING.set(self)
        try:
            yield self
        finally:
            _RECORDING.reset(token)

    def shares(self, total_s: float) -> dict[str, float]:
        """Each activity's seconds over ``total_s``, plus ``"other"``: the rest of ``total_s``."""
        total_s = max(total_s, 1e-9)
        out = {name: seconds / total_s for name, seconds in sorted(self.seconds.items())}
        out["other"] = max(0.0, 1.0 - sum(out.values()))
        return out


@contextlib.contextmanager
def timed(activity: str) -> Iterator[None]:
    """Add this block's wall seconds to ``activity`` of the recording :class:`Stopwatch`, if any."""
    clock = _RECORDING.get()
    if clock is None or clock._inside:
        yield
        return
    clock._inside, tic = True, time.perf_counter()
    try:
        yield
    finally:
        clock._inside = False
        clock.seconds[activity] = clock.seconds.get(activity, 0.0) + time.perf_counter() - tic
