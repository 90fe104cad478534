"""The upper bound: random-shooting MPC through the *true* dynamics (no learning, no model error).

The state-space MPC baseline (:mod:`zspace.rl.model_based`) with its learned model replaced by
the environment's own dynamics (:meth:`zspace.rl.envs.base.BatchedSim.simulate`): the same K
uniform action sequences, horizon, replanning every ``plan_every`` steps and scorer (by default
the authors' sparse task reward, undiscounted). What it earns is what that search can earn on the
task at all; a learned model can only lose from there. It costs no training, so it runs a fixed
number of episodes; every executed step still counts on the curve's env-step axis.
"""

from __future__ import annotations

import gymnasium

import zspace.rl.envs  # noqa: F401 - registers the zspace/... ids
from zspace.errors import ConfigError
from zspace.rl.model_based import MPCConfig, Simulate, mpc_episodes
from zspace.rl.results import LearningCurve

__all__ = ["oracle_mpc"]


def oracle_mpc(
    env_id: str,
    *,
    episodes: int,
    seed: int = 0,
    config: MPCConfig | None = None,
    env_kwargs: dict | None = None,
) -> LearningCurve:
    """Run ``episodes`` episodes of random-shooting MPC through ``env_id``'s true dynamics.

    Episode e resets with seed ``seed + e`` on ``gymnasium.make(env_id, include_stage=False,
    **env_kwargs)`` (pass ``layout_seed`` for one fixed layout). ``config`` defaults to the authors'
    state-MPC planner for the task (:meth:`MPCConfig.for_task`); only its planning fields are used.

    Returns:
        The curve (method ``"oracle"``): each episode's return and success against the env steps
        so far; ``extra["plan_s"]`` is the mean wall seconds per plan.
    """

    def true_dynamics(env: gymnasium.Env) -> Simulate:
        sim = getattr(env.unwrapped, "sim", None)
        if not hasattr(sim, "simulate"):
            raise ConfigError(f"oracle_mpc needs an environment that exposes its dynamics (sim.simulate); {env_id} does not")
        return lambda state, actions: sim.simulate(state, actions.numpy())

    return mpc_episodes(env_id, true_dynamics, episodes=episodes, seed=seed, config=config, env_kwargs=env_kwargs,
                        method="oracle")  # fmt: skip
