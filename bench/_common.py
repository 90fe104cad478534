"""Helpers shared by the benchmark scripts: CLI from a dataclass, seeded data, FLOP/s, JSON output.

Only torch and numpy are imported at module level, so a benchmark can re-run itself as a
worker under another interpreter (a venv holding a competing library) without zspace or rich.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from zspace.core.io import atomic_write_text

A = TypeVar("A")


# -- command line ----------------------------------------------------------------------------
def parse_args(cls: type[A], argv: Sequence[str] | None = None, description: str | None = None) -> A:
    """Build an argparse CLI from a dataclass (CleanRL's ``Args``): ``field_name`` -> ``--field-name``.

    The fields and the parsing of their values are ``zspace train --set``'s (:mod:`zspace.core.options`):
    booleans become ``--flag`` / ``--no-flag``; other values are parsed by the field's type
    (``none`` for an optional field, ``1,2`` for a tuple) and a bad one is a usage error naming it.
    """
    from zspace.core.options import apply_options, config_options
    from zspace.errors import ConfigError

    parser = argparse.ArgumentParser(description=description or cls.__doc__)
    for option in config_options(cls, nested=False):
        kind = {"action": argparse.BooleanOptionalAction} if option.annotation is bool else {"metavar": "VALUE"}
        parser.add_argument(option.flag, dest=option.path, default=argparse.SUPPRESS, help=f"default: {option.default}", **kind)
    given = vars(parser.parse_args(argv))
    try:
        return apply_options(cls(), given)
    except ConfigError as err:
        parser.error(str(err))


REPOSITORY = Path(__file__).resolve().parents[1]


def command_line(script: str, argv: Sequence[str] | None = None) -> str:
    """``python script args`` of this run, shell-quoted, as run from the repository root (for the JSON record).

    Paths are relative to the repository, so the record reads the same on every machine: the
    interpreter is ``.venv/bin/python`` when it is the repository's venv, else ``python``.
    ``argv`` defaults to sys.argv[1:].
    """
    args = sys.argv[1:] if argv is None else list(argv)
    venv_python = REPOSITORY / ".venv" / "bin" / "python"
    python = ".venv/bin/python" if Path(sys.executable).parent == venv_python.parent else "python"
    return " ".join(shlex.quote(a) for a in [python, os.path.relpath(Path(script).resolve(), REPOSITORY), *args])


def emit_json(result: dict[str, Any]) -> None:
    """Print ``result`` as ONE JSON line: by convention the last line a benchmark writes to stdout."""
    print(json.dumps(result, sort_keys=True, allow_nan=False), flush=True)


def write_json(path: str | os.PathLike | None, result: dict[str, Any], *, indent: int = 2) -> None:
    """Write ``result`` to ``path`` atomically as sorted, indented JSON (NaN refused), creating parent folders.

    None: nothing. A run killed mid-write leaves the previous results file whole.
    """
    if path is not None:
        atomic_write_text(path, json.dumps(result, indent=indent, sort_keys=True, allow_nan=False) + "\n")


def read_json_field(path: str | os.PathLike | None, key: str) -> dict[str, Any]:
    """``result[key]`` of an earlier run's JSON at ``path`` ({} if there is none): runs made in parts merge into it."""
    from pathlib import Path

    if path is None or not Path(path).exists():
        return {}
    return json.loads(Path(path).read_text()).get(key, {})


def last_json_line(text: str) -> dict[str, Any]:
    """The JSON object on the last non-empty line of ``text`` (a benchmark's or worker's stdout)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("no output")
    return json.loads(lines[-1])


def to_flags(args: Any, names: Sequence[str]) -> list[str]:
    """``--field-name value`` for each named dataclass field that is set (not None, not False)."""
    flags: list[str] = []
    for name in names:
        value = getattr(args, name)
        if value is True:
            flags.append("--" + name.replace("_", "-"))
        elif value is not None and value is not False:
            flags += ["--" + name.replace("_", "-"), str(value)]
    return flags


class WorkerError(RuntimeError):
    """A worker subprocess could not start, failed, or printed no JSON; the message says why."""


def run_json_worker(command: Sequence[str], *, timeout_s: float) -> dict[str, Any]:
    """Run ``command`` and return the JSON object on its last stdout line.

    Used to run a competitor under its own interpreter (its own venv); its stderr (progress
    bars, logs) is captured, and only its last line is kept for the error message.
    """
    try:
        proc = subprocess.run(list(command), check=False, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise WorkerError(f"{type(err).__name__}: {err}") from None
    if proc.returncode != 0:
        tail = [line for line in proc.stderr.splitlines() if line.strip()][-1:] or ["(no stderr)"]
        raise WorkerError(f"{command[0]} exited with {proc.returncode}: {tail[0]}")
    try:
        return last_json_line(proc.stdout)
    except ValueError as err:
        raise WorkerError(f"{command[0]} printed no JSON result ({err})") from None


# -- data ------------------------------------------------------------------------------------
def synthetic_binary_images(n: int, *, side: int = 28, seed: int = 0, rank: int = 8) -> Tensor:
    """Seeded random MNIST-shaped binary images: (n, side*side) float32 in {0, 1}.

    Pixels are Bernoulli draws from sigmoid(4 * z W) with z ~ N(0, I_rank): correlated like
    strokes, so the VAE has structure to learn, yet cheap to make and identical for every
    trainer given the seed. Throughput does not depend on the content.
    """
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, rank, generator=gen)
    w = torch.randn(rank, side * side, generator=gen) / math.sqrt(rank)
    probs = torch.sigmoid(4.0 * (z @ w) - 1.0)  # (n, 784); the -1 shifts towards dark pixels, as in MNIST
    return (torch.rand(n, side * side, generator=gen) < probs).float()


def digits_784(*, test_size: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """scikit-learn's bundled 8x8 digits upsampled to 28x28 and statically binarized.

    Returns (train, test), each (N, 784) float32 in {0, 1}; 1797 images in all, shuffled
    and split with ``seed``, binarized once with the same seed (Burda et al.'s static
    protocol), so every trainer sees identical bits. Needs scikit-learn (no download).
    """
    from sklearn.datasets import load_digits

    images = torch.from_numpy(load_digits().images).float().div(16.0).unsqueeze(1)  # (N, 1, 8, 8)
    big = nn.functional.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False)  # (N, 1, 28, 28)
    gen = torch.Generator().manual_seed(seed)
    binary = (torch.rand(big.shape, generator=gen) < big.clamp(0, 1)).float().flatten(1)  # (N, 784)
    order = torch.randperm(len(binary), generator=gen)
    if not 0 < test_size < len(binary):
        raise ValueError(f"test_size must lie in (0, {len(binary)}), got {test_size}")
    return binary[order[test_size:]].contiguous(), binary[order[:test_size]].contiguous()


# -- speed -----------------------------------------------------------------------------------
def seconds(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of ``fn()`` (perf_counter) and its result."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def matmul_gflops(m: int = 1024, k: int = 1024, n: int = 1024, *, min_seconds: float = 0.3, repeats: int = 3) -> float:
    """Best float32 GFLOP/s of ``(m, k) @ (k, n)`` with torch's current thread count.

    One matmul is 2*m*k*n FLOPs (a multiply and an add per term). Each repeat times as many
    back-to-back matmuls as fit in ``min_seconds``; the best repeat is returned (the
    machine's attainable peak, the denominator of ``flops_fraction``).
    """
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(m, k, generator=gen), torch.randn(k, n, generator=gen)
    out = torch.empty(m, n)
    torch.mm(a, b, out=out)  # warm-up: thread pool, caches
    best = 0.0
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < min_seconds or calls == 0:
            torch.mm(a, b, out=out)
            calls += 1
        best = max(best, 2.0 * m * k * n * calls / elapsed / 1e9)
    return best


def linear_train_flops_per_example(model: nn.Module) -> int:
    """Training FLOPs per example of a model's Linear layers: 6 * sum(in_features * out_features).

    Forward: one multiply-add (2 FLOPs) per weight; backward: twice the forward (gradients
    with respect to inputs and to weights), so 3 x 2 = 6 FLOPs per weight per example.
    Biases, activations, the loss and the optimizer are left out (about 1% for an MLP).
    """
    return 6 * sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return float(statistics.median(values))
