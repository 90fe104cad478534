"""Planning with a signal, the same for every planner: sparse scoring against the distance tie-break.

The authors' planners score plans by the sparse task reward alone; on their layouts almost every
candidate scores 0 (docs/BENCHMARKS.md, the oracle gap), so the argmax is an arbitrary plan. This
bench gives every planner the same objective (``--shapings``: ``none`` the authors', ``distance``
our labelled tie-break, :mod:`zspace.rl.planner`), the same K and the same horizon H (segments of
19 steps; the oracle plans H x 19 actions) on each (task, seed):

- ``sectar``: the SeCTAR model of ``bench/sectar_mechanism.py``'s run for that seed and variant
  (read from ``--state-dir``; a missing one is trained first), planning ``--episodes`` episodes;
- ``mpc``: the state-space MPC (:func:`zspace.rl.model_based.state_mpc`, the authors' algorithm
  and schedule for the task) trained for the same ``--budget`` env steps as SeCTAR's model, with
  the same K and H, scoring sparsely as SeCTAR's training did, its model refit once more on all
  its data at the end (``final_fit``: on Wheeled and Blocks the authors' schedule would otherwise
  leave it unfit or fit to its random episodes alone); then ``--episodes`` episodes planning through it;
- ``oracle``: random shooting through the true dynamics (:func:`zspace.rl.oracle.oracle_mpc`).

Results are merged into ``--json-out`` as ``tiebreak[env][planner][shaping]`` with the command,
keeping everything else in the file. ``--state-dir`` keeps the trained models (SeCTAR's training
state, the state MPC's dynamics model), so a rerun only plans.

    python bench/sectar_tiebreak.py --envs zspace/Waypoints-v0 --seeds 1 --state-dir runs/state --json-out docs/benchmarks/sectar.json
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, emit_json, parse_args, write_json
from sectar_mechanism import state_name


@dataclass
class Args:
    """Every planner with the same objective, K and H (see the module docstring)."""

    envs: str = "zspace/Waypoints-v0,zspace/Wheeled-v1,zspace/Blocks-v0"
    seeds: int = 3
    first_seed: int = 0
    variant: str = "cpu"  # the SeCTAR preset whose mechanism-run models plan
    budget: int = 60_000  # those runs' budget (their state directory is found by it)
    shapings: str = "none,distance"
    candidates: int = 256  # K, every planner
    horizon: int = 3  # H in segments, every planner (the cpu preset's)
    episodes: int = 6  # per (planner, shaping, seed)
    planners: str = "sectar,mpc,oracle"
    state_dir: str = ""
    json_out: str | None = None


def plan(env_id: str, seed: int, args: Args) -> dict[str, dict[str, list[float]]]:
    """``{planner: {shaping: [episode returns]}}`` for one task and seed."""
    import gymnasium
    import torch

    torch.set_num_threads(1)
    from zspace.rl.model_based import MPCConfig, model_simulator, mpc_episodes
    from zspace.rl.oracle import oracle_mpc
    from zspace.rl.sectar.config import PRESETS
    from zspace.rl.sectar.train import SectarTrainConfig, plan_episode, train_sectar

    env_kwargs = {"layout_seed": seed, "layout": "uniform"}
    out: dict[str, dict[str, list[float]]] = {}
    planners = [p for p in args.planners.split(",") if p]
    if "sectar" in planners:
        config = replace(SectarTrainConfig.for_task(env_id, PRESETS[args.variant]), plan_shaping="none")
        state_dir = Path(args.state_dir) / state_name(env_id, seed, args.variant) if args.state_dir else None
        model, _ = train_sectar(
            env_id, total_env_steps=args.budget, seed=seed, config=config, env_kwargs=env_kwargs, state_dir=state_dir
        )  # fmt: skip  (a finished run only loads)
        model.eval()
        with gymnasium.make(env_id, **env_kwargs) as env:
            for shaping in args.shapings.split(","):
                planner = replace(config, n_candidates=args.candidates, plan_horizon=args.horizon, plan_shaping=shaping)
                returns = [plan_episode(env, model, planner, seed=10_000 + e)[0] for e in range(args.episodes)]
                out.setdefault("sectar", {})[shaping] = [float(r) for r in returns]
    with gymnasium.make(env_id) as env:
        segment = env.unwrapped.sim.config.segment_len
    mpc = MPCConfig.for_task(env_id, shaping="none", n_paths=args.candidates, horizon=args.horizon * segment)
    if "mpc" in planners:
        model = trained_state_mpc(env_id, seed, mpc, env_kwargs, args)
        for shaping in args.shapings.split(","):
            curve = mpc_episodes(env_id, lambda env: model_simulator(model), episodes=args.episodes, seed=10_000,
                                 config=replace(mpc, shaping=shaping), env_kwargs=env_kwargs)  # fmt: skip
            out.setdefault("mpc", {})[shaping] = [float(r) for r in curve.returns]
    if "oracle" in planners:
        for shaping in args.shapings.split(","):
            curve = oracle_mpc(env_id, episodes=args.episodes, seed=10_000, config=replace(mpc, shaping=shaping),
                               env_kwargs=env_kwargs)  # fmt: skip
            out.setdefault("oracle", {})[shaping] = [float(r) for r in curve.returns]
    return out


def trained_state_mpc(env_id: str, seed: int, config, env_kwargs: dict[str, Any], args: Args):
    """The state MPC trained for ``args.budget`` steps (``final_fit``), loaded from ``--state-dir`` when it is there."""
    import gymnasium
    from safetensors.torch import load_file, save_file

    from zspace.rl.model_based import DynamicsModel, state_mpc

    name = f"{env_id.split('/')[-1]}_seed{seed}_layout=uniform_mpc_k{config.n_paths}_h{config.horizon}_{args.budget}"
    path = Path(args.state_dir) / name / "model.safetensors" if args.state_dir else None
    if path is not None and path.is_file():
        with gymnasium.make(env_id, **{**env_kwargs, "include_stage": False}) as env:
            model = DynamicsModel(env.observation_space.shape[0], env.action_space, hidden=config.hidden)
        model.load_state_dict(load_file(path))
        return model
    model, curve = state_mpc(env_id, total_steps=args.budget, seed=seed, config=config, env_kwargs=env_kwargs,
                             final_fit=True)  # fmt: skip
    print(f"state MPC {env_id} seed {seed}: {curve.extra['env_steps']} steps, {curve.extra['fits']} fits, "
          f"{len(curve.returns)} episodes returning {np.mean(curve.returns or [0]):.2f}, {curve.wall_s:.0f} s",
          file=sys.stderr, flush=True)  # fmt: skip
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(model.state_dict(), str(path))
        write_json(path.with_name("curve.json"), {**curve.extra, "returns": curve.returns, "env_steps_curve": curve.env_steps,
                                                  "wall_s": curve.wall_s}, indent=1)  # fmt: skip
    return model


def merge(path: str, env_id: str, seed: int, result: dict[str, Any], args: Args, command: str) -> dict[str, Any]:
    """Put one (task, seed)'s returns into ``path``'s ``tiebreak[env_id][planner][shaping]``; mean and std over seeds."""
    data = json.loads(Path(path).read_text()) if Path(path).is_file() else {}
    table = data.setdefault("tiebreak", {}).setdefault(env_id, {})
    for planner, by_shaping in result.items():
        for shaping, returns in by_shaping.items():
            entry = table.setdefault(planner, {}).setdefault(shaping, {"runs": []})
            run = {"seed": seed, "returns": returns, "mean": float(np.mean(returns)), "command": command,
                   "K": args.candidates, "H": args.horizon, "variant": args.variant if planner == "sectar" else None}  # fmt: skip
            entry["runs"] = sorted([r for r in entry["runs"] if r["seed"] != seed] + [run], key=lambda r: r["seed"])
            means = [r["mean"] for r in entry["runs"]]
            entry.update(mean=float(np.mean(means)), std=float(np.std(means)), seeds=[r["seed"] for r in entry["runs"]])
    if path:
        write_json(path, data, indent=1)
    return data


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(Args, argv)
    command = command_line(__file__, argv)
    data: dict[str, Any] = {}
    for env_id in [e for e in args.envs.split(",") if e]:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            tic = time.perf_counter()
            result = plan(env_id, seed, args)
            data = merge(args.json_out or "", env_id, seed, result, args, command) if args.json_out else {"tiebreak": result}
            print(f"done {env_id} seed {seed} in {time.perf_counter() - tic:.0f} s: {result}", file=sys.stderr, flush=True)
    emit_json({"tiebreak": data.get("tiebreak", {})})
    return data


if __name__ == "__main__":
    main()
