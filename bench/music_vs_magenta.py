"""Our MusicVAE against Magenta's own (TensorFlow) on the same CPU, side by side in one run.

For each preset, at the same batch, sequence length and thread count: training steps/s (teacher
forcing, Adam, global-norm clipping at 1.0: Magenta's ``music_vae_train`` step and our
trainer's) and inference windows/s (the posterior mean of a batch, then greedy decoding from
it). Magenta runs in its own venv as a worker (``tools/magenta_speed.py``) that builds its graph
once; then the two are timed in turns, ``--repeats`` windows of ``--seconds`` each, and the
medians compared, so load from elsewhere on the machine hits both alike. Ratios are ours /
Magenta's (> 1: we are faster).

    PYTHONPATH=src .venv/bin/python bench/music_vs_magenta.py --json-out docs/benchmarks/music.json --json-key vs_magenta

needs ``.bench-venv-magenta`` (the recipe is in tools/magenta_parity.py), or ``--magenta-python``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, emit_json, parse_args
from _results import write_result

from zspace.music.objective import SamplingSchedule
from zspace.music.run import MusicRunConfig, build_model, make_step_fn

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Args:
    """MusicVAE training and inference speed: ours against Magenta's TensorFlow code, same CPU."""

    presets: str = "cat-mel_2bar_small:64,hierdec-mel_16bar:4"  # preset:batch, comma-separated
    threads: int = 1  # torch.set_num_threads / TF intra-op threads (TF inter-op: 1)
    repeats: int = 3  # timed windows per side and kind
    seconds: float = 5.0  # length of one timed window (at least one call)
    magenta_python: str = str(ROOT / ".bench-venv-magenta/bin/python")
    json_out: str | None = None
    json_key: str | None = None  # the entry of --json-out this run replaces (music.json: "vs_magenta")


def rate(fn: Any, seconds: float) -> float:
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or calls == 0:
        fn()
        calls += 1
    return calls / elapsed


def ours(preset: str, batch: int, seed: int = 0) -> dict[str, Any]:
    """Our training step (as the Trainer's, without its bookkeeping) and inference on a fixed random batch."""
    base = MusicRunConfig.from_preset(preset, data="-")
    config = dataclasses.replace(base, objective=dataclasses.replace(base.objective, sampling=SamplingSchedule()))
    torch.manual_seed(seed)
    model = build_model(config)
    n_steps, depth = config.model.n_steps, config.model.output_depths[0]
    tokens = torch.randint(0, depth, (batch, n_steps, 1), generator=torch.Generator().manual_seed(seed))
    step_fn = make_step_fn(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    inputs = F.one_hot(tokens[..., 0], depth).float()

    def train() -> None:
        loss = step_fn(model, tokens.short(), 0)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    @torch.no_grad()
    def infer() -> None:
        model.decode(model.encode(inputs).mean, n_steps, greedy=True)

    return {"train": train, "infer": infer}


class Magenta:
    """The TF worker: start, warm up, then time on request."""

    def __init__(self, python: str, preset: str, batch: int, threads: int) -> None:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads))
        self.process = subprocess.Popen(
            [python, str(ROOT / "tools/magenta_speed.py"), "--preset", preset, "--batch", str(batch), "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        line = self.process.stdout.readline()
        if not line.startswith("ready"):
            code = self.process.wait()
            why = " (killed: out of memory?)" if code == -9 else ""
            raise RuntimeError(f"the Magenta worker for {preset} at batch {batch} did not start: exit {code}{why}")
        self.info = json.loads(line.split(" ", 1)[1])

    def rate(self, kind: str, seconds: float) -> float:
        self.process.stdin.write(f"{kind} {seconds}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait()


def compare(preset: str, batch: int, args: Args) -> dict[str, Any]:
    magenta = Magenta(args.magenta_python, preset, batch, args.threads)
    try:
        mine = ours(preset, batch)
        mine["train"](), mine["train"](), mine["infer"]()  # warm-up
        samples: dict[str, list[float]] = {f"{side}_{kind}": [] for side in ("ours", "magenta") for kind in ("train", "infer")}
        for _ in range(args.repeats):
            for kind in ("train", "infer"):
                samples[f"ours_{kind}"].append(rate(mine[kind], args.seconds))
                samples[f"magenta_{kind}"].append(magenta.rate(kind, args.seconds))
    finally:
        magenta.close()
    rates = {k: median(v) for k, v in samples.items()}
    return {
        "batch": batch,
        "n_steps": magenta.info["n_steps"],
        "magenta_graph_seconds": magenta.info["graph_seconds"],
        "train_steps_per_s": {"ours": rates["ours_train"], "magenta": rates["magenta_train"]},
        "infer_windows_per_s": {"ours": rates["ours_infer"] * batch, "magenta": rates["magenta_infer"] * batch},
        "samples_calls_per_s": samples,
        "train_ratio": rates["ours_train"] / rates["magenta_train"],
        "infer_ratio": rates["ours_infer"] / rates["magenta_infer"],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(Args, argv, description=__doc__)
    torch.set_num_threads(args.threads)
    result: dict[str, Any] = {"command": command_line(__file__, argv), "threads": args.threads, "torch": torch.__version__,
                              "cpu": os.cpu_count(), "presets": {}}  # fmt: skip
    for item in args.presets.split(","):
        preset, batch = item.split(":")
        try:
            part = compare(preset, int(batch), args)
        except RuntimeError as err:  # recorded, and the other presets still run
            result["presets"][preset] = {"batch": int(batch), "error": str(err)}
            print(f"{preset}: {err}", flush=True)
            continue
        result["presets"][preset] = part
        result[f"train_ratio_{preset}"] = part["train_ratio"]
        result[f"infer_ratio_{preset}"] = part["infer_ratio"]
        print(f"{preset} batch {batch}: train steps/s ours {part['train_steps_per_s']['ours']:.3f} "
              f"magenta {part['train_steps_per_s']['magenta']:.3f} (x{part['train_ratio']:.2f}); inference windows/s "
              f"ours {part['infer_windows_per_s']['ours']:.2f} magenta {part['infer_windows_per_s']['magenta']:.2f} "
              f"(x{part['infer_ratio']:.2f})", flush=True)  # fmt: skip
        write_result(args.json_out, result, args.json_key)  # after every preset: a later one may run out of memory
    write_result(args.json_out, result, args.json_key)
    emit_json(result)
    return result


if __name__ == "__main__":
    main()
