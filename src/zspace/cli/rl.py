"""``zspace rl ...``: SeCTAR's commands: ``train`` a model, ``plan`` with it, ``render`` its skills.

Each parses flags, builds a config and calls the library (``zspace.rl``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from zspace.cli.common import console, metrics_table, user_errors

app = typer.Typer(help="SeCTAR: trajectory VAEs for hierarchical RL with latent planning.", no_args_is_help=True)
train_app = typer.Typer(help="Train an RL method.", no_args_is_help=True)
app.add_typer(train_app, name="train")

RunArg = Annotated[Path, typer.Argument(help="A run directory written by `zspace rl train sectar`.")]
RUN_FILE = "run.json"  # env id, env kwargs, seed and the learning curve, beside the model
# Small LSTMs and MLPs on batches of tens: one thread is fastest (two threads made the tiny
# backward passes many times slower on a 2-core machine); more only help the paper-sized preset.
ThreadsOpt = Annotated[int, typer.Option(help="torch threads (1 suits the small preset).")]


def _threads(n: int) -> None:
    import torch

    from zspace.errors import ConfigError

    if n < 1:
        raise ConfigError(f"--threads must be >= 1, got {n}")
    torch.set_num_threads(n)


@app.callback()
def rl() -> None:
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


@train_app.command("sectar")
def train_sectar_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory: model, config, learning curve.")],
    env: Annotated[str, typer.Option(help="zspace/Waypoints-v0 | zspace/Wheeled-v0 | zspace/Blocks-v0 | ...")] = (
        "zspace/Waypoints-v0"
    ),
    steps: Annotated[int, typer.Option(help="Environment-step budget (planning, exploration and consistency).")] = 150_000,
    seed: Annotated[int, typer.Option(help="Seed of weights, actions, latents and minibatches.")] = 0,
    layout_seed: Annotated[
        int | None, typer.Option(help="One fixed task layout (the authors' goal file); default: a new one per episode.")
    ] = None,
    layout: Annotated[
        str | None, typer.Option(help="Task layout: uniform (the authors', the envs' default) | walk (ours, easier).")
    ] = None,
    preset: Annotated[
        str, typer.Option(help="Training preset: cpu (ours, CPU-sized; 'small' is its old name) | paper (the authors').")
    ] = "small",
    candidates: Annotated[int | None, typer.Option(help="Latent sequences scored per plan (default: the config's).")] = None,
    horizon: Annotated[int | None, typer.Option(help="Segments planned ahead (default: the config's).")] = None,
    method: Annotated[str | None, typer.Option(help="Planner: shooting | cem (default: the config's).")] = None,
    shaping: ShapingOpt = None,
    save_every: Annotated[
        int, typer.Option(help="Also save the model and curve so far every this many env steps (0: only at the end).")
    ] = 25_000,
    resume: Annotated[
        bool, typer.Option(help="Continue exactly from the training state OUT/train_state.pt left by a killed run.")
    ] = False,
    threads: ThreadsOpt = 1,
) -> None:
    """Train SeCTAR online (plan, explore, fit the trajectory VAE, make the policy self-consistent).

    Example: zspace rl train sectar --env zspace/Waypoints-v0 --layout-seed 0 --steps 150000 --out runs/nav
    """
    from zspace.core.config import to_dict
    from zspace.errors import ConfigError
    from zspace.rl.envs import check_env_id
    from zspace.rl.sectar_io import TRAIN_STATE
    from zspace.rl.sectar_train import SECTAR_TRAIN_PRESETS, SectarTrainConfig, save_sectar, train_sectar
    from zspace.train.checkpoint import write_json_atomic

    with user_errors():
        _threads(threads)
        check_env_id(env)
        base = SECTAR_TRAIN_PRESETS["cpu" if preset == "small" else preset]
        config = _with_planner(SectarTrainConfig.for_task(env, base), candidates, horizon, method, shaping)
        if save_every < 0:
            raise ConfigError(f"--save-every must be >= 0, got {save_every}")
        env_kwargs = _env_kwargs(layout_seed, layout)
        if (out / TRAIN_STATE).is_file() and not resume:
            raise ConfigError(f"{out / TRAIN_STATE} exists: pass --resume to continue that run, or choose another --out")

        def save(model: Any, curve: Any) -> None:  # each file is replaced atomically: a kill keeps the last good one
            save_sectar(out, model, config)
            write_json_atomic(out / RUN_FILE, {"env_id": env, "env_kwargs": env_kwargs, "seed": seed, "curve": curve.to_json(),
                                               "train": to_dict(config)})  # fmt: skip

        saved_at = 0  # env steps at the last save

        def checkpoint(model: Any, curve: Any, env_steps: int) -> None:
            nonlocal saved_at
            if save_every and env_steps - saved_at >= save_every:
                save(model, curve)
                saved_at = env_steps

        with console.status(f"training SeCTAR on {env} for {steps:,} environment steps"):
            model, curve = train_sectar(env, total_env_steps=steps, seed=seed, config=config, env_kwargs=env_kwargs,
                                        on_iteration=checkpoint, state_dir=out)  # fmt: skip
        save(model, curve)
    last = curve.returns[-5:]
    rows = {"env steps": curve.extra.get("env_steps", steps), "planning episodes": len(curve.returns),
            "return (last 5 episodes)": sum(last) / max(len(last), 1), "wall seconds": curve.wall_s}  # fmt: skip
    rows |= {k: v for k, v in curve.extra.items() if k.startswith("consistency/")}
    console.print(metrics_table(f"SeCTAR on {env}", rows))
    console.print(f"model in {out}; plan with `zspace rl plan {out}`")


def _load_run(run: Path) -> tuple[Any, dict[str, Any], Any]:
    """The trained model, ``run.json`` (env id and kwargs, curve) and the run's SectarTrainConfig."""
    from zspace.core.config import from_dict
    from zspace.errors import CheckpointError
    from zspace.rl.sectar_train import SectarTrainConfig, load_sectar

    model = load_sectar(run)
    path = run / RUN_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: {run} was not written by `zspace rl train sectar`")
    info = json.loads(path.read_text())
    return model, info, from_dict(SectarTrainConfig, info["train"], where=str(path))


@app.command("plan")
def plan_cmd(
    run: RunArg,
    episodes: Annotated[int, typer.Option(help="Planning episodes to run.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the episodes' latents (and layouts, unless the run fixed one).")] = 1000,
    candidates: Annotated[int | None, typer.Option(help="Latent sequences per plan (default: the run's).")] = None,
    horizon: Annotated[int | None, typer.Option(help="Segments planned ahead (default: the run's).")] = None,
    method: Annotated[str | None, typer.Option(help="shooting | cem (default: the run's).")] = None,
    shaping: ShapingOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Run episodes of latent MPC with a trained SeCTAR and report return and success.

    Example: zspace rl plan runs/nav --episodes 20 --method cem
    """
    import gymnasium
    import numpy as np

    import zspace.rl.envs  # noqa: F401  (registers the ids)
    from zspace.errors import ConfigError
    from zspace.rl.sectar_train import plan_episode

    with user_errors():
        _threads(threads)
        if episodes < 1:
            raise ConfigError(f"--episodes must be >= 1, got {episodes}")
        model, info, config = _load_run(run)
        config = _with_planner(config, candidates, horizon, method, shaping)
        env = gymnasium.make(info["env_id"], **info["env_kwargs"])
        results = [plan_episode(env, model, config, seed=seed + i)[:2] for i in range(episodes)]
    returns = np.array([r for r, _ in results])
    rows = {"episodes": episodes, "return mean": returns.mean(), "return std": returns.std(),
            "success rate": float(np.mean([s for _, s in results])), "planner": config.plan_method,
            "candidates x horizon": f"{config.n_candidates} x {config.plan_horizon}"}  # fmt: skip
    console.print(metrics_table(f"latent MPC on {info['env_id']}", rows))


@app.command("render")
def render_cmd(
    run: RunArg,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the figures (default: RUN/figures).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the rendered episode and of the drawn skills.")] = 0,
    skills: Annotated[int, typer.Option(help="Latent skills drawn from z ~ N(0, I) in the skills figure.")] = 16,
) -> None:
    """A GIF of one planning episode (planned vs executed paths) and the skills decoded from one start.

    Example: zspace rl render runs/nav --out figures/
    """
    import gymnasium

    import zspace.rl.envs  # noqa: F401  (registers the ids)
    from zspace.rl.figures import episode_gif, skills_figure

    out = out or run / "figures"
    with user_errors():
        model, info, config = _load_run(run)
        env = gymnasium.make(info["env_id"], **info["env_kwargs"])
        gif = episode_gif(env, model, config, out / "episode.gif", seed=seed)
        png = skills_figure(env, model, out / "skills.png", n=skills, seed=seed)
    console.print(f"wrote {gif} and {png}")
