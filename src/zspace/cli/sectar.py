"""SeCTAR's commands (the family's CLI module): ``zspace train sectar``, and ``zspace sectar plan|render``.

Each parses flags, builds a config and calls the library (``zspace.rl.sectar``). ``zspace rl ...``,
the old spelling, stays as a hidden alias that names the new one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from zspace.cli.common import (
    EvalOptions,
    ExploreOptions,
    OverwriteOpt,
    SetOpt,
    apply_sets,
    bounded,
    checked,
    console,
    metrics_table,
    output_path,
    renamed,
    user_errors,
)
from zspace.core.constraints import NonNegativeInt, Seed, Size
from zspace.errors import ConfigError
from zspace.rl.sectar import EVAL_SEED
from zspace.train.outputs import check_output_dir

app = typer.Typer(help="SeCTAR: trajectory VAEs for hierarchical RL with latent planning.", no_args_is_help=True)

RunArg = Annotated[Path, typer.Argument(help="A run directory written by `zspace train sectar`.")]
# Small LSTMs and MLPs on batches of tens: one thread is fastest (two threads made the tiny
# backward passes many times slower on a 2-core machine); more only help the paper-sized preset.
ThreadsOpt = Annotated[int, typer.Option(help="torch threads (1 suits the small preset).", callback=checked(Size))]


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """torch uses ``n`` threads inside the block; the caller's setting is restored after."""
    import torch

    from zspace.errors import ConfigError

    if n < 1:
        raise ConfigError(f"--threads must be >= 1, got {n}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@app.callback()
def sectar() -> None:
    """SeCTAR: trajectory VAEs for hierarchical RL with latent planning."""


ShapingOpt = Annotated[
    str | None,
    typer.Option(help="Planning objective: none (sparse reward only, the authors') | stage | distance (default: the config's)."),
]


def _with_planner(config: Any, candidates: int | None, horizon: int | None, method: str | None, shaping: str | None) -> Any:
    """``config`` with the planner flags that were given (None keeps the config's value)."""
    changes = {"n_candidates": candidates, "plan_horizon": horizon, "plan_method": method, "plan_shaping": shaping}
    return replace(config, **{k: v for k, v in changes.items() if v is not None})


def _env_kwargs(layout_seed: int | None, layout: str | None = None) -> dict[str, Any]:
    return ({} if layout_seed is None else {"layout_seed": layout_seed}) | ({} if layout is None else {"layout": layout})


def train(
    out: Annotated[Path, typer.Option("--out", "-o", parser=output_path, help="Run directory: model, config, learning curve.")],
    env: Annotated[
        str,
        typer.Option(
            help="zspace/Waypoints-v0 | zspace/Wheeled-v1 (the authors' MuJoCo car; v0 our numpy model) | zspace/Blocks-v0 | ..."
        ),
    ] = ("zspace/Waypoints-v0"),
    steps: Annotated[
        int, typer.Option(help="Environment-step budget (planning, exploration and consistency).", callback=checked(Size))
    ] = 150_000,
    seed: Annotated[int, typer.Option(help="Seed of weights, actions, latents and minibatches.", callback=checked(Seed))] = 0,
    layout_seed: Annotated[
        int | None,
        typer.Option(
            help="One fixed task layout (the authors' goal file); default: a new one per episode.", callback=checked(Seed)
        ),
    ] = None,
    layout: Annotated[
        str | None, typer.Option(help="Task layout: uniform (the authors', the envs' default) | walk (ours, easier).")
    ] = None,
    preset: Annotated[
        str,
        typer.Option(
            help="Training preset: cpu (ours, CPU-sized, plans with the distance tie-break; 'small' is its old name) | "
            "paper (the authors': sparse scoring, an accelerator's sizes) | paper-small (the authors' with CPU sizes)."
        ),
    ] = "cpu",
    candidates: Annotated[int | None, typer.Option(help="Latent sequences scored per plan (default: the config's).")] = None,
    horizon: Annotated[int | None, typer.Option(help="Segments planned ahead (default: the config's).")] = None,
    method: Annotated[str | None, typer.Option(help="Planner: shooting | cem (default: the config's).")] = None,
    shaping: ShapingOpt = None,
    save_every: Annotated[
        int,
        typer.Option(
            help="Keep a checkpoint every this many env steps (the last iteration's is always kept; 0: only it).",
            callback=checked(NonNegativeInt),
        ),
    ] = 25_000,
    overwrite: OverwriteOpt = False,
    resume: Annotated[bool, typer.Option(help="Continue exactly from the last checkpoint of OUT left by a killed run.")] = False,
    threads: ThreadsOpt = 1,
    set_: SetOpt = None,
) -> None:
    """Train SeCTAR online (plan, explore, fit the trajectory VAE, make the policy self-consistent).

    Example: zspace train sectar --env zspace/Waypoints-v0 --layout-seed 0 --steps 150000 --out runs/nav
    """
    from zspace.rl.envs import ENV_IDS, check_env_id
    from zspace.rl.sectar.config import ALIASES, PRESETS, SectarTrainConfig
    from zspace.rl.sectar.run import train_run

    with user_errors(), _threads(threads):
        check_env_id(env, ENV_IDS)
        name = ALIASES.get(preset, preset)
        if name not in PRESETS:
            raise ConfigError(f"--preset {preset!r} is not one of {', '.join(PRESETS)} (or 'small', the old name of cpu)")
        if name != preset:
            console.print(f"--preset {preset} is the old name of --preset {name}; use --preset {name}")
        config = _with_planner(SectarTrainConfig.for_task(env, PRESETS[name]), candidates, horizon, method, shaping)
        config = apply_sets(config, set_)
        with sectar_progress(env, steps) as on_progress:
            _, curve = train_run(out, env, total_env_steps=steps, seed=seed, config=config,
                                 env_kwargs=_env_kwargs(layout_seed, layout), save_every=save_every,
                                 overwrite=overwrite, resume=resume, on_progress=on_progress)  # fmt: skip
    last = curve.returns[-5:]
    rows = {"env steps": curve.steps_taken, "planning episodes": len(curve.returns),
            "return (last 5 episodes)": sum(last) / max(len(last), 1), "wall seconds": curve.wall_s}  # fmt: skip
    rows |= {k: v for k, v in curve.last.items() if k.startswith("consistency/")}
    console.print(metrics_table(f"SeCTAR on {env}", rows))
    console.print(f"model in {out}; plan with `zspace sectar plan {out}`")


@contextmanager
def sectar_progress(env: str, total: int) -> Iterator[Any]:
    """A rich progress bar of env steps with the last return and consistency error (plain log lines off a TTY)."""
    import logging

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    log = logging.getLogger("zspace.rl")
    if not console.is_terminal:

        def log_line(env_steps: int, total_steps: int, metrics: dict[str, float]) -> None:
            log.info("env steps %d/%d %s", env_steps, total_steps, _progress_text(metrics))

        yield log_line
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"SeCTAR on {env}: env steps", total=total, stats="")

        def update(env_steps: int, total_steps: int, metrics: dict[str, float]) -> None:
            progress.update(task, completed=env_steps, stats=_progress_text(metrics))

        yield update


def _progress_text(metrics: dict[str, float]) -> str:
    parts = []
    if "charts/return" in metrics:
        parts.append(f"return {metrics['charts/return']:.2f}")
    if "consistency/error" in metrics:
        parts.append(f"consistency error {metrics['consistency/error']:.3f} m")
    return "  ".join(parts)


@app.command("plan")
def plan_cmd(
    run: RunArg,
    episodes: Annotated[int, typer.Option(help="Planning episodes to run.", callback=bounded(1, 100_000))] = 20,
    seed: Annotated[
        int, typer.Option(help="Seed of the episodes' latents (and layouts, unless the run fixed one).", callback=checked(Seed))
    ] = EVAL_SEED,
    candidates: Annotated[int | None, typer.Option(help="Latent sequences per plan (default: the run's).")] = None,
    horizon: Annotated[int | None, typer.Option(help="Segments planned ahead (default: the run's).")] = None,
    method: Annotated[str | None, typer.Option(help="shooting | cem (default: the run's).")] = None,
    shaping: ShapingOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Run episodes of latent MPC with a trained SeCTAR and report return and success.

    Example: zspace sectar plan runs/nav --episodes 20 --method cem
    """
    from zspace import families

    with user_errors(), _threads(threads):
        result = families.get("sectar").evaluate(run, episodes=episodes, seed=seed, n_candidates=candidates,
                                                 plan_horizon=horizon, plan_method=method, plan_shaping=shaping)  # fmt: skip
    config = result.config
    rows = {"episodes": episodes, "return mean": result.returns.mean(), "return std": result.returns.std(),
            "success rate": float(result.successes.mean()), "planner": config.plan_method,
            "candidates x horizon": f"{config.n_candidates} x {config.plan_horizon}",
            "objective": "sparse reward (the authors')" if config.plan_shaping == "none" else f"{config.plan_shaping} tie-break (ours)"}  # fmt: skip
    console.print(metrics_table(f"latent MPC on {result.env_id}", rows))


@app.command("render")
def render_cmd(
    run: RunArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", parser=output_path, help="Folder for the figures (default: RUN/figures).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the rendered episode and of the drawn skills.", callback=checked(Seed))] = 0,
    skills: Annotated[
        int, typer.Option(help="Latent skills drawn from z ~ N(0, I) in the skills figure.", callback=bounded(1, 256))
    ] = 16,
) -> None:
    """A GIF of one planning episode (planned vs executed paths) and the skills decoded from one start.

    Example: zspace sectar render runs/nav --out figures/
    """
    from zspace import families

    out = out or run / "figures"
    with user_errors():
        check_output_dir(out)
        gif, png = families.get("sectar").explore(run, out, seed=seed, skills=skills)
    console.print(f"wrote {gif} and {png}")


def evaluate(run: Path, options: EvalOptions) -> None:
    """``zspace eval``: planning episodes with the trained model (``zspace sectar plan``'s defaults)."""
    plan_cmd(run, episodes=options.episodes, seed=EVAL_SEED if options.seed is None else options.seed)


def explore(run: Path, options: ExploreOptions) -> None:
    """``zspace explore``: an episode GIF and the skills figure in RUN/figures/."""
    render_cmd(run, seed=options.seed)


# The old spellings: `zspace rl plan|render` and `zspace rl train sectar`, hidden, naming the new ones.
rl_app = typer.Typer(help="Old name of `zspace sectar`.", no_args_is_help=True, hidden=True)
rl_app.command("plan")(renamed(plan_cmd, "rl plan", "sectar plan"))
rl_app.command("render")(renamed(render_cmd, "rl render", "sectar render"))
_rl_train = typer.Typer(no_args_is_help=True)
_rl_train.command("sectar")(renamed(train, "rl train sectar", "train sectar"))
rl_app.add_typer(_rl_train, name="train")
