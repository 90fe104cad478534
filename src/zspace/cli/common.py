"""Pieces every CLI module shares: the console, logging setup, error handling, overrides."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from zspace.errors import ConfigError, ZspaceError

ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue the run in --out from its newest intact checkpoint (same data and model).")
]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace the zspace run in --out, once the new run has saved a model (until then the old one is kept).",
    ),
]

console = Console(stderr=False)
err_console = Console(stderr=True)
DEBUG = {"enabled": False}


def setup_logging(verbose: bool = False) -> None:
    """INFO logs through rich on a terminal, plain lines otherwise; only rank 0 is chatty."""
    rank = int(os.environ.get("RANK", "0"))
    level = logging.DEBUG if verbose else (logging.INFO if rank == 0 else logging.WARNING)
    root = logging.getLogger("zspace")
    root.handlers.clear()
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=err_console, show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(level)


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a :class:`ZspaceError` as one red line and exit with code 2 (traceback with --debug)."""
    try:
        yield
    except ZspaceError as err:
        if DEBUG["enabled"]:
            raise
        err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def parse_sets(pairs: list[str] | None, flag: str = "--set") -> dict[str, str]:
    """``--set a.b=value`` pairs -> {"a.b": "value"}.

    The values stay text: :func:`zspace.core.config.override` parses each by its field's type,
    so ``train.lr=0.01``, ``model.hidden=500,500`` and ``train.max_steps=none`` all work.
    """
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects FIELD=VALUE (e.g. {flag} train.grad_clip_norm=1.0), got {pair!r}")
        out[key.strip()] = raw.strip()
    return out


def metrics_table(title: str, rows: dict[str, Any]) -> Table:
    """A two-column rich table of scalar results (lists are summarized)."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in rows.items():
        if isinstance(value, float):
            shown = f"{value:.4f}"
        elif isinstance(value, list):
            shown = ", ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in value[:12]) + (
                " ..." if len(value) > 12 else ""
            )
        else:
            shown = str(value)
        table.add_row(name, shown)
    return table
