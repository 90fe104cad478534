"""Which mixed precision a device's kernels can run, probed once per device type.

bf16 autocast is not a property of torch alone: on a CPU, oneDNN builds its LSTM primitive in
bf16 only where the processor has AVX512-BF16 or AMX; on an AVX2-only machine the same forward
raises "could not create a primitive descriptor for the LSTM forward propagation primitive".
Matmuls, by contrast, are emulated everywhere. So the probe runs the layers our models use
(an LSTM and a linear layer, forward and backward) under autocast, once, and a training run
asked for bf16 on a device that cannot do it falls back to float32 with one warning.
"""

from __future__ import annotations

import functools
import logging

import torch
from torch import nn

log = logging.getLogger("zspace.train")


@functools.cache
def bf16_unsupported_reason(device_type: str) -> str | None:
    """None when bf16 autocast runs an LSTM and a linear layer (forward and backward) on
    ``device_type`` ("cpu", "cuda"); otherwise the one-line reason it does not."""
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            lstm = nn.LSTM(4, 8, batch_first=True).to(device_type)
            linear = nn.Linear(8, 3).to(device_type)
            x = torch.randn(2, 3, 4, device=device_type)
            with torch.autocast(device_type, dtype=torch.bfloat16):
                out, _ = lstm(x)
                loss = linear(out).float().square().mean()
            loss.backward()
    except (RuntimeError, NotImplementedError) as err:
        return f"bf16 autocast is unsupported on this {device_type} ({str(err).split('. ')[0]})"
    return None


def resolve_autocast(requested: str, device: torch.device) -> str:
    """The autocast mode a run on ``device`` will use: ``requested``, or "none" (with one warning)
    when it is "bfloat16" and this device cannot run it."""
    if requested == "bfloat16" and (reason := bf16_unsupported_reason(device.type)) is not None:
        log.warning("%s; training in float32 instead", reason)
        return "none"
    return requested
