"""``zspace/Wheeled-v1``: the authors' MuJoCo car, its physics, the authors' reset semantics, and the task."""

from __future__ import annotations

import sys

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")
pytest.importorskip("mujoco")

from gymnasium.utils.env_checker import check_env

from zspace.rl import envs
from zspace.rl.envs.wheeled import WheeledConfig
from zspace.rl.envs.wheeled_mujoco import FRAME_SKIP, WheeledMujocoEnv, WheeledMujocoVec

ENV_ID = "zspace/Wheeled-v1"
CONFIG = WheeledConfig()


def heading(obs: np.ndarray) -> float:
    return float(np.arctan2(obs[3], obs[4]))


def steering_policy(obs: np.ndarray, info: dict) -> np.ndarray:
    """Turn towards the current waypoint and drive; actions in the authors' order (the wheel at y = -0.2 m first)."""
    delta = info["waypoints"][info["stage"]] - obs[:2]
    error = (np.arctan2(delta[1], delta[0]) - heading(obs) + np.pi) % (2 * np.pi) - np.pi
    forward, turn = max(np.cos(error), 0.0), np.clip(2.0 * error, -1.0, 1.0)
    return np.clip([forward + turn, forward - turn], -1.0, 1.0)


def drive(env, action, steps: int) -> np.ndarray:
    for _ in range(steps):
        obs = env.step(np.asarray(action, dtype=np.float64))[0]
    return obs


def test_checker_spaces_and_the_authors_step_of_three_hundredths_of_a_second():
    check_env(gymnasium.make(ENV_ID).unwrapped)
    env = gymnasium.make(ENV_ID, include_stage=True)
    obs, info = env.reset(seed=0)
    assert obs.shape == (12,) and info["waypoints"].shape == (50, 2) and env.unwrapped.max_episode_steps == 50 * 19
    sim = env.unwrapped.sim
    assert sim.model.opt.timestep * FRAME_SKIP == pytest.approx(CONFIG.dt)
    assert sim.model.body_mass.sum() == pytest.approx(14.0) and not sim.model.actuator_ctrllimited.any()
    assert sim.model.actuator_ctrlrange.tolist() == [[-20.0, 20.0], [-20.0, 20.0]]


def test_full_commands_drive_at_wheel_radius_times_twenty_and_spin_clockwise_when_the_right_wheel_reverses():
    env = WheeledMujocoEnv()
    env.reset(seed=0)
    obs = drive(env, [1.0, 1.0], 20)
    assert obs[5] == pytest.approx(CONFIG.max_speed, rel=0.05) and abs(obs[6]) < 0.1  # 2 m/s along +x
    assert 0.6 < obs[0] < 1.3 and abs(heading(obs)) < 0.1
    env.reset(seed=0)
    obs = drive(env, [-1.0, 1.0], 30)  # the wheel at y = -0.2 m (right) backwards, the left forwards
    assert obs[8] == pytest.approx(-CONFIG.max_yaw_rate, rel=0.15) and np.hypot(*obs[:2]) < 0.1


def test_commands_beyond_the_range_are_not_clipped_as_in_the_authors_mujoco():
    env = WheeledMujocoEnv()
    env.reset(seed=0)
    full = drive(env, [1.0, 1.0], 20)[5]
    env.reset(seed=0)
    double = drive(env, [2.0, 2.0], 20)[5]
    assert env.sim.data[0].ctrl.tolist() == [40.0, 40.0]  # rad/s, twice the ctrlrange
    assert double > 1.15 * full  # still accelerating (traction-limited) past where a clipped command settles


def test_the_walls_stop_the_car_inside_the_arena():
    env = WheeledMujocoEnv()
    env.reset(seed=0)
    obs = drive(env, [1.0, 1.0], 150)
    assert 1.6 < obs[0] < 1.9 - 0.1 and abs(obs[5]) < 0.05  # the wall's inner face at 1.9 m, the body 0.15 m long


def test_episodes_start_near_the_origin_with_rllab_reset_noise_seeded_by_the_episode():
    first = [WheeledMujocoEnv().reset(seed=s)[0] for s in (0, 0, 1)]
    np.testing.assert_array_equal(first[0], first[1])
    assert not np.array_equal(first[0], first[2])
    assert np.abs(first[0][:2]).max() < 0.05 and 0 < np.abs(first[0][5:9]).max() < 0.5  # N(0, 0.01) pose, N(0, 0.1) speeds


def test_reset_from_a_visited_state_restores_pose_and_velocities_and_stops_the_wheels():
    env = WheeledMujocoEnv()
    env.reset(seed=0)
    visited = drive(env, [1.0, 0.4], 15)
    restored, _ = env.reset(seed=5, options={"state": visited})
    np.testing.assert_allclose(restored, visited, atol=1e-6)
    assert np.all(env.sim.data[0].qvel[4:] == 0.0)  # the authors' reset_args zero the wheels' spin
    simulated = env.sim.simulate(visited, np.full((1, 4, 2), 0.7))[0]
    np.testing.assert_allclose(simulated, [env.step(np.full(2, 0.7))[0] for _ in range(4)], atol=1e-6)


def test_vector_env_equals_single_envs_step_by_step():
    n, config = 3, WheeledConfig(n_segments=1, segment_len=13)
    vec = WheeledMujocoVec(num_envs=n, config=config)
    singles = [WheeledMujocoEnv(config=config) for _ in range(n)]
    obs, _ = vec.reset(seed=7)
    np.testing.assert_array_equal(obs, [env.reset(seed=7 + i)[0] for i, env in enumerate(singles)])
    actions = np.random.default_rng(0).uniform(-1, 1, (5, n, 2))
    for step in actions:
        obs = vec.step(step)[0]
        np.testing.assert_array_equal(obs, [env.step(a)[0] for env, a in zip(singles, step, strict=True)])


def test_a_steering_controller_completes_the_walk_course():
    env = WheeledMujocoEnv(layout="walk")
    obs, info = env.reset(seed=1)
    total = 0.0
    for _ in range(env.max_episode_steps):
        obs, reward, terminated, truncated, info = env.step(steering_policy(obs, info))
        total += reward
        if terminated or truncated:
            break
    assert info["is_success"] and total == 4


def test_missing_mujoco_names_the_extra_and_the_numpy_model(monkeypatch):
    monkeypatch.setitem(sys.modules, "mujoco", None)  # import fails
    with pytest.raises(envs.MissingDependencyError, match=r"zspace\[rl\].*Wheeled-v0"):
        WheeledMujocoEnv()


def test_render_draws_the_car():
    env = gymnasium.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    before = env.render()
    drive(env.unwrapped, [1.0, 1.0], 20)
    assert before.shape == (256, 256, 3) and not np.array_equal(before, env.render())


def test_sectar_trains_on_the_mujoco_car_with_the_authors_wheeled_settings():
    from tests.rl.test_sectar_train import TINY

    from zspace.rl.sectar.config import SectarTrainConfig
    from zspace.rl.sectar.train import train_sectar

    paper = SectarTrainConfig.for_task(ENV_ID)
    assert paper == SectarTrainConfig.for_task("zspace/Wheeled-v0") != SectarTrainConfig()  # the same action units
    assert paper.model.policy_init_std == pytest.approx(1 / 20)  # the authors' 1 rad/s
    kwargs = {"config": WheeledConfig(segment_len=4, n_segments=3)}
    _, curve = train_sectar(ENV_ID, total_env_steps=120, seed=0, config=TINY, env_kwargs=kwargs)
    assert 60 < curve.env_steps[-1] <= 120 and np.all(np.isfinite(curve.returns))
