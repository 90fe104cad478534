"""Benchmark: training speed and digits NLL of zspace's Trainer vs a plain PyTorch loop vs Pythae 0.1.2.

Same model (the PyTorch example's 784-400-20 MLP VAE, Bernoulli decoder), same data, same
batch size (128), same optimizer (Adam 1e-3) and epochs, trained by

- zspace: ``Trainer`` + ``model_from_preset("pytorch-example")`` with the preset's TrainConfig
  (checkpoint every epoch, metrics.jsonl, TensorBoard) in a temporary run directory;
- plain:  a loop written like github.com/pytorch/examples ``vae/main.py`` (DataLoader over a
  dataset, sigmoid decoder, ``binary_cross_entropy(reduction='sum') + KLD``, ``loss.item()``
  every step); the example's per-epoch test pass and PNG samples are left out;
- pythae: Pythae 0.1.2's ``VAE`` + ``BaseTrainer`` with its defaults (no eval set, so the best
  model on train is deep-copied at every improving epoch and saved at the end with the configs
  and the cloudpickled encoder/decoder), run in a subprocess of a Python that has pythae
  (``--pythae-python``, ``$ZSPACE_PYTHAE_PYTHON``, or this interpreter when it can import
  pythae) on the very same tensors, passed as a temporary ``.npz``. Null + reason otherwise.

Speed is examples/s of the whole fit, trainer construction included, on a seeded synthetic
MNIST-shaped binary tensor. The trainers run ``repeats`` times each, interleaved in a rotating
order; the best run counts (other processes only slow a run down), the median is recorded too.
``flops_fraction`` = examples/s x 6 x sum(in x out) of the Linear layers / float32 matmul GFLOP/s.
Quality: importance-sampled NLL (nats, k samples: -log (1/k) sum_i p(x, z_i) / q(z_i|x), Burda et
al. 2016) on held-out scikit-learn digits (28x28, binarized) after the same epochs for each
trainer, each computed by the library's own estimator (plain: the one below).

    python bench/vae.py [--quick] [--json-out PATH [--json-key KEY]] [--pythae-python PATH]

Prints a table, then one JSON object as the last line of stdout.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `_common` beside this file, also when imported by path
from _common import (
    WorkerError,
    command_line,
    digits_784,
    emit_json,
    linear_train_flops_per_example,
    matmul_gflops,
    median,
    parse_args,
    run_json_worker,
    seconds,
    synthetic_binary_images,
    to_flags,
)
from _results import write_result

TRAINERS = ("zspace", "plain", "pythae")
PYTHAE_VERSION = "0.1.2"
# A trainer: (x (N, 784), *, epochs, batch_size, lr, seed, work_dir) -> (seconds, examples trained on, model).
Run = Callable[..., tuple[float, int, nn.Module]]


@dataclass
class Args:
    """Training examples/s and digits NLL of zspace vs a plain PyTorch loop vs Pythae 0.1.2."""

    quick: bool = False  # tiny budget (< 1 minute): what the tests smoke-run
    json_out: str | None = None  # also write the JSON result to this file
    json_key: str | None = None  # the entry of --json-out this run replaces (vae.json: "throughput")
    pythae_python: str | None = None  # python of a venv with pythae==0.1.2; else $ZSPACE_PYTHAE_PYTHON, else this one
    skip_pythae: bool = False
    skip_zspace: bool = False
    seed: int = 0
    threads: int | None = None  # torch intra-op threads (None: torch's default)
    batch_size: int = 128  # the PyTorch example's
    lr: float = 1e-3  # the PyTorch example's Adam learning rate
    n_train: int | None = None  # synthetic examples, a multiple of the batch: 10240 (4096 with --quick)
    epochs: int | None = None  # epochs per timed run: 3 (1 with --quick)
    repeats: int | None = None  # timed runs per trainer: 5 (3 with --quick)
    digits_epochs: int | None = None  # training budget before the NLL: 50 (5 with --quick)
    nll_examples: int | None = None  # held-out digits scored: 300 (100 with --quick)
    nll_samples: int | None = None  # importance samples k: 1000 (100 with --quick)
    worker: str | None = None  # internal: "pythae" runs one Pythae task and prints its JSON
    worker_data: str | None = None  # internal: the .npz written by the parent
    worker_task: str | None = None  # internal: "speed" or "digits"


@dataclass(frozen=True)
class Budget:
    """Resolved sizes of one benchmark run."""

    n_train: int
    epochs: int
    repeats: int
    digits_epochs: int
    nll_examples: int
    nll_samples: int


FULL = Budget(n_train=10240, epochs=3, repeats=5, digits_epochs=50, nll_examples=300, nll_samples=1000)
QUICK = Budget(n_train=4096, epochs=1, repeats=3, digits_epochs=5, nll_examples=100, nll_samples=100)
BUDGET_FLAGS = ("quick", "seed", "threads", "batch_size", "lr", *(f.name for f in dataclasses.fields(Budget)))


def resolve_budget(args: Args) -> Budget:
    """The quick or full budget with the sizes given on the command line replaced."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(Budget) if getattr(args, f.name) is not None}
    return dataclasses.replace(QUICK if args.quick else FULL, **given)


# -- plain PyTorch, as pytorch/examples vae/main.py -------------------------------------------
class PlainVAE(nn.Module):
    """The example's VAE: 784-400-(20, 20) encoder, 20-400-784 sigmoid decoder."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: Tensor, logvar: Tensor) -> Tensor:
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z: Tensor) -> Tensor:
        """Pixel probabilities, (..., 784)."""
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def plain_loss(recon_x: Tensor, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """The example's loss, nats summed over the batch: BCE + KL(q(z|x) || N(0, I))."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def run_plain(x: Tensor, *, epochs: int, batch_size: int, lr: float, seed: int, work_dir: Path) -> tuple[float, int, nn.Module]:
    """Train PlainVAE like the example; returns (seconds, examples processed, model)."""
    torch.manual_seed(seed)
    model = PlainVAE()

    def fit() -> int:
        loader = DataLoader(TensorDataset(x, torch.zeros(len(x))), batch_size=batch_size, shuffle=True)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        seen = 0
        for _ in range(epochs):
            train_loss = 0.0
            for data, _ in loader:
                optimizer.zero_grad()
                recon_batch, mu, logvar = model(data)
                loss = plain_loss(recon_batch, data, mu, logvar)
                loss.backward()
                train_loss += loss.item()
                optimizer.step()
                seen += len(data)
        return seen

    elapsed, seen = seconds(fit)
    return elapsed, seen, model


@torch.no_grad()
def plain_nll(model: PlainVAE, x: Tensor, *, k: int, batch: int = 50, chunk: int = 100) -> float:
    """Importance-sampled NLL, nats per example; x: (N, 784) binary, z ~ q(z|x) drawn ``chunk`` at a time.

    -log p(x|z) is the example's BCE (log clamped at -100, as torch's binary_cross_entropy).
    """
    model.eval()
    total = 0.0
    for xb in x.split(batch):
        mu, logvar = model.encode(xb)  # (B, 20) each
        q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
        log_w = []
        for c in [chunk] * (k // chunk) + [k % chunk] * (k % chunk > 0):
            z = q.sample((c,))  # (c, B, 20)
            log_px = -F.binary_cross_entropy(model.decode(z), xb.expand(c, -1, -1), reduction="none").sum(-1)  # (c, B)
            log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
            log_w.append(log_px + log_pz - q.log_prob(z).sum(-1))
        total -= (torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)).sum().item()  # (k, B) -> (B,)
    return total / len(x)


# -- zspace -----------------------------------------------------------------------------------
def run_zspace(x: Tensor, *, epochs: int, batch_size: int, lr: float, seed: int, work_dir: Path) -> tuple[float, int, nn.Module]:
    """Train zspace's ``pytorch-example`` preset with its TrainConfig; returns (seconds, examples, model).

    Only epochs, batch size, lr and seed are changed. x: (N, 784) is viewed as (N, 1, 28, 28),
    the preset's input shape; it is binary already, so no dynamic binarization. The Trainer
    drops a last partial batch, so examples = steps * batch_size.
    """
    from zspace.core.schedules import Schedule
    from zspace.train import Trainer
    from zspace.vae import PRESETS, make_loss_fn
    from zspace.vae.presets import model_from_preset

    preset = PRESETS["pytorch-example"]
    torch.manual_seed(seed)
    model = model_from_preset("pytorch-example")
    config = dataclasses.replace(
        preset.train, epochs=epochs, batch_size=batch_size, lr=Schedule(kind="constant", value=lr), seed=seed
    )
    loss_fn = make_loss_fn(preset.objective, dynamic_binarization=False)

    def fit() -> int:
        trainer = Trainer(model, loss_fn, config, run_dir=work_dir / "zspace-run")
        return trainer.fit(x.view(-1, 1, 28, 28)).step * batch_size

    elapsed, seen = seconds(fit)
    return elapsed, seen, model


def zspace_nll(model: nn.Module, x: Tensor, *, k: int) -> float:
    """zspace's own importance-sampled NLL (``zspace.vae.evaluate``), nats per example; x: (N, 784)."""
    from zspace.vae.evaluate import evaluate

    return float(evaluate(model, x.view(-1, 1, 28, 28), k=k, iwae_ks=(), chunk_size=min(k, 500))["nll"])


# -- Pythae 0.1.2 (imported only in the worker process) ---------------------------------------
def make_pythae_vae() -> nn.Module:
    """Pythae's VAE with the example's 784-400-20 MLP as custom encoder/decoder and the BCE likelihood."""
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Encoder(BaseEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.mu, self.log_var = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)

        def forward(self, x: Tensor) -> ModelOutput:
            h = F.relu(self.fc1(x.reshape(-1, 784)))
            return ModelOutput(embedding=self.mu(h), log_covariance=self.log_var(h))

    class Decoder(BaseDecoder):
        def __init__(self) -> None:
            super().__init__()
            self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

        def forward(self, z: Tensor) -> ModelOutput:
            return ModelOutput(reconstruction=torch.sigmoid(self.fc4(F.relu(self.fc3(z)))))

    config = VAEConfig(input_dim=(784,), latent_dim=20, reconstruction_loss="bce")
    return VAE(config, encoder=Encoder(), decoder=Decoder())


def run_pythae(x: Tensor, *, epochs: int, batch_size: int, lr: float, seed: int, work_dir: Path) -> tuple[float, int, nn.Module]:
    """Train Pythae's VAE with BaseTrainer's defaults; returns (seconds, examples, model)."""
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    torch.manual_seed(seed)
    model = make_pythae_vae()
    config = BaseTrainerConfig(
        output_dir=str(work_dir / "pythae-run"),
        per_device_train_batch_size=batch_size,
        num_epochs=epochs,
        learning_rate=lr,
        seed=seed,
    )

    def fit() -> int:
        trainer = BaseTrainer(model, train_dataset=BaseDataset(x, torch.zeros(len(x))), training_config=config)
        trainer.train()
        return epochs * len(x)

    elapsed, seen = seconds(fit)
    return elapsed, seen, model


@torch.no_grad()
def pythae_nll(model: nn.Module, x: Tensor, *, k: int) -> float:
    """Pythae's own ``VAE.get_nll``, negated (it returns the mean log-likelihood), nats per example.

    get_nll draws ``n_samples // batch_size`` chunks of ``batch_size`` samples, and one chunk of
    ``batch_size`` whenever n_samples <= batch_size: the chunk must divide k to use k samples.
    """
    chunk = max(c for c in range(1, min(k, 500) + 1) if k % c == 0)
    model.eval()
    return -float(model.get_nll(x, n_samples=k, batch_size=chunk))


def pythae_worker(args: Args) -> None:
    """Run one Pythae task on the parent's tensors; print the result as one JSON line."""
    from importlib.metadata import version

    if args.threads:
        torch.set_num_threads(args.threads)
    budget = resolve_budget(args)
    data = np.load(args.worker_data)
    out: dict[str, Any] = {"pythae_version": version("pythae"), "torch": torch.__version__, "threads": torch.get_num_threads()}
    common = {"batch_size": args.batch_size, "lr": args.lr, "seed": args.seed}
    with tempfile.TemporaryDirectory(prefix="zspace-bench-pythae-") as tmp:
        if args.worker_task == "speed":
            out["seconds"], out["examples"], model = run_pythae(
                torch.from_numpy(data["train_x"]), epochs=budget.epochs, work_dir=Path(tmp), **common
            )
            out["train_flops_per_example"] = linear_train_flops_per_example(model)
        else:
            _, _, model = run_pythae(
                torch.from_numpy(data["digits_train"]), epochs=budget.digits_epochs, work_dir=Path(tmp), **common
            )
            torch.manual_seed(args.seed)
            out["nll"] = pythae_nll(model, torch.from_numpy(data["digits_test"]), k=budget.nll_samples)
    print(json.dumps(out), flush=True)


def pythae_python(args: Args) -> str:
    """The interpreter for the Pythae worker: --pythae-python, $ZSPACE_PYTHAE_PYTHON, or this one if it has pythae."""
    chosen = args.pythae_python or os.environ.get("ZSPACE_PYTHAE_PYTHON")
    if chosen and not Path(chosen).exists():
        raise WorkerError(f"--pythae-python / $ZSPACE_PYTHAE_PYTHON {chosen} does not exist")
    if not chosen and importlib.util.find_spec("pythae") is None:
        raise WorkerError(
            f"pythae is not installed in {sys.executable}: pip install 'zspace[bench]' (pythae=={PYTHAE_VERSION}), "
            "or pass --pythae-python / set ZSPACE_PYTHAE_PYTHON to the python of a venv that has it"
        )
    return chosen or sys.executable


def call_pythae(python: str, args: Args, data_path: Path, task: str, *, timeout_s: float = 900) -> dict[str, Any]:
    """Run this script as the Pythae worker under ``python`` and check it ran our pins."""
    script = str(Path(__file__).resolve())
    worker = ["--worker", "pythae", "--worker-data", str(data_path), "--worker-task", task]
    result = run_json_worker([python, script, *worker, *to_flags(args, BUDGET_FLAGS)], timeout_s=timeout_s)
    if result.get("pythae_version") != PYTHAE_VERSION:
        raise WorkerError(f"{python} has pythae {result.get('pythae_version')}; this benchmark pins {PYTHAE_VERSION}")
    if result.get("torch") != torch.__version__:
        raise WorkerError(f"{python} runs torch {result.get('torch')}, not ours ({torch.__version__}): not comparable")
    return result


# -- the benchmark ----------------------------------------------------------------------------
def measure_speed(args: Args, budget: Budget, x: Tensor, data_path: Path, errors: dict[str, str]) -> dict[str, list[float]]:
    """Examples/s of each trainer in ``repeats`` interleaved runs (rotating order); failures go to ``errors``."""
    runs: dict[str, Run] = {"zspace": run_zspace, "plain": run_plain}
    rates: dict[str, list[float]] = {name: [] for name in TRAINERS}
    for r in range(budget.repeats):
        for name in TRAINERS[r % 3 :] + TRAINERS[: r % 3]:
            if name in errors:
                continue
            try:
                if name == "pythae":
                    result = call_pythae(pythae_python(args), args, data_path, "speed")
                    elapsed, seen = result["seconds"], result["examples"]
                else:
                    with tempfile.TemporaryDirectory(prefix=f"zspace-bench-{name}-") as tmp:
                        elapsed, seen, _ = runs[name](
                            x, epochs=budget.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, work_dir=Path(tmp)
                        )
            except Exception as err:  # noqa: BLE001 - one broken trainer must not sink the others' numbers
                errors[name] = f"{type(err).__name__}: {err}" if not isinstance(err, WorkerError) else str(err)
                continue
            rates[name].append(seen / elapsed)
    return rates


def measure_nll(
    args: Args, budget: Budget, train: Tensor, test: Tensor, data_path: Path, errors: dict[str, str]
) -> dict[str, float | None]:
    """Digits test NLL (nats per example) of each trainer after ``digits_epochs`` epochs on the train split."""
    nll: dict[str, float | None] = {name: None for name in TRAINERS}
    for name, run, score in (("plain", run_plain, plain_nll), ("zspace", run_zspace, zspace_nll)):
        if name in errors:
            continue
        try:
            with tempfile.TemporaryDirectory(prefix=f"zspace-bench-{name}-") as tmp:
                _, _, model = run(
                    train, epochs=budget.digits_epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, work_dir=Path(tmp)
                )
            torch.manual_seed(args.seed)
            nll[name] = score(model, test, k=budget.nll_samples)
        except Exception as err:  # noqa: BLE001 - as in measure_speed
            errors[name] = f"{type(err).__name__}: {err}"
    if "pythae" not in errors:
        try:
            nll["pythae"] = call_pythae(pythae_python(args), args, data_path, "digits")["nll"]
        except WorkerError as err:
            errors["pythae"] = str(err)
    return {name: (v if v is not None and math.isfinite(v) else None) for name, v in nll.items()}


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing."""
    return None if a is None or not b else a / b


def summarize(
    argv: list[str] | None, args: Args, budget: Budget, rates: dict[str, list[float]], nll: dict[str, float | None],
    gflops: float, load: tuple[float, float], errors: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    """The JSON result: best ex/s, ratios, FLOP fractions, NLLs, errors and provenance."""
    flops = linear_train_flops_per_example(PlainVAE())  # the same for all three (checked in the tests)
    speed = {name: (max(v) if v else None) for name, v in rates.items()}
    attained = {name: (None if s is None else s * flops / 1e9) for name, s in speed.items()}
    return {
        "benchmark": "vae",
        "command": command_line(__file__, argv),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": {"start": load[0], "end": load[1]},  # other processes slow every trainer
        "quick": args.quick,
        "budget": dataclasses.asdict(budget) | {"batch_size": args.batch_size, "lr": args.lr, "seed": args.seed},
        "examples_per_s": speed,
        "examples_per_s_median": {name: (median(v) if v else None) for name, v in rates.items()},
        "examples_per_s_repeats": rates,
        "ratio_vs_plain": ratio(speed["zspace"], speed["plain"]),
        "ratio_vs_pythae": ratio(speed["zspace"], speed["pythae"]),
        "gflops_matmul": gflops,
        "train_flops_per_example": flops,
        "flops_formula": "6 * sum(in_features * out_features) of the Linear layers: 2 FLOPs per weight forward, 4 backward",
        "gflops_attained": attained,
        "flops_fraction": {name: (None if g is None else g / gflops) for name, g in attained.items()},
        "nll_digits": nll,
        "nll_digits_unit": "nats per example, importance-sampled with k = budget.nll_samples",
        "pythae_version": PYTHAE_VERSION if "pythae" not in errors else None,
        **{f"{name}_error": errors.get(name) for name in TRAINERS},
    }


def print_table(result: dict[str, Any]) -> None:
    """The readable view of ``result``: a rich table and the ratios, on stdout."""
    from rich.console import Console
    from rich.table import Table

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    b, speed = result["budget"], result["examples_per_s"]
    table = Table(
        title=f"VAE 784-400-20, batch {b['batch_size']}: best of {b['repeats']} runs of {b['epochs']} epoch(s) x {b['n_train']}"
    )
    for column in ("trainer", "examples/s", "GFLOP/s", "of matmul", "zspace / this", f"digits NLL, k={b['nll_samples']}"):
        table.add_column(column, justify="left" if column == "trainer" else "right")
    for name in TRAINERS:
        table.add_row(
            name, fmt(speed[name], ",.0f"), fmt(result["gflops_attained"][name], ".1f"), fmt(result["flops_fraction"][name], ".1%"),
            fmt(ratio(speed["zspace"], speed[name]), ".2f"), fmt(result["nll_digits"][name], ".2f"),
        )  # fmt: skip
    console = Console()
    console.print(table)
    console.print(
        f"zspace / plain = {fmt(result['ratio_vs_plain'], '.2f')}, zspace / pythae = {fmt(result['ratio_vs_pythae'], '.2f')}"
    )
    load = result["load_average_1min"]
    console.print(
        f"matmul {result['gflops_matmul']:.1f} GFLOP/s (float32, 1024^3); {result['train_flops_per_example'] / 1e6:.2f} MFLOP per "
        f"example = {result['flops_formula']}; torch {result['torch']}, {result['threads']} threads, {result['cpu_count']} CPUs, "
        f"load average {load['start']:.1f} -> {load['end']:.1f}"
    )
    for name in TRAINERS:
        if result[f"{name}_error"]:
            console.print(f"{name}: {result[f'{name}_error']}", style="yellow", markup=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print the table, then the JSON line; return the result."""
    args = parse_args(Args, argv)
    if args.worker is not None:
        if args.worker != "pythae" or args.worker_task not in ("speed", "digits") or not args.worker_data:
            raise SystemExit("internal worker mode: --worker pythae --worker-task speed|digits --worker-data PATH")
        pythae_worker(args)
        return {}
    if args.threads:
        torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0]
    budget = resolve_budget(args)
    errors = {name: f"skipped (--skip-{name})" for name in ("pythae", "zspace") if getattr(args, f"skip_{name}")}
    if "pythae" not in errors:
        try:
            pythae_python(args)
        except WorkerError as err:
            errors["pythae"] = str(err)
    x = synthetic_binary_images(budget.n_train, seed=args.seed)  # (n_train, 784)
    digits_train, digits_test = digits_784(test_size=budget.nll_examples, seed=args.seed)
    digits_train = digits_train[
        : len(digits_train) // args.batch_size * args.batch_size
    ]  # whole batches: zspace drops a partial one
    with tempfile.TemporaryDirectory(prefix="zspace-bench-vae-") as tmp:
        data_path = Path(tmp) / "data.npz"  # the Pythae worker reads exactly these tensors
        np.savez(data_path, train_x=x.numpy(), digits_train=digits_train.numpy(), digits_test=digits_test.numpy())
        gflops = matmul_gflops()
        rates = measure_speed(args, budget, x, data_path, errors)
        gflops = max(gflops, matmul_gflops())  # before and after the trainers: the best the machine gave
        nll = measure_nll(args, budget, digits_train, digits_test, data_path, errors)
    result = summarize(argv, args, budget, rates, nll, gflops, (load_start, os.getloadavg()[0]), errors)
    print_table(result)
    write_result(args.json_out, result, args.json_key)
    emit_json(result)
    return result


if __name__ == "__main__":
    main()
