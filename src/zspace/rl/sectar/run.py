"""A SeCTAR run directory under the run contract (:mod:`zspace.train.runs`): train, load, plan with, render.

Layout (the checkpoints are :mod:`zspace.rl.sectar.io`'s)::

    RUN/config.json                          family "sectar", format_version, model, train, env_id, env_kwargs, seed
    RUN/checkpoints/step-<env steps>/        config.json, model.safetensors, trainer_state.pt (with the curve)

:func:`train_run` checks and locks the output directory before the first environment step,
writes config.json once before the first iteration, a checkpoint after every iteration (the one
before it is kept only every ``save_every`` env steps), and reports progress through
``on_progress``. A run of the layout before checkpoints/ (``model.safetensors``,
``train_state.pt`` and ``run.json`` at the top) loads and resumes as it is. :func:`evaluate_run`
(planning episodes) and :func:`render_run` (figures) are ``zspace eval`` / ``zspace explore``
without the printing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from zspace.core.config import from_dict, to_dict
from zspace.core.constraints import Seed, check_value
from zspace.core.io import atomic_write_json
from zspace.errors import CheckpointError, ConfigError
from zspace.rl.sectar import EVAL_SEED, io
from zspace.rl.sectar import train as sectar_train
from zspace.rl.sectar.plan import plan_episode
from zspace.rl.sectar.train import SectarCurve, SectarTrainConfig
from zspace.train import runs

FAMILY = io.FAMILY

# on_progress(env_steps, total_env_steps, metrics): metrics holds "return" and, once measured,
# "consistency/error" (metres between the decoded and executed paths).
ProgressFn = Callable[[int, int, dict[str, float]], None]


@dataclass(frozen=True)
class SectarRun:
    """A loaded SeCTAR run: the model (eval mode), its env and its training config."""

    model: Any
    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    config: SectarTrainConfig
    curve: dict[str, Any]


def check_resumable(run: str | Path, config: SectarTrainConfig, *, env_id: str, env_kwargs: dict[str, Any], seed: int) -> None:
    """``--resume``: refuse another task (env id, env kwargs such as the layout seed), seed or training config.

    A resume continues the run's own task; the run's config.json is never rewritten with another.
    """
    where = Path(run) / runs.CONFIG
    saved = runs.read_run_info(run).config
    missing = [k for k in ("env_id", "env_kwargs", "seed", "train") if k not in saved]
    if missing:
        raise CheckpointError(f"--resume: {where} lacks {missing}: it was not written by `zspace train sectar`")
    if saved["env_id"] != env_id:
        raise CheckpointError(f"--resume: {run} was trained on --env {saved['env_id']}, not {env_id}; resume with "
                              f"--env {saved['env_id']}, or train a new run into another --out")  # fmt: skip
    if saved["env_kwargs"] != env_kwargs:
        raise CheckpointError(f"--resume: {run} was trained with env kwargs {saved['env_kwargs']}, not {env_kwargs}; resume "
                              f"with {_env_flags(saved['env_kwargs'])}, or train a new run into another --out")  # fmt: skip
    if saved["seed"] != seed:
        raise CheckpointError(f"--resume: {run} was trained with --seed {saved['seed']}, not {seed}; resume with "
                              f"--seed {saved['seed']}, or train a new run into another --out")  # fmt: skip
    mine = json.loads(json.dumps(to_dict(config)))
    changed = sorted(k for k in set(mine) | set(saved["train"]) if mine.get(k) != saved["train"].get(k))
    if changed:
        raise CheckpointError(f"--resume: the training config differs from {where} in {changed}; resume with the "
                              "run's --preset and planner flags, or train a new run into another --out")  # fmt: skip


def _env_flags(env_kwargs: dict[str, Any]) -> str:
    """The CLI flags that give ``env_kwargs``, e.g. ``--layout-seed 0`` (or ``no --layout-seed`` for none)."""
    flags = [f"--{key.replace('_', '-')} {value}" for key, value in env_kwargs.items()]
    return " ".join(flags) if flags else "no --layout-seed or --layout"


def load_run(run: str | Path, *, checkpoint: str = "last") -> SectarRun:
    """The model, env, training config and curve of a run written by :func:`train_run` (``zspace train sectar``).

    ``checkpoint``: ``last`` (default; ``best`` is the same, SeCTAR has no validation metric) or a ``step-*`` name.
    """
    run = Path(run)
    info = runs.read_run_info(run)
    if info.family != FAMILY:
        raise ConfigError(f"{run} is a {info.family!r} run, not a SeCTAR one; use `zspace eval {run}` or its family's commands")
    where = run / runs.CONFIG
    config = info.config
    missing = [k for k in ("env_id", "env_kwargs", "seed", "train") if k not in config]
    if missing:
        raise CheckpointError(f"{where} lacks {missing}: it was not written by `zspace train sectar`")
    check_env_entries(config, where)
    model = io.load_sectar(run, checkpoint)
    saved = io.read_curve(run, checkpoint)
    curve = SectarCurve.from_json(saved).to_json() if saved else {}
    train = from_dict(SectarTrainConfig, config["train"], where=f"{where}: train")
    return SectarRun(model, config["env_id"], dict(config["env_kwargs"]), int(config["seed"]), train, curve)


# What `zspace train sectar` records of the task: gymnasium.make keyword arguments of zspace's envs.
ENV_KWARGS: dict[str, Any] = {"layout_seed": Seed | None, "layout": Literal["uniform", "walk"] | None}


def check_env_entries(config: dict[str, Any], where: Path) -> None:
    """A run's ``env_id``, ``env_kwargs`` and ``seed`` entries, checked before any env is built from them."""
    from zspace.rl.envs import ENV_IDS, check_env_id

    try:
        check_env_id(config["env_id"] if isinstance(config["env_id"], str) else repr(config["env_id"]), ENV_IDS)
        check_value(config["seed"], Seed, "seed")
        kwargs = config["env_kwargs"]
        if not isinstance(kwargs, dict) or set(kwargs) - set(ENV_KWARGS):
            raise ConfigError(f"env_kwargs must be an object with keys among {sorted(ENV_KWARGS)}, got {kwargs!r}"[:300])
        for name, value in kwargs.items():
            check_value(value, ENV_KWARGS[name], f"env_kwargs.{name}")
    except ConfigError as err:
        raise CheckpointError(f"{where} is damaged: {err}") from None


def train_run(
    out: str | Path,
    env_id: str,
    *,
    total_env_steps: int,
    seed: int = 0,
    config: SectarTrainConfig | None = None,
    env_kwargs: dict[str, Any] | None = None,
    save_every: int = 25_000,
    overwrite: bool = False,
    resume: bool = False,
    on_progress: ProgressFn | None = None,
) -> tuple[Any, SectarCurve]:
    """Train SeCTAR into run directory ``out``; returns (model, learning curve).

    ``out`` is validated and locked before any environment step (a file, an unwritable path or a
    directory holding a run without ``overwrite`` is refused). config.json is written before the
    first iteration and a checkpoint after each, so a killed run continues with ``resume`` from its
    last finished iteration, exactly; ``resume`` refuses another env, env kwargs, seed or training
    config. Of the checkpoints before the last, one every ``save_every`` env steps is kept (0: none).
    """
    if save_every < 0:
        raise ConfigError(f"--save-every must be >= 0, got {save_every}")
    env_kwargs = dict(env_kwargs or {})
    config = config or SectarTrainConfig()
    with runs.open_run_dir(out, overwrite=overwrite, resume=resume, family=FAMILY) as run_dir:
        if resume:
            check_resumable(run_dir, config, env_id=env_id, env_kwargs=env_kwargs, seed=seed)

        def start(model: Any) -> None:
            if not resume:  # a resumed run's config.json is its own, checked above
                atomic_write_json(run_dir / runs.CONFIG, io.run_config(model, config, env_id=env_id, env_kwargs=env_kwargs,
                                                                       seed=seed))  # fmt: skip

        latest: dict[str, float] = {}

        def log(env_steps: int, metrics: dict[str, float]) -> None:
            latest.update({k: v for k, v in metrics.items() if k in ("charts/return", "consistency/error")})

        def on_iteration(model: Any, curve: Any, env_steps: int) -> None:
            if on_progress is not None:
                on_progress(env_steps, total_env_steps, dict(latest))

        model, curve = sectar_train.train_sectar(
            env_id, total_env_steps=total_env_steps, seed=seed, config=config, env_kwargs=env_kwargs, log=log,
            on_iteration=on_iteration, on_start=start, state_dir=run_dir, keep_every=save_every,
        )  # fmt: skip
    return model, curve


@dataclass(frozen=True)
class PlanningResult:
    """What :func:`evaluate_run` measured: one return and one success per planning episode."""

    env_id: str
    config: SectarTrainConfig  # the run's, with the planner settings the episodes used
    returns: np.ndarray  # (episodes,) episode returns
    successes: np.ndarray  # (episodes,) whether each episode reached its goal


def evaluate_run(
    run: str | Path,
    *,
    episodes: int = 20,
    seed: int = EVAL_SEED,
    checkpoint: str = "last",
    n_candidates: int | None = None,
    plan_horizon: int | None = None,
    plan_method: str | None = None,
    plan_shaping: str | None = None,
) -> PlanningResult:
    """Latent MPC with the run's model for ``episodes`` episodes, episode i seeded ``seed + i``.

    The planner is the run's config with the ``n_candidates``, ``plan_horizon``, ``plan_method``
    and ``plan_shaping`` given (None keeps the run's value).
    """
    import gymnasium

    import zspace.rl.envs  # noqa: F401  (registers the ids)

    if episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {episodes}")
    loaded = load_run(run, checkpoint=checkpoint)
    changes = {"n_candidates": n_candidates, "plan_horizon": plan_horizon, "plan_method": plan_method,
               "plan_shaping": plan_shaping}  # fmt: skip
    config = replace(loaded.config, **{k: v for k, v in changes.items() if v is not None})
    env = gymnasium.make(loaded.env_id, **loaded.env_kwargs)
    results = [plan_episode(env, loaded.model, config, seed=seed + i)[:2] for i in range(episodes)]
    return PlanningResult(loaded.env_id, config, np.array([r for r, _ in results]), np.array([s for _, s in results]))


def render_run(
    run: str | Path, out: str | Path, *, seed: int = 0, skills: int = 16, checkpoint: str = "last"
) -> tuple[Path, Path]:
    """Two figures in ``out``: episode.gif (one planning episode, planned vs executed paths) and
    skills.png (``skills`` latents z ~ N(0, I) decoded from one start); returns their paths."""
    import gymnasium

    import zspace.rl.envs  # noqa: F401  (registers the ids)
    from zspace.rl.figures import episode_gif, skills_figure

    loaded = load_run(run, checkpoint=checkpoint)
    env = gymnasium.make(loaded.env_id, **loaded.env_kwargs)
    gif = episode_gif(env, loaded.model, loaded.config, Path(out) / "episode.gif", seed=seed)
    return gif, skills_figure(env, loaded.model, Path(out) / "skills.png", n=skills, seed=seed)
