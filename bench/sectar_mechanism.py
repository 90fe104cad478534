"""What SeCTAR's skills do at a CPU budget: the mechanism table (``sectar.json["mechanism"]``).

For each (task, variant, seed) this trains SeCTAR for ``--budget`` env steps and measures its
skills with :func:`zspace.rl.sectar.mechanism.measure_mechanism` every ``--measure-every``
iterations and after the last: how far one segment goes under random actions, the explorer, the
latent-conditioned policy (z ~ N(0, I)) and the state decoder's prediction; cosine(predicted,
executed); end error; the share of the executed ends' variance that z explains; KL. The planner
scores sparsely (``shaping="none"``, the authors'), as the headline rows. Variants are
``zspace.rl.sectar.config.PRESETS`` names: ``cpu`` (ours) and ``paper-small`` (the authors' algorithm,
schedule and KL 2, smaller networks and K).

Each finished run is merged into ``--json-out`` at once (``mechanism[env][variant]["runs"]``, one
per seed, with the command that made it; ``mean``/``std`` over the seeds there), keeping everything
else in the file. ``--state-dir`` keeps each run's training state (the same directory names as
``bench/sectar.py --state-dir``), so a killed run resumes and a finished one is only measured.

    python bench/sectar_mechanism.py --envs zspace/Waypoints-v0 --variants cpu --seeds 1 --json-out docs/benchmarks/sectar.json
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

FIELDS = ("random_m", "explorer_m", "policy_m", "decoded_m", "cosine", "end_error_m", "z_share", "kl_nats")


@dataclass
class Args:
    """Train SeCTAR briefly and measure what its skills do (see the module docstring)."""

    envs: str = "zspace/Waypoints-v0,zspace/Wheeled-v1,zspace/Blocks-v0"
    variants: str = "cpu,paper-small"
    seeds: int = 3
    first_seed: int = 0
    budget: int = 60_000  # env steps per run
    measure_every: int = 5  # iterations between measurements (and one after the last)
    model_init: str = ""  # SectarConfig.init instead of the preset's (an ablation; rows "<variant> init=<value>")
    state_dir: str = ""
    json_out: str | None = None
    quick: bool = False


def state_name(env_id: str, seed: int, preset: str, model_init: str = "") -> str:
    """The run's state directory name, as ``bench/sectar.py`` names it (layout uniform, sparse scoring)."""
    return f"{env_id.split('/')[-1]}_seed{seed}_layout=uniform_shaping=none_sectar={preset}" + (
        f"_init={model_init}" if model_init else ""
    )


def row_name(preset: str, model_init: str) -> str:
    """The variant's key in ``mechanism[env]``: the preset, and an init other than its own."""
    return preset + (f" init={model_init}" if model_init else "")


def run_one(env_id: str, preset: str, seed: int, args: Args) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from sectar_diagnosis import History

    from zspace.rl.sectar.config import PRESETS
    from zspace.rl.sectar.train import SectarTrainConfig, train_sectar

    config = replace(SectarTrainConfig.for_task(env_id, PRESETS[preset]), plan_shaping="none")
    if args.model_init:
        config = replace(config, model=replace(config.model, init=args.model_init))
    env_kwargs: dict[str, Any] = {"layout_seed": seed, "layout": "uniform"}
    if args.quick:
        config = replace(config, plan_episodes=2, n_candidates=16, plan_horizon=2, explore_starts=4, rounds=1,
                         vae_steps=2, consistency_rollouts=4, batch_size=16, explore_segments=2,
                         explorer=replace(config.explorer, ppo=replace(config.explorer.ppo, n_minibatches=2)))  # fmt: skip
        env_kwargs["max_episode_steps"] = 76  # 4 segments: the explorer's rollouts must fit in an episode
    state_dir = Path(args.state_dir) / state_name(env_id, seed, preset, args.model_init) if args.state_dir else None
    history = History(state_dir)
    _, curve = train_sectar(env_id, total_env_steps=args.budget, seed=seed, config=config, env_kwargs=env_kwargs,
                            state_dir=state_dir, measure_every=args.measure_every, log=history.log)  # fmt: skip
    return {
        "seed": seed, "budget": args.budget, "env_steps": curve.steps_taken, "iterations": curve.iterations,
        "wall_s": round(curve.wall_s, 1), "final": curve.mechanism[-1], "curve": curve.mechanism,
        "kl_curve": [[h["env_steps"], h.get("sectar/kl")] for h in history.rows],
    }  # fmt: skip


def merge(path: str, env_id: str, preset: str, run: dict[str, Any]) -> dict[str, Any]:
    """Put ``run`` into ``path``'s ``mechanism[env_id][preset]`` (replacing its seed) and recompute mean and std."""
    data = json.loads(Path(path).read_text()) if Path(path).is_file() else {}
    entry = data.setdefault("mechanism", {}).setdefault(env_id, {}).setdefault(preset, {"runs": []})
    entry["runs"] = sorted([r for r in entry["runs"] if r["seed"] != run["seed"]] + [run], key=lambda r: r["seed"])
    finals = np.array([[r["final"][f] for f in FIELDS] for r in entry["runs"]])
    entry["mean"] = dict(zip(FIELDS, np.round(finals.mean(0), 4).tolist(), strict=True))
    entry["std"] = dict(zip(FIELDS, np.round(finals.std(0), 4).tolist(), strict=True))
    entry["seeds"] = [r["seed"] for r in entry["runs"]]
    write_json(path, data, indent=1)
    return data


def print_table(mechanism: dict[str, Any]) -> None:
    print(f"\n{'env':<22}{'variant':<13}{'seeds':>6}" + "".join(f"{f:>12}" for f in FIELDS))
    for env_id, variants in mechanism.items():
        for preset, entry in [(k, v) for k, v in variants.items() if v.get("runs")]:
            cells = "".join(f"{entry['mean'][f]:>7.2f}+-{entry['std'][f]:<4.2f}" for f in FIELDS)
            print(f"{env_id:<22}{preset:<13}{len(entry['seeds']):>6}{cells}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(Args, argv)
    from zspace.rl.sectar.config import PRESETS

    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(PRESETS))
    if unknown:
        raise SystemExit(f"unknown --variants {unknown}; choose from {list(PRESETS)}")
    if args.quick:
        args.envs, args.seeds, args.budget, args.measure_every = "zspace/Waypoints-v0", 1, 1_000, 1
    command = command_line(__file__, argv)
    result: dict[str, Any] = {"mechanism": {}}
    for env_id in [e for e in args.envs.split(",") if e]:
        for preset in variants:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                tic = time.perf_counter()
                run = {**run_one(env_id, preset, seed, args), "command": command}
                name = row_name(preset, args.model_init)
                if args.json_out:
                    result = merge(args.json_out, env_id, name, run)
                else:
                    entry = result["mechanism"].setdefault(env_id, {}).setdefault(name, {"runs": []})
                    entry["runs"].append(run)
                print(f"done {env_id} {preset} seed {seed} in {time.perf_counter() - tic:.0f} s: {run['final']}",
                      file=sys.stderr, flush=True)  # fmt: skip
    if args.json_out:
        print_table(result["mechanism"])
    emit_json({"mechanism": result["mechanism"]})
    return result


if __name__ == "__main__":
    main()
