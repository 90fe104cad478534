"""Flat vs hierarchical 16-bar MusicVAE on one GPU: both trained at once for a fixed wall clock, then scored.

Each model trains in its own process on the same GPU, at the same time, for ``--seconds`` of wall
clock (z 256, encoder 512, decoders 2 x 512, batch 512, bf16 autocast; Magenta's 16-bar objective
and recipe, the decoder the only difference: bench/_music16.py). Then each scores the paper's
metric and the z-use checks (zspace.music.paper_metrics) on the held-out test windows and on as
many training windows. Only numpy and torch are needed: no music21, pretty_midi or mido.

The data is a prepared bar-aligned 16-bar file, made beforehand where music21 is installed:

    zspace music prepare --corpus music21:essenFolksong --kind melody --bars 16 --meter 4/4 --workers 1 \\
        --out runs/gpu/essen_mel16_44.npz

then carried with the working tree (``runs/`` is ignored by git). On the device, from the repo root:

    PYTHONPATH=src python bench/musicvae_gpu.py --data runs/gpu/essen_mel16_44.npz --out-dir "$OUT" --smoke
    PYTHONPATH=src python bench/musicvae_gpu.py --data runs/gpu/essen_mel16_44.npz --out-dir "$OUT"

Writes into ``--out-dir``: music_gpu.json (the results: flat16_*/hier16_* keys with _test and
_train suffixes, majority_test, command, seconds, and a ``gpu`` part), music.json (the repo's
docs/benchmarks/music.json with that result merged in as its ``"16bar_gpu"`` entry), and each
model's log and JSON. Prints a table, then one JSON object as the last line of stdout.
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
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `_common`, `_music16` beside this file
import _music16
from _common import command_line, emit_json, parse_args

from zspace.core.io import atomic_write_json

REPO_RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "music.json"


@dataclass
class Args:
    """Flat vs hierarchical 16-bar MusicVAE trained concurrently on one GPU for a fixed wall clock."""

    data: str = "runs/gpu/essen_mel16_44.npz"  # a prepared 16-bar melody file, meter 4/4
    out_dir: str | None = None  # default: $OUT, else runs/gpu-out
    device: str = "cuda"
    seconds: float | None = None  # training wall clock per model: 240 (20 with --smoke)
    smoke: bool = False  # 20 s of training and 64 scored windows: checks the whole path end to end
    z_size: int = 256
    encoder_size: int = 512
    decoder_size: int = 512
    batch_size: int = 512
    autocast: str = "bfloat16"  # falls back to float32 with a warning where the device has no bf16 kernels
    train_windows: int | None = None  # None: the whole training split
    eval_windows: int | None = None  # test windows scored (as many training windows too): 2048 (64 with --smoke)
    z_draws: int = 3
    eval_batch_size: int = 1024  # windows decoded at once while scoring
    threads: int = 4  # CPU threads per model process
    seed: int = 0
    models: str = "flat16,hier16"
    worker: str | None = None  # internal: train and score this one model, write --worker-out
    worker_out: str | None = None


def setup_of(args: Args) -> _music16.Setup:
    return _music16.Setup(
        z_size=args.z_size, encoder_size=args.encoder_size, decoder_size=args.decoder_size, batch_size=args.batch_size,
        seconds=args.seconds if args.seconds is not None else (20.0 if args.smoke else 240.0), device=args.device,
        autocast=args.autocast, threads=args.threads, seed=args.seed, deterministic=False,
    )  # fmt: skip


def eval_windows(args: Args) -> int:
    return args.eval_windows if args.eval_windows is not None else (64 if args.smoke else 2048)


def run_worker(args: Args) -> dict[str, Any]:
    """Train and score one model in this process; the record goes to --worker-out as JSON."""
    torch.set_num_threads(args.threads)
    splits, data = _music16.load_bar_aligned(args.data, train_windows=args.train_windows, seed=args.seed)
    start = time.perf_counter()
    model, record = _music16.train(args.worker, splits["train"], setup_of(args))
    print(f"{args.worker}: {record['steps']} steps in {record['train_seconds']:.0f} s; scoring", file=sys.stderr, flush=True)
    record["scores"] = _music16.score(
        model, splits, eval_windows=eval_windows(args), z_draws=args.z_draws, seed=args.seed, batch_size=args.eval_batch_size
    )
    record |= {
        "seconds": time.perf_counter() - start,
        "data": data,
        "majority_test": _music16.headline({}, splits)["majority_test"],
    }
    if torch.cuda.is_available() and torch.device(args.device).type == "cuda":
        record["device_name"] = torch.cuda.get_device_name(torch.device(args.device))
        record["max_memory_gib"] = torch.cuda.max_memory_allocated(torch.device(args.device)) / 2**30
    record = json.loads(json.dumps(record, allow_nan=False))
    Path(args.worker_out).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def run_all(args: Args, argv: list[str] | None) -> dict[str, Any]:
    """Start one worker process per model, wait for both, gather and write the results."""
    out = Path(args.out_dir or os.environ.get("OUT") or "runs/gpu-out")
    out.mkdir(parents=True, exist_ok=True)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    if unknown := sorted(set(names) - set(_music16.PRESETS)):
        raise SystemExit(f"--models: unknown {unknown}; choose from {','.join(_music16.PRESETS)}")
    forwarded = list(sys.argv[1:] if argv is None else argv)
    start, workers = time.perf_counter(), {}
    for name in names:
        log = (out / f"{name}.log").open("w")
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            *forwarded,
            "--worker",
            name,
            "--worker-out",
            str(out / f"{name}.json"),
        ]
        workers[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log)
    failed = []
    for name, (process, log) in workers.items():
        if process.wait() != 0:
            failed.append(name)
        log.close()
    if failed:
        for name in failed:
            print(f"--- {name}.log (tail) ---\n{(out / f'{name}.log').read_text()[-4000:]}", file=sys.stderr)
        raise SystemExit(f"worker(s) {failed} failed; see their logs in {out}")
    models = {name: json.loads((out / f"{name}.json").read_text()) for name in names}
    first = next(iter(models.values()))
    part = {"command": command_line(__file__, argv), "seconds": time.perf_counter() - start, "setup": dataclasses.asdict(setup_of(args)),
            "eval_windows": eval_windows(args), "smoke": args.smoke, "concurrent": True, "torch": torch.__version__,
            "device_name": first.get("device_name"), "data": first["data"], "majority_test": first["majority_test"],
            "models": models}  # fmt: skip
    keys = headline(part)
    result = {"benchmark": "music", "command": part["command"], "seconds": part["seconds"], **keys, "parts": {"gpu": part}}
    write(out / "music_gpu.json", result)
    if REPO_RESULTS.is_file():  # the repo's results with this run merged in as its "16bar_gpu" entry
        write(out / "music.json", json.loads(REPO_RESULTS.read_text()) | {"16bar_gpu": result})
    _music16.print_table(models, part["majority_test"])
    print(f"device {part['device_name']}; {part['seconds']:.0f} s in all; results in {out}")
    emit_json(result)
    return result


def headline(part: dict[str, Any]) -> dict[str, Any]:
    models = part["models"]
    keys = {f"{name}_{metric}_{split}": models[name]["scores"][split][metric]
            for name in models for metric in _music16.HEADLINE for split in ("test", "train")}  # fmt: skip
    return keys | {"majority_test": part["majority_test"], "steps": {n: m["steps"] for n, m in models.items()}}


def write(path: Path, result: dict[str, Any]) -> None:
    atomic_write_json(path, result, sort_keys=True, allow_nan=False)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(Args, argv)
    if args.worker is not None:
        if args.worker not in _music16.PRESETS or not args.worker_out:
            raise SystemExit(f"--worker must be one of {','.join(_music16.PRESETS)}, with --worker-out")
        return run_worker(args)
    return run_all(args, argv)


if __name__ == "__main__":
    main()
