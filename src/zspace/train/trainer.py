"""One trainer for every family: it owns every side effect of training (STYLE rule 6).

A family supplies a model and a step function ``loss_fn(model, batch, step) -> (loss,
metrics)``; the trainer does the rest: device, seeding and CPU determinism, batching of
in-memory tensors, optimizer and learning-rate schedule, gradient clipping, NaN/inf detection,
logging, atomic checkpoints with exact resume, and data-parallel training under ``torchrun``.

Exact resume: data order is a pure function of (seed, epoch) and the learning rate of the
step, and the checkpoint holds the optimizer state and every rank's RNG state, so a run that
is killed and resumed from its last checkpoint computes the same weights as one that was not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from zspace.core.schedules import Schedule
from zspace.errors import CheckpointError, ConfigError, DataError, TrainingDivergedError
from zspace.train import checkpoint as ckpt
from zspace.train import distributed
from zspace.train.logging import MetricsLogger, truncate_metrics
from zspace.train.precision import resolve_autocast

log = logging.getLogger("zspace.train")

Batch = Tensor | tuple[Tensor, ...]
LossFn = Callable[[nn.Module, Any, int], tuple[Tensor, dict[str, Tensor]]]


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How to train; the defaults are the AEVB/PyTorch-example recipe (Adam 1e-3, batch 100)."""

    optimizer: Literal["adam", "adagrad", "sgd"] = "adam"
    lr: Schedule = field(default_factory=lambda: Schedule(kind="constant", value=1e-3))
    weight_decay: float = 0.0
    momentum: float = 0.9  # sgd only
    grad_clip_norm: float | None = None  # clip the global gradient norm (Magenta: 1.0)
    batch_size: int = 100  # global batch: split evenly across data-parallel ranks
    epochs: int = 10
    max_steps: int | None = None  # stop earlier than ``epochs`` when set
    seed: int = 0
    checkpoint_every: int | None = None  # steps between checkpoints; None = every epoch
    keep_last: int = 3  # checkpoints kept besides the best
    log_every: int = 50  # steps between metric records
    tensorboard: bool = True
    deterministic: bool = True  # torch.use_deterministic_algorithms during fit
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None  # torch intra-op threads; None leaves torch's default
    fused_optimizer: bool = True  # torch's fused optimizer kernels (CPU and CUDA) where available
    # Mixed precision of the training step (torch.autocast): "bfloat16" runs matmuls and LSTMs in bf16
    # while weights, optimizer state and the reductions torch keeps in float32 stay float32. About 1.6x
    # the steps/s of MusicVAE on an AVX512-BF16 CPU (bench/musicvae.py); evaluation stays float32. A device
    # without bf16 kernels (an AVX2-only CPU has no bf16 LSTM) trains in float32 with one warning.
    autocast: Literal["none", "bfloat16"] = "none"
    best_metric: str = "loss"  # validation metric that picks the best checkpoint
    best_mode: Literal["min", "max"] = "min"  # whether lower or higher ``best_metric`` is better

    def __post_init__(self) -> None:
        for name in ("batch_size", "epochs", "log_every", "keep_last"):
            if getattr(self, name) < 1:
                raise ConfigError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"TrainConfig.max_steps must be >= 1, got {self.max_steps}")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ConfigError(f"TrainConfig.checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if self.grad_clip_norm is not None and self.grad_clip_norm <= 0:
            raise ConfigError(f"TrainConfig.grad_clip_norm must be > 0, got {self.grad_clip_norm}")
        if self.best_mode not in ("min", "max"):
            raise ConfigError(f"TrainConfig.best_mode must be 'min' or 'max', got {self.best_mode!r}")
        if self.lr.value <= 0 or self.lr.min_value < 0:
            raise ConfigError(f"TrainConfig.lr must be > 0 (--lr), got {self.lr.value} (min_value {self.lr.min_value})")
        if self.weight_decay < 0:
            raise ConfigError(f"TrainConfig.weight_decay must be >= 0, got {self.weight_decay}")
        kind, _, index = self.device.partition(":")
        if kind not in DEVICE_KINDS or (index and not (kind == "cuda" and index.isdigit())):
            raise ConfigError(f"TrainConfig.device (--device) must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.autocast not in ("none", "bfloat16"):
            raise ConfigError(f"TrainConfig.autocast must be 'none' or 'bfloat16', got {self.autocast!r}")

    def total_steps(self, n_examples: int) -> int:
        """Optimizer steps a full fit on ``n_examples`` takes (the last partial batch is dropped)."""
        schedule_steps = self.epochs * (n_examples // self.batch_size)
        return schedule_steps if self.max_steps is None else min(self.max_steps, schedule_steps)


@dataclass
class FitResult:
    """What a call to :meth:`Trainer.fit` reached."""

    step: int
    total_steps: int
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    best_metric: float | None
    train_metrics: dict[str, float]
    valid_metrics: dict[str, float]
    examples_per_s: float
    autocast: str = "none"  # the mode the steps ran in: TrainConfig.autocast, or "none" where the device lacks it


DEVICE_KINDS = ("auto", "cpu", "cuda")


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: this torch has no usable CUDA device; use --device cpu (or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return device


def _num_examples(data: Batch) -> int:
    tensors = data if isinstance(data, tuple) else (data,)
    sizes = {t.shape[0] for t in tensors}
    if len(sizes) != 1:
        raise DataError(f"training tensors disagree on the number of examples: {sorted(sizes)}")
    return sizes.pop()


def _take(data: Batch, index: Tensor, device: torch.device) -> Batch:
    if isinstance(data, tuple):
        return tuple(t.index_select(0, index).to(device, non_blocking=True) for t in data)
    return data.index_select(0, index).to(device, non_blocking=True)


def epoch_permutation(seed: int, epoch: int, n: int) -> Tensor:
    """The data order of ``epoch``: identical on every rank and on every resume."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


class Trainer:
    """Train ``model`` by minimizing ``loss_fn``; checkpoints and logs go to ``run_dir``.

    ``run_config`` is the resolved config of the whole run (family, model, data, train) as a
    JSON-ready dict; it is saved beside every checkpoint so the model can be rebuilt from it.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        config: TrainConfig,
        *,
        run_dir: str | Path | None = None,
        run_config: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.run_config = run_config or {}
        self.device = _resolve_device(config.device)
        self.optimizer = self._make_optimizer()
        self._checkpointer = ckpt.BackgroundCheckpointer()

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        kwargs: dict[str, Any] = {"lr": c.lr(0, 1), "weight_decay": c.weight_decay}
        cls: type[torch.optim.Optimizer] = {"adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad, "sgd": torch.optim.SGD}[
            c.optimizer
        ]
        if c.optimizer == "sgd":
            kwargs["momentum"] = c.momentum
        if c.fused_optimizer:
            # One fused kernel per step instead of ~10 elementwise passes per parameter: on the
            # 784-400-20 VAE this cuts a CPU training step from ~6.8 to ~4.2 ms.
            try:
                return cls(self.model.parameters(), fused=True, **kwargs)
            except (RuntimeError, TypeError, ValueError) as err:  # e.g. dtypes/devices without a fused kernel
                log.debug("fused %s unavailable (%s); using the reference implementation", c.optimizer, err)
        return cls(self.model.parameters(), **kwargs)

    # ------------------------------------------------------------------------------------------
    def fit(self, train_data: Batch, valid_data: Batch | None = None, *, resume: bool = False) -> FitResult:
        """Train to ``epochs`` (or ``max_steps``); with ``resume`` continue from the last checkpoint."""
        c = self.config
        info = distributed.setup(self.device)
        if info.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", info.local_rank)
        n = _num_examples(train_data)
        if c.batch_size % info.world_size:
            raise ConfigError(
                f"TrainConfig.batch_size {c.batch_size} must be divisible by the {info.world_size} data-parallel processes"
            )
        steps_per_epoch = n // c.batch_size
        if steps_per_epoch == 0:
            raise DataError(
                f"the training set has {n} examples, fewer than one batch (batch_size={c.batch_size}); lower --batch-size"
            )
        schedule_steps = c.epochs * steps_per_epoch  # the lr horizon: stopping early (max_steps) must not change it
        total_steps = c.total_steps(n)
        checkpoint_every = c.checkpoint_every or steps_per_epoch

        autocast = resolve_autocast(c.autocast, self.device)
        previous_deterministic = torch.are_deterministic_algorithms_enabled()
        if c.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        if c.threads:
            torch.set_num_threads(c.threads)
        torch.manual_seed(c.seed + info.rank)  # model noise differs by rank; data order does not
        self.model.to(self.device)
        step, best_metric = 0, None
        if resume:
            step, best_metric = self._restore(info)
        elif self.run_dir is not None and ckpt.latest_checkpoint(self.run_dir) is not None:
            raise CheckpointError(
                f"{self.run_dir} already holds checkpoints; resume them with --resume (resume=True) or choose a new --out directory"
            )
        if self.run_dir is not None and info.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            ckpt.write_json_atomic(self.run_dir / ckpt.CONFIG, self.run_config)
            if not resume:  # records of an earlier attempt that never reached a checkpoint
                truncate_metrics(self.run_dir, after_step=0)
        wrapped: nn.Module = self.model
        if info.enabled:
            wrapped = DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

        logger = MetricsLogger(
            self.run_dir if info.is_main else None,
            total_steps=total_steps,
            tensorboard=c.tensorboard and info.is_main,
            progress=None if info.is_main else False,
        )
        sums: dict[str, Tensor] = {}
        interval_steps, interval_examples, t_interval = 0, 0, time.perf_counter()
        t_start, start_step = time.perf_counter(), step
        train_metrics: dict[str, float] = {}
        valid_metrics: dict[str, float] = {}
        last_checkpoint = ckpt.latest_checkpoint(self.run_dir) if self.run_dir else None
        perm, perm_epoch = None, -1
        try:
            self.model.train()
            while step < total_steps:
                epoch, index_in_epoch = divmod(step, steps_per_epoch)
                if epoch != perm_epoch:
                    perm, perm_epoch = epoch_permutation(c.seed, epoch, n), epoch
                global_index = perm[index_in_epoch * c.batch_size : (index_in_epoch + 1) * c.batch_size]
                batch = _take(train_data, global_index[info.rank :: info.world_size], self.device)

                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast == "bfloat16"):
                    loss, metrics = self.loss_fn(wrapped, batch, step)
                self._check_finite(loss, step, epoch, info)
                lr = c.lr(step, schedule_steps)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if c.grad_clip_norm is not None:
                    metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip_norm)
                self.optimizer.step()
                step += 1

                metrics["loss"] = loss
                for name, value in metrics.items():
                    value = value.detach()
                    sums[name] = sums[name] + value if name in sums else value
                interval_steps += 1
                interval_examples += global_index.numel()
                if step % c.log_every == 0 or step == total_steps:
                    elapsed = time.perf_counter() - t_interval
                    names = sorted(sums)  # the same on every rank: one loss_fn
                    totals = distributed.all_reduce_sum(torch.stack([sums[k].float() for k in names]).cpu(), info)
                    train_metrics = {k: float(v) / (interval_steps * info.world_size) for k, v in zip(names, totals)}
                    train_metrics.update(lr=lr, examples_per_s=interval_examples / max(elapsed, 1e-9))
                    logger.write("train", step, epoch, train_metrics)
                    sums, interval_steps, interval_examples, t_interval = {}, 0, 0, time.perf_counter()
                else:
                    logger.advance_to(step)
                if step % checkpoint_every == 0 or step == total_steps:
                    metric = None
                    if valid_data is not None:
                        valid_metrics = self.evaluate(valid_data, step=step)
                        logger.write("valid", step, epoch, valid_metrics)
                        metric = self._selection_metric(valid_metrics)
                    is_best = metric is not None and (best_metric is None or metric < best_metric)
                    if is_best:
                        best_metric = metric
                    last_checkpoint = self._save(
                        step, info, metric, is_best or (valid_data is None and step == total_steps), best_metric
                    )
        finally:
            logger.close()
            torch.use_deterministic_algorithms(previous_deterministic)
            wrapped = None  # DDP's reducer must not outlive the process group (see teardown)
            distributed.teardown(info)
            self._checkpointer.wait()  # the last checkpoint is on disk before fit returns
        elapsed = time.perf_counter() - t_start
        return FitResult(
            step=step,
            total_steps=total_steps,
            last_checkpoint=last_checkpoint,
            best_checkpoint=ckpt.best_checkpoint(self.run_dir) if self.run_dir else None,
            best_metric=best_metric,
            train_metrics=train_metrics,
            valid_metrics=valid_metrics,
            examples_per_s=(step - start_step) * c.batch_size / max(elapsed, 1e-9),
            autocast=autocast,
        )

    # ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, data: Batch, *, step: int = 0) -> dict[str, float]:
        """Mean of ``loss_fn``'s loss and metrics over ``data`` at training ``step`` (eval mode).

        Runs under a forked RNG with a fixed seed, so evaluation noise is the same at every
        checkpoint and does not disturb the training RNG stream (exact resume depends on it).
        Every data-parallel rank evaluates the whole set identically, so all ranks agree on
        the best checkpoint without a collective (validation sets are small next to training).
        """
        n = _num_examples(data)
        was_training = self.model.training
        self.model.eval()
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.config.seed + 7919)
            sums: dict[str, Tensor] = {}
            for start in range(0, n, self.config.batch_size):
                index = torch.arange(start, min(start + self.config.batch_size, n))
                loss, metrics = self.loss_fn(self.model, _take(data, index, self.device), step)
                for name, value in {**metrics, "loss": loss}.items():
                    sums[name] = sums.get(name, 0.0) + value.detach().double() * index.numel()
        self.model.train(was_training)
        return {name: float(total) / n for name, total in sums.items()}

    def _selection_metric(self, metrics: dict[str, float]) -> float:
        """The validation number to minimize when choosing the best checkpoint."""
        name = self.config.best_metric
        if name not in metrics:
            raise ConfigError(f"TrainConfig.best_metric {name!r} is not among the validation metrics {sorted(metrics)}")
        return metrics[name] if self.config.best_mode == "min" else -metrics[name]

    def _check_finite(self, loss: Tensor, step: int, epoch: int, info: distributed.DistInfo) -> None:
        finite = torch.isfinite(loss.detach()).to(torch.float32).reshape(1).cpu()
        if info.enabled:  # every rank must agree to stop, or the others hang in backward
            distributed.all_reduce_sum(finite, info)
            ok = int(finite.item()) == info.world_size
        else:
            ok = bool(finite.item())
        if not ok:
            raise self._diverged(f"loss is {loss.item()} at step {step} (epoch {epoch})")

    def _diverged(self, what: str) -> TrainingDivergedError:
        """The error for a diverged run, naming the checkpoint to resume from."""
        self._checkpointer.wait()
        last = ckpt.latest_checkpoint(self.run_dir) if self.run_dir else None
        where = (
            f"the last good checkpoint is {last}; resume from it with --resume" if last else "no checkpoint was saved before it"
        )
        return TrainingDivergedError(f"{what}; {where}. Try a lower learning rate or gradient clipping (--grad-clip-norm).")

    def _save(
        self, step: int, info: distributed.DistInfo, metric: float | None, is_best: bool, best_metric: float | None
    ) -> Path | None:
        # A finite loss can still come with an infinite gradient that poisons the weights; a
        # checkpoint of them would pass for "the last good one", so stop instead.
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            raise self._diverged(f"weights became NaN/inf by step {step} (a non-finite gradient)")
        rng = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device).cpu()
        rng_states = distributed.all_gather_objects(rng, info)
        if not info.is_main or self.run_dir is None:
            return None
        state = {
            "step": step,
            "world_size": info.world_size,
            "rng_states": rng_states,
            "optimizer": self.optimizer.state_dict(),
            "best_metric": best_metric,
        }
        return self._checkpointer.save(
            self.run_dir,
            step,
            self.model,
            self.run_config,
            state,
            keep_last=self.config.keep_last,
            metric=metric,
            is_best=is_best,
        )

    def _load_newest_intact(self) -> tuple[dict[str, Any], Path]:
        """Weights (into the model) and trainer state of the newest checkpoint that reads back whole.

        A damaged newer checkpoint (a disk error, a truncated copy) is skipped with a warning
        naming its file, so one bad write never costs more than the steps since the one before.
        """
        assert self.run_dir is not None
        checkpoints = ckpt.list_checkpoints(self.run_dir)
        if not checkpoints:
            raise CheckpointError(f"nothing to resume: {self.run_dir / ckpt.CHECKPOINTS} holds no complete checkpoint")
        damaged: list[str] = []
        for checkpoint in reversed(checkpoints):
            try:
                state = ckpt.load_trainer_state(checkpoint)
                ckpt.load_weights(self.model, checkpoint)
            except CheckpointError as err:
                log.warning("skipping a damaged checkpoint: %s", err)
                damaged.append(str(err))
                continue
            if damaged:
                log.warning("resuming from %s, the newest intact checkpoint", checkpoint.name)
            self.model.to(self.device)
            self.optimizer.load_state_dict(state["optimizer"])
            return state, checkpoint
        raise CheckpointError(f"no checkpoint in {self.run_dir / ckpt.CHECKPOINTS} can be read: {'; '.join(damaged)}")

    def _restore(self, info: distributed.DistInfo) -> tuple[int, float | None]:
        if self.run_dir is None:
            raise CheckpointError("resume needs a run directory")
        state, last = self._load_newest_intact()
        step = int(state["step"])
        rng_states = state["rng_states"]
        if len(rng_states) == info.world_size:
            torch.set_rng_state(rng_states[info.rank]["cpu"])
            if "cuda" in rng_states[info.rank] and self.device.type == "cuda":
                torch.cuda.set_rng_state(rng_states[info.rank]["cuda"], self.device)
        else:
            log.warning(
                "checkpoint was written by %d processes, now %d: model noise is reseeded, so the run is not bit-identical",
                len(rng_states),
                info.world_size,
            )
            torch.manual_seed(self.config.seed + info.rank + 104_729 * step)
        if self.run_dir is not None and info.is_main:
            truncate_metrics(self.run_dir, step)
        log.info("resumed from %s at step %d", last, step)
        return step, state.get("best_metric")
