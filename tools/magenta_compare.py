"""Compare our imported models with the outputs tools/magenta_parity.py recorded from Magenta.

Runs in the project's venv (torch, no TensorFlow). For each case folder under DIR (a
``model.ckpt`` and the ``expected.npz`` Magenta computed), import the checkpoint with
:func:`zspace.music.magenta.load_checkpoint` and print the max abs differences of mu, sigma,
the teacher-forced logits and the slerp path, and whether the greedy tokens (from mu, and along
the slerp path) are identical; the last line is the JSON of it all::

    PYTHONPATH=src .venv/bin/python tools/magenta_compare.py tests/music/fixtures/magenta
    PYTHONPATH=src .venv/bin/python tools/magenta_compare.py runs/magenta-full   # after magenta_parity.py --full
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from zspace.core.latent import slerp
from zspace.music.magenta import load_checkpoint
from zspace.music.presets import PRESETS


def case_config(case: dict, input_depth: int):
    return replace(
        PRESETS[case["preset"]].model,
        n_steps=case["n_steps"],
        z_size=case["z_size"],
        encoder_sizes=tuple(case["encoder_sizes"]),
        decoder_sizes=tuple(case["decoder_sizes"]),
        segment_length=case["segment_length"] or 16,
        input_depth=input_depth,
    )


def outputs(model, expected) -> dict[str, np.ndarray]:
    """What tools/magenta_parity.py recorded (``expected.npz``), computed by our model from the same inputs."""
    with torch.no_grad():
        posterior = model.encode(torch.from_numpy(expected["inputs"].astype(np.float32)))
        mu = torch.from_numpy(expected["mu"])
        logits = model.decoder.teacher_forced(mu, torch.from_numpy(expected["targets"].astype(np.int64)))
        return {
            "mu": posterior.mean.numpy(),
            "sigma": posterior.stddev.numpy(),
            "logits": torch.cat(logits, dim=-1).numpy(),
            "slerp_z": slerp(mu[0], mu[1], len(expected["slerp_z"])).numpy(),
            "greedy": model.decode(mu, greedy=True).numpy(),
            "slerp": model.decode(torch.from_numpy(expected["slerp_z"]), greedy=True).numpy(),
        }


def max_diffs(ours: dict[str, np.ndarray], expected) -> dict[str, float]:
    """Max abs difference of each real-valued output."""
    return {k: float(np.abs(ours[k] - expected[k]).max()) for k in ("mu", "sigma", "logits", "slerp_z")}


def compare(folder: Path, case: dict) -> dict:
    expected = np.load(folder / "expected.npz")
    start = time.perf_counter()
    model = load_checkpoint(folder / "model.ckpt", case_config(case, expected["inputs"].shape[-1]))
    loaded = time.perf_counter() - start
    ours = outputs(model, expected)
    result = {f"max_abs_diff_{k}": v for k, v in max_diffs(ours, expected).items()}
    result["greedy_tokens_identical"] = bool(np.array_equal(ours["greedy"], expected["greedy"]))
    result["slerp_tokens_identical"] = bool(np.array_equal(ours["slerp"], expected["slerp"]))
    result["parameters"] = sum(p.numel() for p in model.parameters())
    result["import_seconds"] = round(loaded, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    args = parser.parse_args()
    cases = json.loads((args.dir / "cases.json").read_text())
    results = {}
    for name, case in cases.items():
        results[name] = compare(args.dir / name, case)
        print(name, json.dumps(results[name]), flush=True)
    worst = max(max(v for k, v in r.items() if k.startswith("max_abs")) for r in results.values())
    print(f"worst max abs diff {worst:.2e}; tokens identical everywhere: "
          f"{all(r['greedy_tokens_identical'] and r['slerp_tokens_identical'] for r in results.values())}", file=sys.stderr)  # fmt: skip
    print(json.dumps(results))


if __name__ == "__main__":
    main()
