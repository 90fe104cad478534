"""One trainer for every family: it owns every side effect of training.

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
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from zspace.core.seeds import derive_seed
from zspace.errors import CheckpointError, ConfigError, DataError, TrainingDivergedError
from zspace.train import checkpoint as ckpt
from zspace.train import distributed
from zspace.train.config import Batch, FitResult, LossFn, TrainConfig, resolve_device
from zspace.train.logging import MetricsLogger, truncate_metrics
from zspace.train.loop import MetricWindow, Outcome, StepPlan, torch_settings
from zspace.train.precision import resolve_autocast

__all__ = ["Batch", "FitResult", "LossFn", "TrainConfig", "Trainer", "epoch_permutation"]

log = logging.getLogger("zspace.train")


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
    generator = torch.Generator().manual_seed(derive_seed(seed, "epoch-order", epoch))
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
        self.device = resolve_device(config.device)
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
        """Train to ``epochs`` (or ``max_steps``); with ``resume`` continue from the last checkpoint.

        Phases: set up processes and the step plan; under the run's torch settings, start (fresh
        or restored); run the steps, logging and checkpointing on schedule; then tear down.
        """
        info = distributed.setup(self.device)
        if info.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", info.local_rank)
        plan = StepPlan.of(self.config, _num_examples(train_data), info.world_size)
        autocast = resolve_autocast(self.config.autocast, self.device)
        wrapped: nn.Module | None = None
        logger: MetricsLogger | None = None
        try:
            with torch_settings(self.config):
                torch.manual_seed(derive_seed(self.config.seed, "model-noise", info.rank))  # differs by rank; data order does not
                self.model.to(self.device)
                step, best_metric = self._start(resume, info)
                wrapped = self._wrap(info)
                logger = MetricsLogger(self.run_dir if info.is_main else None, total_steps=plan.total_steps,
                                       tensorboard=self.config.tensorboard and info.is_main,
                                       progress=None if info.is_main else False)  # fmt: skip
                t_start, start_step = time.perf_counter(), step
                outcome = self._run_steps(wrapped, train_data, valid_data, plan, step, best_metric, autocast, info, logger)
        finally:
            if logger is not None:
                logger.close()
            wrapped = None  # DDP's reducer must not outlive the process group (see teardown)
            distributed.teardown(info)
            self._checkpointer.wait()  # the last checkpoint is on disk before fit returns
        elapsed = time.perf_counter() - t_start
        return FitResult(
            step=outcome.step,
            total_steps=plan.total_steps,
            last_checkpoint=outcome.last_checkpoint,
            best_checkpoint=ckpt.best_checkpoint(self.run_dir) if self.run_dir else None,
            best_metric=outcome.best_metric,
            train_metrics=outcome.train_metrics,
            valid_metrics=outcome.valid_metrics,
            examples_per_s=(outcome.step - start_step) * self.config.batch_size / max(elapsed, 1e-9),
            autocast=autocast,
        )

    def _start(self, resume: bool, info: distributed.DistInfo) -> tuple[int, float | None]:
        """(first step, best metric so far): restored with ``resume``; a fresh run must not overwrite checkpoints."""
        step, best_metric = 0, None
        if resume:
            step, best_metric = self._restore(info)
        elif self.run_dir is not None and info.is_main and ckpt.latest_checkpoint(self.run_dir) is not None:
            raise CheckpointError(
                f"{self.run_dir} already holds checkpoints; resume them with --resume (resume=True) or choose a new --out directory"
            )
        if self.run_dir is not None and info.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            ckpt.write_json_atomic(self.run_dir / ckpt.CONFIG, self.run_config)
            if not resume:  # records of an earlier attempt that never reached a checkpoint
                truncate_metrics(self.run_dir, after_step=0)
        return step, best_metric

    def _wrap(self, info: distributed.DistInfo) -> nn.Module:
        if not info.enabled:
            return self.model
        return DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def _run_steps(
        self,
        wrapped: nn.Module,
        train_data: Batch,
        valid_data: Batch | None,
        plan: StepPlan,
        step: int,
        best_metric: float | None,
        autocast: str,
        info: distributed.DistInfo,
        logger: MetricsLogger,
    ) -> Outcome:
        """The loop: batch, step, log every ``log_every`` steps, validate and checkpoint on schedule."""
        c = self.config
        window = MetricWindow()
        outcome = Outcome(step, best_metric, ckpt.latest_checkpoint(self.run_dir) if self.run_dir else None)
        perm, perm_epoch = None, -1
        self.model.train()
        while step < plan.total_steps:
            epoch, index_in_epoch = divmod(step, plan.steps_per_epoch)
            if epoch != perm_epoch:
                perm, perm_epoch = epoch_permutation(c.seed, epoch, plan.n_examples), epoch
            global_index = perm[index_in_epoch * c.batch_size : (index_in_epoch + 1) * c.batch_size]
            batch = _take(train_data, global_index[info.rank :: info.world_size], self.device)
            lr = c.lr(step, plan.schedule_steps)
            metrics = self._optimizer_step(wrapped, batch, step, epoch, lr, autocast, info)
            step += 1
            window.add(metrics, global_index.numel())
            if step % c.log_every == 0 or step == plan.total_steps:
                outcome.train_metrics = window.drain(lr, info)
                logger.write("train", step, epoch, outcome.train_metrics)
            else:
                logger.advance_to(step)
            if step % plan.checkpoint_every == 0 or step == plan.total_steps:
                self._validate_and_save(valid_data, step, epoch, plan, info, logger, outcome)
            outcome.step = step
        return outcome

    def _optimizer_step(
        self, wrapped: nn.Module, batch: Batch, step: int, epoch: int, lr: float, autocast: str, info: distributed.DistInfo
    ) -> dict[str, Tensor]:
        """One forward/backward/update at learning rate ``lr``; returns the step's metrics (tensors)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast == "bfloat16"):
            loss, metrics = self.loss_fn(wrapped, batch, step)
        self._check_finite(loss, step, epoch, info)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip_norm is not None:
            metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip_norm)
        self.optimizer.step()
        return {**metrics, "loss": loss}

    def _validate_and_save(
        self,
        valid_data: Batch | None,
        step: int,
        epoch: int,
        plan: StepPlan,
        info: distributed.DistInfo,
        logger: MetricsLogger,
        outcome: Outcome,
    ) -> None:
        metric = None
        if valid_data is not None:
            outcome.valid_metrics = self.evaluate(valid_data, step=step)
            logger.write("valid", step, epoch, outcome.valid_metrics)
            metric = self._selection_metric(outcome.valid_metrics)
        is_best = metric is not None and (outcome.best_metric is None or metric < outcome.best_metric)
        if is_best:
            outcome.best_metric = metric
        # Without validation data the final checkpoint is the best one.
        is_best = is_best or (valid_data is None and step == plan.total_steps)
        saved = self._save(step, info, metric, is_best, outcome.best_metric)
        outcome.last_checkpoint = saved if saved is not None else outcome.last_checkpoint

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
            torch.manual_seed(derive_seed(self.config.seed, "eval-noise"))
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
            raise CheckpointError(
                f"nothing to resume: {self.run_dir / ckpt.CHECKPOINTS} holds no complete checkpoint; start over with --overwrite"
            )
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
            torch.manual_seed(derive_seed(self.config.seed, "model-noise-reseed", info.rank, step))
        if self.run_dir is not None and info.is_main:
            truncate_metrics(self.run_dir, step)
        log.info("resumed from %s at step %d", last, step)
        return step, state.get("best_metric")
