"""Why SeCTAR scores 0 on the authors' tasks: cheap measurements of the model on fixed data.

Each measurement isolates one link of the chain "data -> latent -> decoder -> planner -> policy":

- :func:`collect_segments`: segments of the kind the model trains on early: uniform random actions
  (the untrained explorer; the authors reset theirs below entropy 1.34 of ln 4 = 1.39 on
  Waypoints, so it stays near uniform), one random action per segment favoured as much as that
  entropy floor allows (the most structure the authors' explorer may have), or one random action
  held for the whole segment (the most "skill-like" data: what the latent could name cheaply);
- :func:`fit_on_segments`: the SeCTAR loss (:func:`~zspace.rl.sectar.model.sectar_loss`) on those
  segments for a number of minibatches at a given KL weight, the authors' optimiser;
- :func:`latent_report`: per-dimension KL, how many nats per step the latent buys the decoder,
  how far apart the decoder puts the ends of segments for different latents (what a planner can
  choose between), and the consistency error of the policy decoder (behaviour cloning only);
- :func:`planning_signal`: the share of the planner's K latent sequences that the decoder
  predicts to earn any task reward, next to the share of K random action sequences that earn
  any through the true dynamics (the oracle's search);
- :class:`History`: a training run's :data:`HISTORY` metrics at each iteration (KL, NLL, BC,
  consistency, explorer), recorded through ``train_sectar``'s ``log`` (``bench/sectar.py`` keeps
  them in ``sectar.json``, ``bench/sectar_mechanism.py`` its KL curve).

``python bench/sectar_diagnosis.py --help`` runs them and prints one JSON object.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch

import zspace.rl.envs  # noqa: F401 - registers the zspace/... ids
from zspace.core.io import atomic_write_json
from zspace.core.objectives import kl_from_posterior
from zspace.rl.model_based import MPCConfig, sample_actions
from zspace.rl.planner import score_states
from zspace.rl.sectar.config import ALIASES, PRESETS
from zspace.rl.sectar.model import SeCTAR, consistency_error, sectar_loss
from zspace.rl.segments import rollout_segments

__all__ = ["DATA_KINDS", "HISTORY", "History", "collect_segments", "favoured_probability", "fit_on_segments",
           "latent_report", "planning_signal"]  # fmt: skip

DATA_KINDS = ("random", "drift", "hold")
# The metrics of each training iteration the diagnosis reads (the last minibatch's / step's of the iteration).
HISTORY = ("sectar/kl", "sectar/nll_per_step", "sectar/bc", "consistency/error", "consistency/log_prob_per_step",
           "explore/neg_elbo_segment_end", "explore/neg_elbo_per_step", "explore/entropy", "explore/resets")  # fmt: skip


class History:
    """Each iteration's :data:`HISTORY` metrics (rounded to 5 decimals), after its env steps: ``train_sectar(log=history.log)``.

    With a ``state_dir`` (the run's, as ``train_sectar``'s) the rows are kept in ``state_dir/history.json``
    after every iteration, so a resumed run's history goes on from its earlier iterations. An iteration
    redone after a kill (logged, killed before its checkpoint) replaces its row.
    """

    def __init__(self, state_dir: str | Path | None = None) -> None:
        self.file = None if state_dir is None else Path(state_dir) / "history.json"
        self.rows: list[dict[str, float]] = json.loads(self.file.read_text()) if self.file and self.file.is_file() else []

    def log(self, env_steps: int, metrics: dict[str, float]) -> None:
        self.rows = [row for row in self.rows if row["env_steps"] < env_steps]
        self.rows.append({"env_steps": env_steps, **{k: round(v, 5) for k, v in metrics.items() if k in HISTORY}})
        if self.file is not None:
            atomic_write_json(self.file, self.rows)


def favoured_probability(n_actions: int, entropy: float) -> float:
    """p such that (p, (1 - p) / (n - 1), ...) over ``n_actions`` has ``entropy`` nats (p >= 1 / n), by bisection."""

    def h(p: float) -> float:
        q = (1 - p) / (n_actions - 1)
        return -(p * np.log(p) + (n_actions - 1) * q * np.log(q)) if q > 0 else 0.0

    low, high = 1.0 / n_actions, 1.0 - 1e-12
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if h(mid) > entropy else (low, mid)
    return (low + high) / 2


def collect_segments(
    env_id: str, rollouts: int, segments: int, *, kind: str, seed: int, entropy: float = 1.34, env_kwargs: dict | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``rollouts`` episodes from their random starts, ``segments`` consecutive segments each, random actions.

    ``kind``: "random", a fresh uniform action every step; "hold", one uniform action per segment
    held for its T steps; "drift" (Discrete only), one uniform action per segment taken with the
    probability that gives the policy ``entropy`` nats, the others uniform. Returns states
    ``(N, T+1, S)`` and actions ``(N, T, ...)``, N = rollouts x segments (a segment's last state is
    the next one's first).
    """
    if kind not in DATA_KINDS:
        raise ValueError(f"kind must be one of {DATA_KINDS}, got {kind!r}")
    envs = gymnasium.make_vec(env_id, num_envs=rollouts, autoreset_mode="Disabled", **(env_kwargs or {}))
    try:
        seg, space = envs.unwrapped.sim.config.segment_len, envs.single_action_space
        if kind == "drift" and not isinstance(space, gymnasium.spaces.Discrete):
            raise ValueError(f"kind='drift' needs a Discrete action space, {env_id} has {space}")
        generator = torch.Generator().manual_seed(seed)
        obs, _ = envs.reset(seed=seed)
        all_states, all_actions = [], []
        for _ in range(segments):
            states, actions = [torch.as_tensor(obs)], []
            held = sample_actions(space, (rollouts,), generator)
            if kind == "drift":
                n = int(space.n)
                p = favoured_probability(n, entropy)
                probs = torch.full((rollouts, n), (1 - p) / (n - 1)).scatter_(1, held[:, None], p)
            for _ in range(seg):
                if kind == "hold":
                    action = held
                elif kind == "drift":
                    action = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                else:
                    action = sample_actions(space, (rollouts,), generator)
                obs, *_ = envs.step(action.numpy())
                states.append(torch.as_tensor(obs)), actions.append(action)
            all_states.append(torch.stack(states, 1)), all_actions.append(torch.stack(actions, 1))
    finally:
        envs.close()
    return torch.cat(all_states), torch.cat(all_actions)


def fit_on_segments(
    model: SeCTAR, states: torch.Tensor, actions: torch.Tensor, *, kl_weight: float, steps: int, batch_size: int, seed: int
) -> dict[str, float]:
    """``steps`` Adam minibatches (lr 1e-3, eps 1e-5, the authors') of the SeCTAR loss at ``kl_weight``; the last one's terms."""
    config = dataclasses.replace(model.config, kl_weight=kl_weight)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-5)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    terms: dict[str, torch.Tensor] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the reparameterised samples
        for _ in range(steps):
            index = torch.randint(len(states), (batch_size,), generator=generator)
            loss, terms = sectar_loss(model, states[index], actions[index], config)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return {k: float(v) for k, v in terms.items()}


@torch.no_grad()
def latent_report(model: SeCTAR, states: torch.Tensor, env_id: str, *, samples: int = 32, seed: int = 0,
                  env_kwargs: dict | None = None) -> dict[str, Any]:  # fmt: skip
    """What the latent carries on held-out segments ``states (N, T+1, S)``; positions are ``[..., :2]``, metres.

    - ``kl_per_dim``: mean KL(q || N(0, I)) of each latent dim, nats, largest first;
    - ``nats_per_step_from_z``: decoder NLL per step at z = 0 minus at the posterior mean;
    - ``end_spread_m``: over ``samples`` z ~ N(0, I) from each start, the std of the predicted
      final position (root of the summed per-axis variances), mean over starts; ``data_end_spread_m``:
      the same of the data's final positions around their own mean displacement;
    - ``consistency_error_m``: the policy decoder run for z ~ N(0, I) from the starts, its mean
      distance to the decoder's prediction (:func:`~zspace.rl.sectar.model.consistency_error`);
      ``displacement_m``: how far those rollouts moved (mean distance from s_0), for scale.
    """
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    posterior = model.encode(states)
    kl = kl_from_posterior(posterior).mean(0).sort(descending=True).values
    s0, future = states[:, 0], states[:, 1:]
    zero = torch.zeros(len(states), model.config.z_size)
    steps = future.shape[1]
    nll_prior = -model.state_log_prob(s0, zero, future).mean() / steps
    nll_post = -model.state_log_prob(s0, posterior.mean, future).mean() / steps
    z = torch.randn(len(states), samples, model.config.z_size, generator=generator)
    ends = model.predict(s0.repeat_interleave(samples, 0), z.reshape(-1, z.shape[-1]))[:, -1, :2].reshape(len(states), samples, 2)
    displacement = future[:, -1, :2] - s0[:, :2]
    envs = gymnasium.make_vec(env_id, num_envs=len(states), autoreset_mode="Disabled", **(env_kwargs or {}))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the policy's sampled actions
            z1 = z[:, 0]
            roll = rollout_segments(envs, s0.numpy(), steps, lambda s: model.policy.distribution(*model.policy_inputs(s, z1)))
    finally:
        envs.close()
    reached = roll["states"][:, 1:]
    return {
        "kl_per_dim": [round(float(v), 4) for v in kl],
        "kl_total": float(kl.sum()),
        "nats_per_step_from_z": float(nll_prior - nll_post),
        "end_spread_m": float(ends.var(dim=1).sum(-1).sqrt().mean()),
        "data_end_spread_m": float(displacement.var(dim=0).sum().sqrt()),
        "consistency_error_m": float(consistency_error(model, s0, z1, reached).mean()),
        "displacement_m": float((reached[..., :2] - s0[:, None, :2]).norm(dim=-1).mean()),
    }


@torch.no_grad()
def planning_signal(model: SeCTAR | None, env_id: str, *, starts: int, candidates: int, horizon: int, seed: int,
                    env_kwargs: dict | None = None) -> dict[str, float]:  # fmt: skip
    """Share of plans predicted to earn any task reward at the first state of ``starts`` episodes (sparse scoring).

    ``model``: K = ``candidates`` sequences of ``horizon`` latents z ~ N(0, I) through the state
    decoder (the latent planner's search); None: K uniform action sequences of the state MPC's
    horizon (:meth:`MPCConfig.for_task`) through the true dynamics (the oracle's search).
    Returns ``share_nonzero`` (mean over starts) and ``best_mean`` (mean over starts of the best score).
    """
    env = gymnasium.make(env_id, include_stage=False, **(env_kwargs or {}))
    generator = torch.Generator().manual_seed(seed)
    shares, bests = [], []
    try:
        for episode in range(starts):
            obs, info = env.reset(seed=seed + episode)
            if model is None:
                mpc = MPCConfig.for_task(env_id)
                actions = sample_actions(env.action_space, (candidates, mpc.horizon), generator)
                states = env.unwrapped.sim.simulate(obs, actions.numpy())
            else:
                s = torch.as_tensor(obs, dtype=torch.float32).expand(candidates, -1)
                chunks = []
                for _ in range(horizon):
                    traj = model.predict(s, torch.randn(candidates, model.config.z_size, generator=generator))
                    chunks.append(traj)
                    s = traj[:, -1]
                states = torch.cat(chunks, 1).numpy()
            scores = score_states(env.unwrapped.progress, states, info["stage"], shaping="none")
            shares.append(float((scores > 0).mean()))
            bests.append(float(scores.max()))
    finally:
        env.close()
    return {"share_nonzero": float(np.mean(shares)), "best_mean": float(np.mean(bests))}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """KL weight x data kind on one task: fit the paper model, report the latent and the planning signal."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--env", default="zspace/Waypoints-v0")
    parser.add_argument("--kl-weights", default="0.02,0.2,2")
    parser.add_argument("--data", default="random,hold", help=f"comma-separated of {DATA_KINDS} (see collect_segments)")
    parser.add_argument("--entropy", type=float, default=1.34, help="nats of the drift data's policy (authors' reset_ent)")
    parser.add_argument("--preset", default="paper", choices=[*PRESETS, *ALIASES], help="the model of this SeCTAR preset")
    parser.add_argument("--steps", type=int, default=300, help="minibatches (the authors' iteration: 10 x 30)")
    parser.add_argument("--batch-size", type=int, default=300)
    parser.add_argument("--rollouts", type=int, default=400, help="episodes of data (the authors' explorer starts)")
    parser.add_argument("--segments", type=int, default=5, help="segments per rollout (the authors' Waypoints explorer)")
    parser.add_argument("--held-out", type=int, default=64)
    parser.add_argument("--candidates", type=int, default=2048)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--plan-starts", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--json-key", default=None, help='the entry of --json-out to replace (sectar.json: "diagnosis")')
    args = parser.parse_args(argv)
    env_kwargs = {"layout_seed": args.seed}
    torch.set_num_threads(1)
    result: dict[str, Any] = {"args": vars(args), "runs": []}
    result["oracle_signal"] = planning_signal(None, args.env, starts=args.plan_starts, candidates=args.candidates,
                                              horizon=args.horizon, seed=args.seed, env_kwargs=env_kwargs)  # fmt: skip
    for data in args.data.split(","):
        states, actions = collect_segments(args.env, args.rollouts + args.held_out, args.segments, kind=data, seed=args.seed,
                                           entropy=args.entropy, env_kwargs=env_kwargs)  # fmt: skip
        held = torch.arange(len(states)) % (args.rollouts + args.held_out) >= args.rollouts  # whole rollouts held out
        for kl_weight in [float(w) for w in args.kl_weights.split(",")]:
            tic = time.perf_counter()
            with gymnasium.make(args.env) as env:
                config = PRESETS[ALIASES.get(args.preset, args.preset)].model.for_env(env)
            torch.manual_seed(args.seed)
            model = SeCTAR(config)
            terms = fit_on_segments(model, states[~held], actions[~held], kl_weight=kl_weight, steps=args.steps,
                                    batch_size=args.batch_size, seed=args.seed)  # fmt: skip
            report = latent_report(model, states[held][: args.held_out], args.env, seed=args.seed, env_kwargs=env_kwargs)
            signal = planning_signal(model, args.env, starts=args.plan_starts, candidates=args.candidates,
                                     horizon=args.horizon, seed=args.seed, env_kwargs=env_kwargs)  # fmt: skip
            run = {"data": data, "kl_weight": kl_weight, "train": terms, **report, "signal": signal,
                   "wall_s": time.perf_counter() - tic}  # fmt: skip
            result["runs"].append(run)
            print(json.dumps(run), flush=True)
    if args.json_out:
        sys.path.insert(0, str(Path(__file__).resolve().parent))  # `_results` beside this file
        from _results import write_result

        write_result(args.json_out, result, args.json_key)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
