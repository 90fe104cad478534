"""The true-dynamics oracle: ``sim.simulate`` reproduces the environment step for step, and the
oracle planner runs, reproduces and, given a pull towards the target, reaches waypoints; the
state-MPC defaults are the authors' per-task configuration."""

from __future__ import annotations

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from zspace.errors import ConfigError
from zspace.rl.model_based import MPCConfig
from zspace.rl.oracle import oracle_mpc

NUMPY_IDS = ("zspace/Waypoints-v0", "zspace/Wheeled-v0", "zspace/Blocks-v0")


@pytest.mark.parametrize("env_id", NUMPY_IDS)
def test_simulate_reproduces_the_environment_and_leaves_it_untouched(env_id):
    env = gymnasium.make(env_id)
    obs, _ = env.reset(seed=3)
    env.action_space.seed(0)
    actions = np.stack([[env.action_space.sample() for _ in range(25)] for _ in range(3)])  # (K=3, L=25, ...)
    predicted = env.unwrapped.sim.simulate(obs, actions)
    assert predicted.shape == (3, 25, obs.shape[0])
    np.testing.assert_array_equal(env.unwrapped.sim.observe()[0], obs)  # the env itself did not move
    for k in range(3):
        replay = gymnasium.make(env_id)
        replay.reset(seed=3)
        stepped = np.stack([replay.step(a)[0] for a in actions[k]])
        np.testing.assert_allclose(predicted[k], stepped, rtol=1e-6, atol=1e-6)


def test_mpc_defaults_are_the_authors_per_task():
    default = MPCConfig()
    assert (default.n_paths, default.plan_every, default.episodes_per_iter, default.epochs) == (2048, 19, 100, 60)
    assert default.hidden == (200, 200, 200) and default.shaping == "none" and default.discount == 1.0
    assert MPCConfig.for_task("zspace/Waypoints-v0").horizon == 190
    wheeled = MPCConfig.for_task("zspace/Wheeled-v0")
    assert (wheeled.horizon, wheeled.random_episodes) == (380, 100)
    assert MPCConfig.for_task("zspace/Blocks-v0", n_paths=8).horizon == 95


def test_oracle_runs_reproduces_and_reaches_waypoints_with_a_pull():
    config = MPCConfig(n_paths=64, horizon=19, plan_every=19, shaping="distance")
    kwargs = {"layout": "walk", "max_episode_steps": 76, "layout_seed": 0}
    curve = oracle_mpc("zspace/Waypoints-v0", episodes=2, seed=1, config=config, env_kwargs=kwargs)
    assert curve.method == "oracle" and curve.env_steps == [76, 152]
    again = oracle_mpc("zspace/Waypoints-v0", episodes=2, seed=1, config=config, env_kwargs=kwargs)
    assert again.returns == curve.returns
    # the walk layout's waypoints are ~1 m apart: 76 steps of planned moves reach several, paid every third
    assert max(curve.returns) >= 1.0
    with pytest.raises(ConfigError, match="episodes"):
        oracle_mpc("zspace/Waypoints-v0", episodes=0)


def test_swimmer_v1_gets_the_authors_planner_and_schedule():
    from zspace.rl.sectar.config import SectarTrainConfig

    mpc = MPCConfig.for_task("zspace/SwimmerWaypoints-v1")
    assert (mpc.n_paths, mpc.horizon, mpc.plan_every, mpc.episodes_per_iter) == (4000, 2970, 99, 20)
    sectar = SectarTrainConfig.for_task("zspace/SwimmerWaypoints-v1")
    assert (sectar.plan_episodes, sectar.plan_horizon, sectar.explore_starts, sectar.explore_segments) == (20, 30, 200, 2)
