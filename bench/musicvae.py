"""MusicVAE on music21's bundled Essen folk songs: held-out reconstruction, flat vs hierarchical, speed.

Three parts (``--parts``), each on the same seed, batch and thread count:

- mel2bar: a 2-bar melody model (``--mel2bar-preset``) trained for ``--mel2bar-steps`` on Essen's
  4/4 tunes (Magenta's meter rule); teacher-forced and sampled accuracy (Roberts et al. 2018,
  Table 1; z = posterior mean), KL, active units and interpolation smoothness on the test split
  (songs disjoint from training), plus the training wall time.
- 16bar: Magenta's ``flat-mel_16bar`` vs ``hierdec-mel_16bar`` objective and recipe at a CPU size
  (``--z-size-16bar``, ``--encoder-16bar``, ``--decoder-16bar``: 64, 128, 2 x 64), the decoder the
  only difference (bench/_music16.py), on bar-aligned 16-bar windows of Essen's 4/4 tunes
  (Magenta's rule: 16 steps per bar; windows slide by one bar) cut to a fixed training subset
  (``--train-windows-16bar``, 2000) that both models can fit. Scored with the paper's metric
  (sampled accuracy at temperature 1) and the z-use checks (zspace.music.paper_metrics) on the
  test split and on as many training windows. The paper's claim: the hierarchical decoder
  reconstructs far better when sampling, because it has to use z. ``--models-16bar`` trains one
  of the two; with ``--merge`` the other's result already in ``--json-out`` is kept. With
  ``--state-dir-16bar`` the models take turns of ``--round-steps-16bar`` steps, checkpointed
  there, so their step counts are equal whenever the run stops (``--time-limit-16bar``: start no
  turn that would end past it; the result says ``partial``); the same command resumes them.
- speed: training steps/s at batch 64 of our model at ``--speed-preset``'s size (cat-mel_2bar_small; teacher forcing,
  through run.make_step_fn and Adam as the Trainer runs it) against ``PlainMusicVAE`` below, a
  straightforward port with fused nn.LSTMs, measured interleaved in one process; the median of
  ``--speed-repeats`` timed windows counts. The headline ratio is our fastest setting (float32,
  the optional bf16 LSTM scan, or ``TrainConfig(autocast="bfloat16")``) over the plain model's
  fastest (float32 or bf16 autocast); the like-for-like ratios are recorded beside it.

Data are prepared once and cached under ``--data-dir``; ``--quick`` uses seeded synthetic
melodies instead and tiny budgets (< 1 minute). ``--device cuda`` trains and evaluates the
mel2bar and 16bar models on the GPU (the speed part measures the CPU).

    python bench/musicvae.py --parts mel2bar --mel2bar-steps 20000 --json-out docs/benchmarks/music.json --json-key mel2bar_20k

Prints a table, then one JSON object as the last line of stdout.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `_common` beside this file, also when imported by path
import _music16
from _common import command_line, emit_json, median, parse_args
from _results import read_result, write_result

from zspace.music.corpus import PrepareConfig, load_prepared, prepare
from zspace.music.metrics import evaluate
from zspace.music.objective import SamplingSchedule
from zspace.music.run import MusicRunConfig, batch_tokens, build_model, make_step_fn
from zspace.train import Trainer
from zspace.train.precision import bf16_unsupported_reason

PARTS = ("mel2bar", "16bar", "speed")
CORPUS = "music21:essenFolksong"
DATA = {2: PrepareConfig(kind="melody", bars=2, meter="4/4"), 16: PrepareConfig(kind="melody", bars=16, meter="4/4")}


@dataclass
class Args:
    """MusicVAE: held-out accuracy (2-bar; flat vs hierarchical 16-bar) and training speed vs plain PyTorch."""

    quick: bool = False  # synthetic data and tiny budgets (< 1 minute): what the tests smoke-run
    json_out: str | None = None  # also write the JSON result to this file (atomically)
    json_key: str | None = None  # the entry of --json-out this run replaces (music.json: "mel2bar_20k", "16bar", ...)
    merge: bool = False  # keep the parts already in --json-out that this run does not redo
    parts: str = "mel2bar,16bar,speed"
    data_dir: str = "runs/bench-music/data"  # prepared windows are cached here
    seed: int = 0
    threads: int = 2  # torch intra-op threads for every part
    batch_size: int = 64
    autocast: str = "none"  # "bfloat16": mixed-precision training steps for mel2bar and 16bar (TrainConfig.autocast)
    device: str = "cpu"  # where mel2bar and 16bar train and are scored: cpu | cuda | cuda:N
    mel2bar_preset: str = "cat-mel_2bar_tiny"
    mel2bar_steps: int | None = None  # 6000 (10 with --quick)
    steps_16bar: int | None = None  # per model: 2000 (6 with --quick)
    seconds_16bar: float | None = None  # a wall-clock training budget per model instead of --steps-16bar
    models_16bar: str = "flat16,hier16"
    state_dir_16bar: str | None = None  # checkpoint the 16-bar models here, taking turns; the same command resumes them
    round_steps_16bar: int = 100  # with --state-dir-16bar: steps per model per turn (and between checkpoints)
    time_limit_16bar: float | None = None  # with --state-dir-16bar: start no turn that would end past this many seconds
    train_windows_16bar: int | None = 2000  # the fixed training subset (seeded); None: the whole train split
    z_size_16bar: int | None = None  # 64 (8 with --quick)
    encoder_16bar: int | None = None  # units per direction: 128 (16 with --quick)
    decoder_16bar: int | None = None  # units of each of 2 decoder (and conductor) layers: 64 (8 with --quick)
    init_16bar: str = "magenta"  # MusicVAEConfig.init of the 16-bar models; "pytorch" for the runs recorded before it
    z_draws: int = 3  # codes z ~ q(z|x) per window for the sampled accuracy's mean +- std
    eval_windows: int | None = None  # held-out windows scored per model (as many training windows too): 1024 (8 with --quick)
    speed_repeats: int | None = None  # timed windows per model: 5 (1 with --quick)
    speed_seconds: float | None = None  # length of one timed window: 3 s (0.2 with --quick)
    speed_preset: str | None = None  # the model timed: cat-mel_2bar_small (cat-mel_2bar_tiny with --quick)


@dataclass(frozen=True)
class Budget:
    """Steps, windows, timings and model sizes of a run: FULL, or QUICK (a smoke test of every path)."""

    mel2bar_steps: int
    steps_16bar: int
    eval_windows: int
    speed_repeats: int
    speed_seconds: float
    z_size_16bar: int
    encoder_16bar: int
    decoder_16bar: int
    speed_preset: str


FULL = Budget(mel2bar_steps=6000, steps_16bar=2000, eval_windows=1024, speed_repeats=5, speed_seconds=3.0,
              z_size_16bar=64, encoder_16bar=128, decoder_16bar=64, speed_preset="cat-mel_2bar_small")  # fmt: skip
QUICK = Budget(mel2bar_steps=10, steps_16bar=4, eval_windows=4, speed_repeats=1, speed_seconds=0.1,
               z_size_16bar=8, encoder_16bar=16, decoder_16bar=8, speed_preset="cat-mel_2bar_tiny")  # fmt: skip


def resolve_budget(args: Args) -> Budget:
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(Budget) if getattr(args, f.name) is not None}
    return dataclasses.replace(QUICK if args.quick else FULL, **given)


# -- data ------------------------------------------------------------------------------------
def synthetic_melodies(n: int, bars: int, *, seed: int) -> np.ndarray:
    """Seeded stand-ins for --quick: scale-wise walks of 2- to 4-step notes, (n, 16 bars, 1) uint8."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 16 * bars, 1), dtype=np.uint8)  # 0 = no event: the held note continues
    scale = np.array([0, 2, 4, 5, 7, 9, 11])
    for window in out:
        degree, step, key = int(rng.integers(7, 14)), 0, int(rng.integers(55, 67))
        while step < len(window):
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 20))
            window[step, 0] = key + 12 * (degree // 7) + scale[degree % 7] - 21 + 2  # class of MIDI pitch p: p - 21 + 2
            step += int(rng.integers(2, 5))
    return out


def load_windows(bars: int, args: Args) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """{split: tokens (n, T, 1)} and a description; prepared from Essen once and cached."""
    if args.quick:
        splits = {s: synthetic_melodies(n, bars, seed=args.seed + i) for i, (s, n) in enumerate((("train", 128), ("test", 16)))}
        return splits, {"source": "synthetic (--quick)", "windows": {s: len(t) for s, t in splits.items()}}
    config = DATA[bars]
    path = Path(args.data_dir) / f"essen_mel{bars}_{config.meter.replace('/', '')}.npz"
    if not path.is_file():
        print(f"preparing {bars}-bar windows from {CORPUS} (meter {config.meter}) into {path} ...", file=sys.stderr, flush=True)
        prepare(path, config, corpus=CORPUS, command=command_line(__file__))
    data = load_prepared(path, kind="melody", bars=bars)
    info = {"source": f"{CORPUS} meter={config.meter}", "path": str(path), "windows": dict(data.manifest["counts"]),
            "songs": dict(data.manifest["songs"])}  # fmt: skip
    return {"train": data.train, "test": data.test}, info


# -- training and scoring --------------------------------------------------------------------
def train_and_score(preset: str, splits: dict[str, np.ndarray], steps: int, args: Args, budget: Budget) -> dict[str, Any]:
    """Train ``preset`` for ``steps`` on the train split with the shared Trainer; score the test split."""
    config = MusicRunConfig.from_preset(
        preset, data="(in memory)", max_steps=steps, batch_size=args.batch_size, seed=args.seed, threads=args.threads,
        tensorboard=False, device=args.device, log_every=max(1, steps // 10), autocast=args.autocast,
    )  # fmt: skip
    torch.manual_seed(args.seed)
    model = build_model(config)
    trainer = Trainer(model, make_step_fn(config), config.train)
    start = time.perf_counter()
    fit = trainer.fit(batch_tokens(splits["train"]))
    wall = time.perf_counter() - start
    scores = evaluate(
        model, _music16.subset(splits["test"], budget.eval_windows, args.seed), seed=args.seed, z_draws=args.z_draws
    )
    return {"preset": preset, "steps": fit.step, "train_seconds": wall, "steps_per_s": fit.step / wall,
            "train_accuracy": fit.train_metrics.get("accuracy"), "autocast": fit.autocast, "parameters": sum(p.numel() for p in model.parameters()),
            "model": dataclasses.asdict(config.model), **scores}  # fmt: skip


def part_mel2bar(args: Args, budget: Budget) -> dict[str, Any]:
    splits, data = load_windows(2, args)
    result = train_and_score(args.mel2bar_preset, splits, budget.mel2bar_steps, args, budget)
    return {"data": data, **result}


def part_16bar(args: Args, budget: Budget) -> dict[str, Any]:
    """Flat vs hierarchical on the same bar-aligned windows, training subset, sizes and step budget."""
    splits, data = load_windows(16, args)
    splits["train"] = _music16.subset(splits["train"], args.train_windows_16bar, args.seed)
    data["train_windows_used"] = len(splits["train"])
    setup = _music16.Setup(
        z_size=budget.z_size_16bar, encoder_size=budget.encoder_16bar, decoder_size=budget.decoder_16bar, batch_size=args.batch_size,
        steps=None if args.seconds_16bar else budget.steps_16bar, seconds=args.seconds_16bar, device=args.device, autocast=args.autocast, threads=args.threads, seed=args.seed,
        init=args.init_16bar,
    )  # fmt: skip
    names = [m.strip() for m in args.models_16bar.split(",") if m.strip()]
    if unknown := [name for name in names if name not in _music16.PRESETS]:
        raise SystemExit(f"--models-16bar: unknown {unknown}; choose from {','.join(_music16.PRESETS)}")
    if args.state_dir_16bar and args.seconds_16bar:
        raise SystemExit("--state-dir-16bar trains to --steps-16bar (equal for both models); drop --seconds-16bar")
    if args.state_dir_16bar:  # in turns, from and to checkpoints: resumable, equal steps whenever it stops
        trained = _music16.train_in_rounds(names, splits["train"], setup, state_dir=args.state_dir_16bar,
                                           round_steps=args.round_steps_16bar, time_limit_s=args.time_limit_16bar,
                                           command=command_line(__file__))  # fmt: skip
    else:
        trained = {name: _music16.train(name, splits["train"], setup) for name in names}
    models: dict[str, Any] = {}
    for name, (model, record) in trained.items():
        start = time.perf_counter()
        record["scores"] = _music16.score(model, splits, eval_windows=budget.eval_windows, z_draws=args.z_draws, seed=args.seed)
        models[name] = record | {"seconds": record["train_seconds"] + time.perf_counter() - start}
    majority = _music16.headline({}, splits)["majority_test"]
    return {"data": data, "setup": dataclasses.asdict(setup), "majority_test": majority, "models": models}


# -- speed: a straightforward PyTorch port --------------------------------------------------
class PlainMusicVAE(nn.Module):
    """cat-mel_2bar_small written plainly: nn.LSTM BiLSTM encoder, z by reparameterization, a fused
    2-layer nn.LSTM decoder over [previous one-hot, z] with state tanh(dense(z)), logits by nn.Linear."""

    def __init__(self, depth: int = 90, encoder: int = 512, z_size: int = 256, decoder: int = 256, layers: int = 2) -> None:
        super().__init__()
        self.encoder = nn.LSTM(depth, encoder, batch_first=True, bidirectional=True)
        self.mu, self.sigma = nn.Linear(2 * encoder, z_size), nn.Linear(2 * encoder, z_size)
        self.initial = nn.Linear(z_size, 2 * layers * decoder)
        self.decoder = nn.LSTM(depth + z_size, decoder, num_layers=layers, batch_first=True)
        self.out = nn.Linear(decoder, depth)
        self.layers, self.hidden = layers, decoder

    def forward(self, x: Tensor, targets: Tensor, beta: float = 0.2) -> Tensor:
        """x: (B, T, depth) one-hot, targets: (B, T) -> the ELBO loss (reconstruction summed over steps)."""
        _, (h, _) = self.encoder(x)
        h = torch.cat([h[0], h[1]], dim=-1)
        mu, sigma = self.mu(h), F.softplus(self.sigma(h))
        z = mu + sigma * torch.randn_like(mu)
        h0, c0 = torch.tanh(self.initial(z)).view(-1, self.layers, 2, self.hidden).permute(2, 1, 0, 3).contiguous()
        previous = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
        out, _ = self.decoder(torch.cat([previous, z.unsqueeze(1).expand(-1, x.shape[1], -1)], dim=-1), (h0, c0))
        logits = self.out(out)
        reconstruction = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum") / x.shape[0]
        kl = (0.5 * (mu.square() + sigma.square() - 1.0) - sigma.log()).sum(-1).mean()
        return reconstruction + beta * kl


def part_speed(args: Args, budget: Budget) -> dict[str, Any]:
    """Training and forward steps/s at batch 64, interleaved; median over repeats."""
    torch.manual_seed(args.seed)
    targets = torch.randint(0, 90, (args.batch_size, 32), generator=torch.Generator().manual_seed(args.seed))
    onehot = F.one_hot(targets, 90).float()
    base = MusicRunConfig.from_preset(budget.speed_preset, data="-")
    sizes = base.model
    plain_sizes = {"encoder": sizes.encoder_sizes[0], "z_size": sizes.z_size, "decoder": sizes.decoder_sizes[0],
                   "layers": len(sizes.decoder_sizes)}  # fmt: skip
    teacher_forcing = dataclasses.replace(base.objective, sampling=SamplingSchedule())
    base = dataclasses.replace(base, objective=teacher_forcing)

    def ours(lstm_matmuls: str, autocast: bool = False) -> tuple[Any, Any]:
        """Our model with ``lstm_matmuls``; ``autocast`` as ``TrainConfig(autocast="bfloat16")`` wraps the step."""
        config = dataclasses.replace(base, model=dataclasses.replace(base.model, lstm_matmuls=lstm_matmuls))
        return _our_fns(build_model(config), make_step_fn(config), targets.unsqueeze(-1).short(), autocast)

    # Autocast contenders need the CPU's bf16 LSTM kernels (AVX512-BF16/AMX); elsewhere they are skipped
    # with the reason. ours_bfloat16 is our own scan over bf16 matmuls, which run on every CPU.
    no_bf16 = bf16_unsupported_reason("cpu")
    contenders: dict[str, tuple[Any, Any]] = {}
    for precision in ("float32", "bfloat16"):
        if precision == "float32" or no_bf16 is None:
            plain = PlainMusicVAE(**plain_sizes)
            optimizer = torch.optim.Adam(plain.parameters(), lr=1e-3)
            contenders[f"plain_{precision}"] = _plain_fns(plain, optimizer, onehot, targets, precision == "bfloat16")
        contenders[f"ours_{precision}"] = ours(precision)
    if no_bf16 is None:
        contenders["ours_autocast"] = ours("float32", autocast=True)
    skipped = {} if no_bf16 is None else {name: f"skipped: {no_bf16}" for name in ("plain_bfloat16", "ours_autocast")}
    timings: dict[str, list[float]] = {f"{name}/{kind}": [] for name in contenders for kind in ("train", "forward")}
    for train_fn, forward_fn in contenders.values():  # warm-up: thread pools, allocator, oneDNN primitives
        train_fn(), train_fn(), forward_fn()
    for _ in range(budget.speed_repeats):
        for name, (train_fn, forward_fn) in contenders.items():
            timings[f"{name}/train"].append(_rate(train_fn, budget.speed_seconds))
            timings[f"{name}/forward"].append(_rate(forward_fn, budget.speed_seconds))
    rates = {k: median(v) for k, v in timings.items()}
    plain_best = max((n for n in contenders if n.startswith("plain_")), key=lambda n: rates[f"{n}/train"])
    ours_best = max((n for n in contenders if n.startswith("ours_")), key=lambda n: rates[f"{n}/train"])
    return {"batch_size": args.batch_size, "preset": budget.speed_preset, "steps_per_s": rates, "samples": timings, "plain_best": plain_best,
            "ours_best": ours_best, "skipped": skipped,
            "ratio_train": rates[f"{ours_best}/train"] / rates[f"{plain_best}/train"],
            "ratio_train_float32": rates["ours_float32/train"] / rates["plain_float32/train"],
            "ratio_train_autocast": None if skipped else rates["ours_autocast/train"] / rates["plain_bfloat16/train"],
            "ratio_forward_float32": rates["ours_float32/forward"] / rates["plain_float32/forward"]}  # fmt: skip


def _step_fns(model: nn.Module, loss: Any, optimizer: torch.optim.Optimizer, autocast: bool):
    """(train, forward) closures timing one training step and one no-grad pass of ``loss()`` the same
    way for every contender: bf16 autocast if asked, then backward, clipping at 1.0 and ``optimizer``."""

    def train() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            value = loss()
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    @torch.no_grad()
    def forward() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss()

    return train, forward


def _plain_fns(model: PlainMusicVAE, optimizer: torch.optim.Optimizer, x: Tensor, targets: Tensor, autocast: bool):
    return _step_fns(model, lambda: model(x, targets), optimizer, autocast)


def _our_fns(model: nn.Module, step_fn: Any, batch: Tensor, autocast: bool = False):
    """One Trainer step without its bookkeeping: step_fn (under TrainConfig.autocast), backward, clip, fused Adam."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    return _step_fns(model, lambda: step_fn(model, batch, 0)[0], optimizer, autocast)


def _rate(fn: Any, min_seconds: float) -> float:
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds or calls == 0:
        fn()
        calls += 1
    return calls / elapsed


# -- report ----------------------------------------------------------------------------------
def headline(parts: dict[str, Any]) -> dict[str, Any]:
    """The results-file keys (None for a part or 16-bar model not run)."""
    mel, bar16, speed = parts.get("mel2bar"), parts.get("16bar"), parts.get("speed")
    models = bar16["models"] if bar16 else {}
    keys16 = {
        f"{name}_{metric}_{split}": models[name]["scores"][split][metric] if name in models else None
        for name in _music16.PRESETS for metric in _music16.HEADLINE for split in ("test", "train")
    }  # fmt: skip
    return {
        "mel2bar_tf_acc": mel and mel["tf_acc"], "mel2bar_sampled_acc_t1": mel and mel.get("sampled_acc_t1"),
        # A mel2bar part kept from before the paper's metric calls its argmax accuracy "sampled_acc".
        "mel2bar_sampled_acc_argmax": mel and mel.get("sampled_acc_argmax", mel.get("sampled_acc")),
        "mel2bar_steps": mel and mel["steps"], "mel2bar_train_seconds": mel and mel["train_seconds"],
        **keys16, "majority_test": bar16 and bar16["majority_test"],
        "steps_16bar": {name: m["steps"] for name, m in models.items()} or None,
        # True where training stopped short of the step target (a time limit); --state-dir-16bar resumes it
        "partial_16bar": {name: m.get("partial", False) for name, m in models.items()} or None,
        "seconds_16bar": {name: m["seconds"] for name, m in models.items()} or None,
        "train_speed_ratio_vs_plain": speed and speed["ratio_train"],
        "data": {name: p["data"] for name, p in parts.items() if "data" in p},
    }  # fmt: skip


def print_table(result: dict[str, Any]) -> None:
    if (r := result["parts"].get("mel2bar")) is not None:
        print(
            f"{'model':<34}{'steps':>7}{'train s':>9}{'tf acc':>8}{'t1 acc':>8}{'argmax':>8}{'KL bits':>9}{'active':>8}{'change':>8}{'monot':>7}"
        )
        print(f"{'mel2bar ' + r['preset']:<34}{r['steps']:>7}{r['train_seconds']:>9.0f}{r['tf_acc']:>8.3f}{r.get('sampled_acc_t1', float('nan')):>8.3f}"
              f"{r.get('sampled_acc_argmax', r.get('sampled_acc')):>8.3f}{r['kl_bits']:>9.1f}{r['active_units']:>5}/{r['z_size']:<2}"
              f"{r.get('interp_change_rate', float('nan')):>8.3f}{r.get('interp_monotonicity', float('nan')):>7.2f}")  # fmt: skip
    if (bar16 := result["parts"].get("16bar")) is not None:
        _music16.print_table(bar16["models"], bar16["majority_test"])
    if (speed := result["parts"].get("speed")) is not None:
        print(f"{'speed (batch ' + str(speed['batch_size']) + ')':<34}{'train/s':>9}{'forward/s':>11}")
        for name in sorted({key.split("/")[0] for key in speed["steps_per_s"]}):
            print(f"{name:<34}{speed['steps_per_s'][name + '/train']:>9.2f}{speed['steps_per_s'][name + '/forward']:>11.2f}")
        for name, reason in speed.get("skipped", {}).items():
            print(f"{name:<34}{reason}")
        autocast = speed["ratio_train_autocast"]
        print(
            f"train speed ratio {speed['ours_best']} / {speed['plain_best']}: {speed['ratio_train']:.2f}x "
            f"(like for like: float32 {speed['ratio_train_float32']:.2f}x, "
            f"bf16 autocast {'skipped' if autocast is None else f'{autocast:.2f}x'})"
        )


def merge_parts(previous: dict[str, Any], parts: dict[str, Any]) -> dict[str, Any]:
    """``previous``'s parts updated with this run's; each part keeps the command that made it.

    The 16bar part merges by model: a run of one 16-bar model keeps the other's earlier result
    (each model records its own command). Parts of other names (an earlier run kept under a new
    name) stay as they are."""
    kept = {name: part | {"command": part.get("command", previous["command"])} for name, part in previous["parts"].items()}
    merged = kept | parts
    if "16bar" in parts and "models" in kept.get("16bar", {}):
        earlier = {
            name: m | {"command": m.get("command", kept["16bar"]["command"])} for name, m in kept["16bar"]["models"].items()
        }
        merged["16bar"] = parts["16bar"] | {"models": earlier | parts["16bar"]["models"]}
    archived = {name: part for name, part in kept.items() if name not in PARTS}  # e.g. an earlier 16-bar setup, renamed
    return {name: merged[name] for name in PARTS if name in merged} | archived


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(Args, argv)
    parts_wanted = [p.strip() for p in args.parts.split(",") if p.strip()]
    if unknown := sorted(set(parts_wanted) - set(PARTS)):
        raise SystemExit(f"--parts: unknown {unknown}; choose from {','.join(PARTS)}")
    budget = resolve_budget(args)
    torch.set_num_threads(args.threads)
    runners = {"mel2bar": part_mel2bar, "16bar": part_16bar, "speed": part_speed}
    parts: dict[str, Any] = {}
    command = command_line(__file__, argv)
    for name in PARTS:
        if name in parts_wanted:
            start = time.perf_counter()
            parts[name] = runners[name](args, budget) | {"seconds": time.perf_counter() - start, "command": command,
                                                         "budget": dataclasses.asdict(budget)}  # fmt: skip
            for model in parts[name].get("models", {}).values():
                model["command"] = command
            print(f"{name}: done in {parts[name]['seconds']:.0f} s", file=sys.stderr, flush=True)
    if args.merge and (previous := read_result(args.json_out, args.json_key)):
        parts = merge_parts(previous, parts)
    result = {"benchmark": "music", "command": command, "quick": args.quick, "seed": args.seed,
              "threads": args.threads, "budget": dataclasses.asdict(budget), "torch": torch.__version__,
              **headline(parts), "parts": parts}  # fmt: skip
    result = json.loads(json.dumps(result, allow_nan=False))  # tuples -> lists: what the file will hold
    print_table(result)
    write_result(args.json_out, result, args.json_key)
    emit_json(result)
    return result


if __name__ == "__main__":
    main()
