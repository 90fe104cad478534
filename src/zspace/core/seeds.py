"""Independent random streams from one seed: ``derive_seed(seed, "stream", ...)``.

Adding primes to a seed (``seed + 7919``, ``seed * 1_000_003 + epoch``) makes streams that can
collide (seed 7919's main stream is seed 0's evaluation stream). numpy's ``SeedSequence``
hashes the seed together with a stream key instead, so every (seed, key) pair gets its own
well-mixed 63-bit seed, the same on every machine and run.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["derive_seed"]


def derive_seed(seed: int, stream: str, *index: int) -> int:
    """A seed for ``stream`` (e.g. "epoch-order", "eval-noise") and optional integers (epoch, rank).

    Deterministic: the same arguments always give the same value, in ``[0, 2**63)``.
    """
    if seed < 0 or any(i < 0 for i in index):
        raise ValueError(f"derive_seed needs non-negative integers, got seed={seed}, index={index}")
    key = [zlib.crc32(stream.encode("utf-8")), *index]
    state = np.random.SeedSequence(entropy=seed, spawn_key=key).generate_state(2, np.uint32)
    return ((int(state[0]) << 31) ^ int(state[1])) & (2**63 - 1)
