"""Flat vs hierarchical 16-bar MusicVAE on bar-aligned melodies: shared by bench/musicvae.py (CPU) and
bench/musicvae_gpu.py (a lent GPU).

The comparison varies the decoder only. Both models start from Magenta's 16-bar presets
(``flat-mel_16bar``, ``hierdec-mel_16bar``: free bits 256, beta 0.2, teacher forcing, Adam with
lr 1e-3 decaying by 0.9999 per step to 1e-5, clipping at 1.0) and get the same z size, encoder,
decoder LSTM widths (the conductor uses the decoder's, as Magenta), batch, data, seed and budget
(steps, or seconds of wall clock). Magenta's own flat preset has a 3 x 2048 decoder where the
hierarchical one has 2 x 1024; here both get ``decoder_sizes``.

Scoring (``zspace.music.paper_metrics``) on the held-out test windows and on as many windows of
the training set the model saw: underfitting shows on both, not generalising on test alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zspace.core.io import atomic_write_json
from zspace.errors import CheckpointError
from zspace.music.corpus import load_prepared
from zspace.music.metrics import kl_and_active_units
from zspace.music.paper_metrics import majority_accuracy, paper_metrics
from zspace.music.run import MusicRunConfig, batch_tokens, build_model, make_step_fn
from zspace.train import Trainer, runs
from zspace.train import checkpoint as ckpt

PRESETS = {"flat16": "flat-mel_16bar", "hier16": "hierdec-mel_16bar"}
# The results-file metrics, each as <model>_<metric>_test and <model>_<metric>_train.
HEADLINE = ("tf_acc", "sampled_acc_t1", "sampled_acc_argmax", "onset_acc_t1", "zswap_gap_nats")
clock = time.perf_counter  # what a wall-clock budget is measured by (a test substitutes a fake one)


@dataclass(frozen=True)
class Setup:
    """What both models share: sizes, budget, batch, device, precision, seed."""

    z_size: int
    encoder_size: int  # units per direction of the one bidirectional layer
    decoder_size: int  # units of each of the two decoder (and conductor) layers
    batch_size: int
    steps: int | None = None  # a step budget, or
    seconds: float | None = None  # a wall-clock budget (training only; evaluation comes after)
    device: str = "cpu"
    autocast: str = "none"
    threads: int | None = None
    seed: int = 0
    init: str = "magenta"  # MusicVAEConfig.init: Magenta's start (the default) or "pytorch" (the runs before it)
    deterministic: bool = True  # torch.use_deterministic_algorithms while training (off on a GPU for speed)


def run_config(name: str, setup: Setup) -> MusicRunConfig:
    """Magenta's 16-bar preset ``PRESETS[name]`` at the sizes and recipe of ``setup``."""
    base = MusicRunConfig.from_preset(
        PRESETS[name], data="(in memory)", batch_size=setup.batch_size, seed=setup.seed, device=setup.device,
        autocast=setup.autocast, threads=setup.threads, tensorboard=False, deterministic=setup.deterministic,
        max_steps=setup.steps or 10**9, checkpoint_every=10**9, log_every=50,
    )  # fmt: skip
    model = dataclasses.replace(
        base.model,
        z_size=setup.z_size,
        encoder_sizes=(setup.encoder_size,),
        decoder_sizes=(setup.decoder_size,) * 2,
        init=setup.init,
    )
    return dataclasses.replace(base, model=model)


# -- data ------------------------------------------------------------------------------------
def subset(tokens: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """A seeded subset of n windows in their original order (all of them when n is None or larger)."""
    if n is None or n >= len(tokens):
        return tokens
    return tokens[np.sort(np.random.default_rng(seed).permutation(len(tokens))[:n])]


def load_bar_aligned(path: str | Path, *, train_windows: int | None, seed: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """{train, test} windows of a prepared 16-bar melody file, the train split cut to ``train_windows``."""
    data = load_prepared(path, kind="melody", bars=16)
    if data.manifest.get("config", {}).get("meter", "4/4") != "4/4":
        print(f"warning: {path} was not prepared with meter 4/4: its bars are not all 16 steps", file=sys.stderr)
    train = subset(data.train, train_windows, seed)
    info = {"path": str(path), "windows": dict(data.manifest["counts"]), "songs": dict(data.manifest["songs"]),
            "train_windows_used": len(train), "prepare_command": data.manifest.get("command")}  # fmt: skip
    return {"train": train, "test": data.test}, info


# -- training --------------------------------------------------------------------------------
def train(name: str, train_tokens: np.ndarray, setup: Setup) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train one model with the shared Trainer on a step or wall-clock budget; returns it and a record."""
    config = run_config(name, setup)
    torch.manual_seed(setup.seed)
    model = build_model(config)
    data = batch_tokens(train_tokens)
    start = time.perf_counter()
    if setup.seconds is None:
        fit = Trainer(model, make_step_fn(config), config.train).fit(data)
        chunks = 1
    else:
        fit, chunks = _train_for(model, config, data, setup.seconds)
    wall = time.perf_counter() - start
    return model, {
        "preset": PRESETS[name], "model": dataclasses.asdict(config.model), "steps": fit.step, "train_seconds": wall,
        "steps_per_s": fit.step / wall, "chunks": chunks, "autocast": fit.autocast,
        "final_train_metrics": fit.train_metrics, "parameters": sum(p.numel() for p in model.parameters()),
    }  # fmt: skip


def _train_for(model: torch.nn.Module, config: MusicRunConfig, data: torch.Tensor, seconds: float) -> tuple[Any, int]:
    """Train for about ``seconds`` of wall clock: fits of growing max_steps, each resuming the last
    one's checkpoint (weights, optimizer, RNG, step), sized from the rate measured so far."""
    start, step, chunks, chunk = clock(), 0, 0, 20
    with tempfile.TemporaryDirectory(prefix="music16-") as run_dir:
        while True:
            train_config = dataclasses.replace(config.train, max_steps=step + chunk)
            trainer = Trainer(model, make_step_fn(config), train_config, run_dir=run_dir, run_config=config.to_json())
            fit = trainer.fit(data, resume=step > 0)
            step, chunks = fit.step, chunks + 1
            elapsed = clock() - start
            rate, remaining = step / elapsed, seconds - elapsed
            print(f"  {step} steps in {elapsed:.0f} s ({rate:.2f}/s)", file=sys.stderr, flush=True)
            chunk = int(0.95 * remaining * rate)  # the next fit's checkpoint and restore cost a little
            if chunk < max(1, step // 50):  # under 2% more: not worth another fit
                return fit, chunks


# -- resumable training in rounds -----------------------------------------------------------
STATE_FILE = "bench16.json"  # in the state directory: what the checkpoints were trained on, and for how long


def tokens_sha256(tokens: np.ndarray) -> str:
    """The training windows' fingerprint, stamped into each model's config.json as its data_sha256."""
    return hashlib.sha256(np.ascontiguousarray(tokens).tobytes()).hexdigest()


def _read_state(state_dir: Path, data_sha256: str) -> dict[str, Any]:
    path = state_dir / STATE_FILE
    if not path.is_file():
        if any(ckpt.list_checkpoints(p) for p in state_dir.glob("*") if p.is_dir()):
            raise SystemExit(f"{state_dir} holds checkpoints but no {STATE_FILE}: choose an empty --state-dir-16bar")
        return {"train_seconds": {}}
    state = json.loads(path.read_text())
    # State directories begun before each model's config.json carried data_sha256 kept it here.
    if state.pop("key", {}).get("train_sha256", data_sha256) != data_sha256:
        raise SystemExit(f"{state_dir} was trained on other windows: resume it with the command in {path}")
    return state


def _check_resumable(run_dir: Path, config: MusicRunConfig, data_sha256: str) -> None:
    """A model's checkpoints resume under the library's rules (``zspace train music --resume``'s):
    the same model, objective, seed, batch size and training windows; and here the same autocast,
    which changes the numbers the run computes."""
    if not ckpt.list_checkpoints(run_dir):
        return
    saved = MusicRunConfig.from_json(ckpt.read_config(run_dir), where=str(run_dir / ckpt.CONFIG))
    ckpt.check_resumable(saved, config, run_dir / ckpt.CONFIG)
    runs.check_data_unchanged(run_dir, data_sha256, "the training windows")
    if saved.train.autocast != config.train.autocast:
        raise CheckpointError(f"--resume: train.autocast differs from the run saved in {run_dir}; resume with the same options")


def _checkpoint_step(run_dir: Path) -> int:
    last = ckpt.latest_checkpoint(run_dir)
    return 0 if last is None else int(ckpt.load_trainer_state(last)["step"])


def train_in_rounds(names: list[str], train_tokens: np.ndarray, setup: Setup, *, state_dir: str | Path, round_steps: int,
                    time_limit_s: float | None = None, command: str = "") -> dict[str, tuple[torch.nn.Module, dict[str, Any]]]:  # fmt: skip
    """Train ``names`` in turns of ``round_steps`` steps each towards ``setup.steps``, checkpointing
    every turn under ``state_dir/<name>``; rerunning with the same ``state_dir`` resumes them.

    Taking turns holds the step counts equal whenever the run stops, whatever the load on a shared
    CPU: a new round starts only if the last round's duration still fits in ``time_limit_s``
    (seconds of training in this call). Each model ends loaded from its newest checkpoint; its
    record says the steps reached, the target and whether it is ``partial``."""
    if setup.steps is None or round_steps < 1:
        raise ValueError("train_in_rounds needs setup.steps and round_steps >= 1")
    state_dir = Path(state_dir)
    data_sha256 = tokens_sha256(train_tokens)
    state = _read_state(state_dir, data_sha256)
    configs = {name: run_config(name, setup) for name in names}
    for name in names:
        _check_resumable(state_dir / name, configs[name], data_sha256)
    models: dict[str, torch.nn.Module] = {}
    for name in names:
        torch.manual_seed(setup.seed)
        models[name] = build_model(configs[name])
    data = batch_tokens(train_tokens)
    steps = {name: _checkpoint_step(state_dir / name) for name in names}
    fits: dict[str, Any] = {}

    def fit(name: str, target: int) -> float:
        """Train (or, at its own step, just load) ``name`` to ``target``; returns the seconds taken."""
        config = configs[name]
        train_config = dataclasses.replace(config.train, max_steps=target, checkpoint_every=round_steps)
        run_config = config.to_json(data_sha256=data_sha256)
        trainer = Trainer(models[name], make_step_fn(config), train_config, run_dir=state_dir / name, run_config=run_config)
        start = time.perf_counter()
        fits[name] = trainer.fit(data, resume=steps[name] > 0)
        steps[name] = fits[name].step
        return time.perf_counter() - start

    start, last_round = clock(), 0.0
    while min(steps.values()) < setup.steps:
        if time_limit_s is not None and clock() - start + last_round > time_limit_s:
            break
        round_start = clock()
        target = min(setup.steps, (min(steps.values()) // round_steps + 1) * round_steps)
        for name in names:
            if steps[name] < target:
                state["train_seconds"][name] = state["train_seconds"].get(name, 0.0) + fit(name, target)
        last_round = clock() - round_start
        atomic_write_json(state_dir / STATE_FILE, state | {"command": command, "steps": steps})
        print(f"  round to step {target}: {last_round:.0f} s ({', '.join(f'{n} {s}' for n, s in steps.items())})",
              file=sys.stderr, flush=True)  # fmt: skip
    for name in names:  # a model this call did not train: load its newest checkpoint
        if name not in fits and steps[name] > 0:
            fit(name, steps[name])
    out = {}
    for name in names:
        result = fits.get(name)
        out[name] = (models[name], {
            "preset": PRESETS[name], "model": dataclasses.asdict(configs[name].model), "steps": steps[name],
            "steps_target": setup.steps, "partial": steps[name] < setup.steps, "round_steps": round_steps,
            "train_seconds": state["train_seconds"].get(name, 0.0), "state_dir": str(state_dir / name),
            "final_train_metrics": result.train_metrics if result else {}, "autocast": result.autocast if result else None,
            "parameters": sum(p.numel() for p in models[name].parameters()),
        })  # fmt: skip
    return out


# -- scoring ---------------------------------------------------------------------------------
def score(model: torch.nn.Module, splits: dict[str, np.ndarray], *, eval_windows: int, z_draws: int, seed: int,
          batch_size: int = 256) -> dict[str, Any]:  # fmt: skip
    """paper_metrics and KL on ``eval_windows`` test windows and on as many training windows."""
    test = subset(splits["test"], eval_windows, seed)
    train = subset(splits["train"], len(test), seed + 1)
    out: dict[str, Any] = {}
    for split, tokens in (("test", test), ("train", train)):
        out[split] = paper_metrics(model, tokens, z_draws=z_draws, seed=seed, batch_size=batch_size)
        out[split] |= kl_and_active_units(model, tokens, batch_size=batch_size)
    return out


def headline(results: dict[str, dict[str, Any]], splits: dict[str, np.ndarray]) -> dict[str, Any]:
    """The results-file keys: <model>_<metric>_<split> for HEADLINE metrics, and majority_test."""
    keys: dict[str, Any] = {"majority_test": majority_accuracy(splits["train"], splits["test"])}
    for name, result in results.items():
        for metric in HEADLINE:
            for split in ("test", "train"):
                keys[f"{name}_{metric}_{split}"] = result["scores"][split][metric]
    return keys


def print_table(results: dict[str, dict[str, Any]], majority: float) -> None:
    columns = ("tf_acc", "sampled_acc_t1", "sampled_acc_t1_zdraw_mean", "sampled_acc_argmax", "onset_acc_t1",
               "sampled_acc_t1_zswap", "zswap_gap_nats", "kl_bits")  # fmt: skip
    short = ("tf", "t1", "t1 z~q", "argmax", "onset t1", "t1 swap", "gap nats", "KL bits")
    print(f"{'model':<16}{'split':<7}{'steps':>7}" + "".join(f"{c:>10}" for c in short))
    for name, result in results.items():
        for split in ("test", "train"):
            s = result["scores"][split]
            print(f"{name:<16}{split:<7}{result['steps']:>7}" + "".join(f"{s[c]:>10.3f}" for c in columns))
    print(f"majority class (hold) on the test windows: {majority:.3f}")
