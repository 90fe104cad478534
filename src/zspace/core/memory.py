"""Refuse a model too large for this machine before any of its memory is allocated.

A config can be valid field by field and still ask for the impossible (``--latent-dim
100000000000`` is a 10^14-weight layer): :func:`check_model_fits` builds the model on PyTorch's
``meta`` device, which records shapes without storage, counts its parameters and compares the
training footprint with the machine's memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import nn

from zspace.errors import ConfigError

__all__ = ["check_model_fits", "physical_memory_bytes"]

# float32 weights, their gradients and Adam's two moments: 4 copies of 4 bytes per parameter.
TRAINING_BYTES_PER_PARAMETER = 16


def physical_memory_bytes() -> int | None:
    """This machine's RAM in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def check_model_fits(build: Callable[[], nn.Module], what: str, *, limit_bytes: int | None = None) -> int:
    """The parameter count of ``build()``, or a ConfigError when training it cannot fit in memory.

    ``build`` is called under ``torch.device("meta")``: nothing is allocated, however large.
    ``limit_bytes`` defaults to the machine's RAM.
    """
    with torch.device("meta"):
        model = build()
    n_parameters = sum(p.numel() for p in model.parameters())
    limit = limit_bytes if limit_bytes is not None else physical_memory_bytes()
    needed = n_parameters * TRAINING_BYTES_PER_PARAMETER
    if limit is not None and needed > limit:
        raise ConfigError(
            f"{what} would have {n_parameters:.3g} parameters: training needs ~{needed / 2**30:,.0f} GiB "
            f"(weights, gradients, Adam state) but this machine has {limit / 2**30:,.0f} GiB; choose smaller sizes"
        )
    return n_parameters
