"""Pieces every CLI module shares: the console, logging setup, error handling, overrides."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from zspace.core.constraints import FieldError, Interval, Positive, Seed, Size, check_value
from zspace.errors import ConfigError, ZspaceError

ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue the run in --out from its newest intact checkpoint (same data and model).")
]
FileOverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace the --out file if it exists (never a run's own files).")
]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace the zspace run in --out, once the new run has saved a model (until then the old one is kept).",
    ),
]


def checked(hint: Any) -> Any:
    """A typer option callback that holds the value to ``hint`` (a type from zspace.core.constraints).

    For numbers that are no config field (``--temperature``, ``--seed`` of ``sample``): the same
    declared constraints, refused as a parse error that names the flag.
    """

    def callback(value: Any) -> Any:
        if value is not None:
            try:
                check_value(value, hint, "value")
            except FieldError as err:
                raise typer.BadParameter(f"got {value!r}, expected {err.expected}") from None
        return value

    return callback


SeedOpt = Annotated[int, typer.Option(help="Random seed.", callback=checked(Seed))]
TemperatureOpt = Annotated[
    float, typer.Option(help="Softmax temperature when sampling: lower is safer, higher wilder.", callback=checked(Positive))
]
SizeCallback = checked(Size)
MAX_SAMPLES = 4096  # samples decoded in one call (-n): all are held in memory at once


def bounded(low: int, high: int) -> Any:
    """A callback for a count that costs time or memory in proportion: an integer in [low, high]."""
    return checked(Annotated[int, Interval(low, high)])


def output_path(text: str) -> Path:
    """The parser of every ``--out``: an empty string is refused (as a Path it would be the working directory)."""
    if not text:
        raise typer.BadParameter("is empty; name the path to write, e.g. --out runs/first")
    return Path(text)


console = Console(stderr=False)
err_console = Console(stderr=True)
DEBUG = {"enabled": False}

# Exit codes: 0 done, 1 interrupted, 2 a bad input or usage (ZspaceError, typer's parse errors),
# 3 `zspace serve` on a busy port, 70 a zspace bug (sysexits' EX_SOFTWARE).
USER_ERROR_EXIT = 2
INTERNAL_ERROR_EXIT = 70
# typer >= 0.20 vendors click, older versions use it: its base exception is found, not imported.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


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


def print_error(message: str) -> None:
    """One red line on stderr, however long (no wrapping, no box)."""
    err_console.print(f"[bold red]error:[/] {' '.join(message.split())}", highlight=False, soft_wrap=True)


class ErrorBoundary(TyperGroup):
    """The one place a failing command becomes one line on stderr and an exit code.

    A :class:`ZspaceError` (bad input) exits 2 with its message; a parse error exits 2 with
    click's message and the command's ``--help``; anything else is a bug: one line naming its
    type and message, exit 70. ``--debug`` shows the traceback instead.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except _CLICK_EXCEPTION as err:
            if DEBUG["enabled"] or type(err).__name__ == "NoArgsIsHelpError":  # that one prints the help
                raise
            where = f" (see `{err.ctx.command_path} --help`)" if getattr(err, "ctx", None) is not None else ""
            print_error(f"{escape(err.format_message())}{where}")
            raise typer.Exit(code=err.exit_code) from None
        except ZspaceError as err:
            if DEBUG["enabled"]:
                raise
            print_error(escape(str(err)))
            raise typer.Exit(code=USER_ERROR_EXIT) from None
        except Exception as err:  # noqa: BLE001 - the boundary: anything left is a bug, said in one line
            if DEBUG["enabled"]:
                traceback.print_exc()  # click turns an EOFError into "Aborted!": print it before it can
                raise typer.Exit(code=INTERNAL_ERROR_EXIT) from None
            text = escape(" ".join(str(err).split()) or "(no message)")
            err_console.print(
                f"[bold red]zspace: internal error:[/] {type(err).__name__}: {text}; rerun with --debug",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(code=INTERNAL_ERROR_EXIT) from None


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a :class:`ZspaceError` as one red line and exit with code 2 (traceback with --debug)."""
    try:
        yield
    except ZspaceError as err:
        if DEBUG["enabled"]:
            raise
        print_error(escape(str(err)))
        raise typer.Exit(code=USER_ERROR_EXIT) from None


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


def apply_sets(config: Any, pairs: list[str] | None, flag: str = "--set") -> Any:
    """``config`` (a typed run config) with ``--set path.to.field=value`` pairs applied: the one ``--set`` grammar.

    Each value is parsed by its field's type and checked by the config's constraints
    (:func:`zspace.core.options.apply_options`, as the benchmarks' flags); an unknown path names the valid fields.
    """
    from zspace.core.options import apply_options

    return apply_options(config, parse_sets(pairs, flag))


SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Any run-config field, PATH=VALUE (e.g. --set train.keep_last=5); repeat for more."),
]


@dataclass(frozen=True)
class EvalOptions:
    """What ``zspace eval`` was given; each family reads the options it has."""

    iw: int
    checkpoint: str
    batch_size: int
    seed: int | None  # None: the family's own default
    episodes: int
    out: Path | None
    overwrite: bool


@dataclass(frozen=True)
class SampleOptions:
    """What ``zspace sample`` was given."""

    n: int
    temperature: float
    seed: int
    checkpoint: str
    out: Path | None
    overwrite: bool


@dataclass(frozen=True)
class ExploreOptions:
    """What ``zspace explore`` was given."""

    ablation: bool
    ablation_epochs: int | None
    seed: int


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


def renamed(command: Any, old: str, new: str) -> Any:
    """``command`` under its old spelling: hidden from the help, it says the new one on stderr and runs."""
    import functools

    @functools.wraps(command)
    def alias(*args: Any, **kwargs: Any) -> Any:
        err_console.print(f"[yellow]note:[/] `zspace {old}` is now `zspace {new}`", highlight=False, soft_wrap=True)
        return command(*args, **kwargs)

    return alias
