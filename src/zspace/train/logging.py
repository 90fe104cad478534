"""Where training metrics go: metrics.jsonl, TensorBoard events, and the console.

On a terminal the console shows a rich progress bar with the latest loss / KL /
reconstruction; otherwise (CI, log files) it prints one plain line per logging interval.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from zspace.core.io import atomic_write_text

log = logging.getLogger("zspace.train")

METRICS_FILE = "metrics.jsonl"


def truncate_metrics(run_dir: Path, after_step: int) -> None:
    """Drop metrics.jsonl records past ``after_step`` (left by a run killed after its last checkpoint)."""
    path = run_dir / METRICS_FILE
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        step = record.get("step", 0) if isinstance(record, dict) else None
        if isinstance(step, (int, float)) and step <= after_step:
            kept.append(line)
    atomic_write_text(path, "".join(line + "\n" for line in kept))


class MetricsLogger:
    """Append-only JSON-lines + TensorBoard writer; the console view is chosen by TTY-ness."""

    def __init__(self, run_dir: Path | None, *, total_steps: int, tensorboard: bool, progress: bool | None = None) -> None:
        self.run_dir = run_dir
        self.total_steps = total_steps
        self._file = open(run_dir / METRICS_FILE, "a") if run_dir else None  # noqa: SIM115 -- closed by close()
        self._tb = None
        if tensorboard and run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter  # heavy import, only when asked for

            self._tb = SummaryWriter(log_dir=str(run_dir / "tensorboard"))
        use_bar = sys.stderr.isatty() if progress is None else progress
        self._progress = None
        if use_bar:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                transient=False,
            )
            self._task = self._progress.add_task("train", total=total_steps, info="")
            self._progress.start()
        self._t0 = time.perf_counter()

    def advance_to(self, step: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=step)

    def write(self, split: str, step: int, epoch: int, metrics: dict[str, float]) -> None:
        """Record one set of scalar metrics for ``split`` (train / valid) at ``step``."""
        record: dict[str, Any] = {
            "split": split,
            "step": step,
            "epoch": epoch,
            **metrics,
            "time_s": round(time.perf_counter() - self._t0, 3),
        }
        if self._file:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        if self._tb is not None:
            for name, value in metrics.items():
                self._tb.add_scalar(f"{split}/{name}", value, step)
        shown = " ".join(
            f"{k} {v:.4g}" for k, v in metrics.items() if k in ("loss", "elbo", "kl", "reconstruction", "lr", "examples_per_s")
        )
        if self._progress is not None:
            if split == "train":
                self._progress.update(self._task, completed=step, info=shown)
            else:
                self._progress.console.print(f"{split} step {step}: {shown}")
        else:
            log.info("%s step %d/%d epoch %d: %s", split, step, self.total_steps, epoch, shown)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._tb is not None:
            self._tb.close()
        if self._file:
            self._file.close()
