"""The SeCTAR environments: registration, API conformance, dynamics, sparse ordered rewards,
single vs vectorised equivalence, the planner's progress functions and rendering."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env

from zspace.errors import ConfigError
from zspace.rl import envs
from zspace.rl.envs import (
    BlocksConfig,
    BlocksEnv,
    BlocksVec,
    WaypointsConfig,
    WaypointsEnv,
    WaypointsVec,
    WheeledConfig,
    WheeledEnv,
    WheeledVec,
    blocks_distance,
    blocks_progress,
    waypoint_distance,
    waypoint_progress,
)

NUMPY_IDS = ("zspace/Waypoints-v0", "zspace/Wheeled-v0", "zspace/Blocks-v0")
GRASP, DROP = 4, 5


# --- scripted controllers ---------------------------------------------------------------------
def toward(delta: np.ndarray) -> int:
    """The move (0 +x, 1 +y, 2 -x, 3 -y) that shrinks the larger coordinate of ``delta``."""
    if abs(delta[0]) >= abs(delta[1]):
        return 0 if delta[0] > 0 else 2
    return 1 if delta[1] > 0 else 3


def waypoints_policy(obs: np.ndarray, info: dict) -> int:
    return toward(info["waypoints"][info["stage"]] - obs[:2])


def wheeled_policy(obs: np.ndarray, info: dict) -> np.ndarray:
    delta = info["waypoints"][info["stage"]] - obs[:2]
    error = (np.arctan2(delta[1], delta[0]) - np.arctan2(obs[2], obs[3]) + np.pi) % (2 * np.pi) - np.pi
    forward, turn = max(np.cos(error), 0.0), np.clip(2.0 * error, -1.0, 1.0)
    return np.clip([forward - turn, forward + turn], -1.0, 1.0)


def blocks_policy(obs: np.ndarray, info: dict) -> int:
    k, held = info["stage"], info["held"]
    target = obs[2 + 2 * k : 4 + 2 * k]
    if held not in (-1, k):
        return DROP
    if held == -1:
        delta = target - obs[:2]
        return GRASP if np.hypot(*delta) < 0.15 else toward(delta)
    delta = info["goals"][k] - target
    return DROP if np.hypot(*delta) < 0.15 else toward(delta)


POLICIES = {WaypointsEnv: waypoints_policy, WheeledEnv: wheeled_policy, BlocksEnv: blocks_policy}


def run_episode(env, policy, seed: int):
    """Roll ``policy`` until the episode ends; return observations ``(T+1, D)``, rewards and infos."""
    obs, info = env.reset(seed=seed)
    observations, rewards, infos = [obs], [], [info]
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs, info))
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        if terminated or truncated:
            return np.array(observations), np.array(rewards), infos


# --- registration -----------------------------------------------------------------------------
def test_importing_zspace_registers_nothing():
    code = "import zspace, gymnasium; assert not [k for k in gymnasium.registry if k.startswith('zspace/')]"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ids_are_registered_idempotently_with_vector_entry_points():
    mujoco_ids = {"zspace/Wheeled-v1", "zspace/SwimmerWaypoints-v0", "zspace/SwimmerWaypoints-v1"}
    assert set(envs.ENV_IDS) == {*NUMPY_IDS, *mujoco_ids}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        envs.register_envs()  # a second registration must not warn about overriding
    for env_id, single, vec in zip(NUMPY_IDS, (WaypointsEnv, WheeledEnv, BlocksEnv), (WaypointsVec, WheeledVec, BlocksVec)):
        assert isinstance(gymnasium.make(env_id).unwrapped, single)
        vector = gymnasium.make_vec(env_id, num_envs=3)
        assert isinstance(vector, vec) and vector.reset(seed=0)[0].shape == (3, *vector.single_observation_space.shape)


@pytest.mark.filterwarnings("ignore:.*Wheeled-v0 is out of date")  # gymnasium's note that Wheeled-v1 exists
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("include_stage", [False, True])
@pytest.mark.parametrize("env_id", NUMPY_IDS)
def test_gymnasium_env_checker_passes(env_id, include_stage):
    check_env(gymnasium.make(env_id, include_stage=include_stage).unwrapped)


# --- determinism and layouts ------------------------------------------------------------------
@pytest.mark.parametrize("env_id", NUMPY_IDS)
def test_same_seed_same_episode_other_seed_other_layout(env_id):
    def rollout(seed):
        env = gymnasium.make(env_id)
        env.action_space.seed(7)
        obs, info = env.reset(seed=seed)
        steps = [obs] + [np.append(env.step(env.action_space.sample())[0], 0) for _ in range(60)]
        return info[env.unwrapped.sim.layout_key], np.concatenate(steps)

    layout_a, steps_a = rollout(3)
    layout_b, steps_b = rollout(3)
    np.testing.assert_array_equal(layout_a, layout_b)
    np.testing.assert_array_equal(steps_a, steps_b)
    assert not np.allclose(layout_a, rollout(4)[0])


def test_layout_seed_fixes_the_layout_of_every_episode():
    env = WaypointsEnv(layout_seed=11)
    first = env.reset(seed=0)[1]["waypoints"]
    np.testing.assert_array_equal(first, env.reset()[1]["waypoints"])
    np.testing.assert_array_equal(first, env.reset(seed=5)[1]["waypoints"])
    assert not np.allclose(first, WaypointsEnv().reset(seed=0)[1]["waypoints"])


def test_default_layouts_are_the_authors_uniform_ones_and_walk_is_an_option():
    assert WaypointsConfig().layout == WheeledConfig().layout == BlocksConfig().layout == "uniform"
    assert WheeledConfig().n_waypoints == 50 and WheeledConfig.for_layout("walk").n_waypoints == 12
    assert BlocksConfig().goal_radius == 0.8 and BlocksConfig.for_layout("walk").goal_radius == 0.5
    starts = []
    for seed in range(40):
        obs, info = WaypointsEnv().reset(seed=seed)
        starts.append(obs[:2])
        assert np.all(np.abs(info["waypoints"]) <= 2.8)
    starts = np.array(starts)
    assert np.abs(starts).max() > 1.0 and np.all(np.abs(starts) <= 2.8)  # a random start, not the origin
    spacing = np.linalg.norm(np.diff(WaypointsEnv().reset(seed=0)[1]["waypoints"], axis=0), axis=1)
    assert 2.0 < spacing.mean() < 3.3  # i.i.d. uniform in 5.6 m x 5.6 m: ~2.9 m (the authors' files: 2.6 m)
    walk = np.linalg.norm(np.diff(WaypointsEnv(layout="walk").reset(seed=0)[1]["waypoints"], axis=0), axis=1)
    assert np.all((walk >= 0.8 - 1e-9) & (walk <= 1.4 + 1e-9))
    np.testing.assert_array_equal(WaypointsEnv(layout="walk").reset(seed=3)[0], [0.0, 0.0])
    blocks = [BlocksEnv().reset(seed=seed)[0][:2] for seed in range(10)]
    assert len({tuple(b) for b in blocks}) == 10  # the gripper starts anywhere


def test_layout_seed_fixes_the_random_start_too():
    env = WaypointsEnv(layout_seed=4)
    first = env.reset(seed=0)[0]
    np.testing.assert_array_equal(first, env.reset(seed=9)[0])


def test_greedy_walker_cannot_finish_the_authors_layout_in_one_episode():
    _, rewards, infos = run_episode(WaypointsEnv(), waypoints_policy, seed=0)
    assert len(rewards) == 380 and not infos[-1]["is_success"]  # truncated: the waypoints are ~2.9 m apart
    assert 0 < rewards.sum() < 16


def test_bad_layout_and_config_with_layout_are_config_errors():
    with pytest.raises(ConfigError, match="layout must be one of"):
        WaypointsConfig(layout="spiral")
    with pytest.raises(ConfigError, match="layout must be one of"):
        gymnasium.make("zspace/Blocks-v0", layout="grid")
    with pytest.raises(ConfigError, match="either config or layout"):
        WheeledEnv(config=WheeledConfig(), layout="walk")


# --- sparse, ordered rewards ------------------------------------------------------------------
def test_greedy_walker_is_paid_exactly_every_third_waypoint():
    observations, rewards, infos = run_episode(WaypointsEnv(layout="walk", include_stage=True), waypoints_policy, seed=0)
    stages = np.array([info["stage"] for info in infos])
    assert np.all(np.diff(stages) >= 0) and np.all(np.diff(stages) <= 1)  # at most one waypoint per step
    for t in range(1, len(infos)):
        assert rewards[:t].sum() == stages[t] // 3  # floor(k / 3) after k waypoints
    assert stages[-1] == 50 and rewards.sum() == 16 and infos[-1]["is_success"]
    assert len(rewards) < 380  # terminated on success, not truncated
    assert infos[-1]["waypoints_reached"] == 50
    t = 10  # the baselines' features: normalised stage and the current waypoint
    np.testing.assert_allclose(observations[t, 2:], [stages[t] / 50, *infos[t]["waypoints"][stages[t]]], rtol=1e-6)


def test_wheeled_steering_controller_completes_the_course():
    _, rewards, infos = run_episode(WheeledEnv(layout="walk"), wheeled_policy, seed=1)
    assert infos[-1]["is_success"] and rewards.sum() == 4 and len(rewards) < 950


def test_blocks_scripted_agent_places_all_four_in_order():
    _, rewards, infos = run_episode(BlocksEnv(layout="walk"), blocks_policy, seed=2)
    assert infos[-1]["is_success"] and infos[-1]["objects_placed"] == 4
    assert rewards.sum() == 4 and set(rewards) <= {0.0, 1.0}
    placed_at = np.flatnonzero(rewards)
    assert [infos[t + 1]["stage"] for t in placed_at] == [1, 2, 3, 4]


def test_blocks_objects_only_count_in_order():
    env = BlocksEnv()
    obs, info = env.reset(seed=3)
    goals = info["goals"]
    state = obs.copy()
    state[4:6] = goals[1]  # object 1 already on its goal, object 0 still at its start
    obs, _ = env.reset(seed=3, options={"state": state})
    assert env.step(DROP)[1] == 0.0 and env.unwrapped.sim.stage[0] == 0  # not its turn: no reward
    state[2:4] = goals[0]
    env.reset(seed=3, options={"state": state})
    assert env.step(DROP)[1:2] == (1.0,)  # object 0 placed ...
    _, reward, _, _, info = env.step(DROP)
    assert reward == 1.0 and info["stage"] == 2  # ... then object 1 counts, one per step


def test_blocks_grasp_picks_the_nearest_in_reach_carries_and_drops():
    env = BlocksEnv()
    obs, _ = env.reset(seed=0)
    state = obs.copy()
    state[:2] = 0.0
    state[2:10] = [0.3, 0.0, -0.35, 0.0, 2.0, 2.0, -2.0, -2.0]  # objects 0 and 1 in reach, 0 nearer
    env.reset(seed=0, options={"state": state})
    obs, *_, info = env.step(GRASP)
    assert info["held"] == 0 and obs[10:14].tolist() == [1, 0, 0, 0]
    assert env.step(GRASP)[4]["held"] == 0  # grasping while holding changes nothing
    obs, *_ = env.step(1)  # up: the held object keeps its offset
    np.testing.assert_allclose(obs[:4], [0.0, 0.2, 0.3, 0.2], atol=1e-6)
    np.testing.assert_allclose(obs[4:6], [-0.35, 0.0], atol=1e-6)  # the other object stays
    assert env.step(DROP)[4]["held"] == -1
    obs, *_ = env.step(0)
    np.testing.assert_allclose(obs[:4], [0.2, 0.2, 0.3, 0.2], atol=1e-6)  # released where dropped
    for _ in range(5):
        env.step(1)  # far from every object
    assert env.step(GRASP)[4]["held"] == -1


# --- dynamics -----------------------------------------------------------------------------------
def test_waypoints_moves_and_clipping_to_the_box():
    env = WaypointsEnv(layout="walk")  # starts at the origin
    env.reset(seed=0)
    obs = [env.step(a)[0] for a in (0, 1, 2, 3, 3)][-1]
    np.testing.assert_allclose(obs, [0.0, -0.2], atol=1e-6)
    for _ in range(30):
        obs = env.step(0)[0]
        assert obs[0] <= 2.8
    np.testing.assert_allclose(obs, [2.8, -0.2], atol=1e-6)


def test_wheeled_kinematics_straight_and_turning_in_place():
    config = WheeledConfig()
    env = WheeledEnv(config=config)
    env.reset(seed=0)
    for _ in range(25):  # 1.2 m: short of the wall
        obs = env.step(np.array([1.0, 1.0]))[0]
    assert obs[1] == 0.0 and obs[2] == 0.0 and obs[3] == 1.0  # straight along +x
    np.testing.assert_allclose(obs[4:6], [config.max_speed, 0.0], rtol=1e-3)  # the servos have settled
    env.reset(seed=0)
    obs = env.step(np.array([-1.0, 1.0]))[0]  # spin counter-clockwise in place
    assert np.all(obs[:2] == 0.0)
    omega = config.dt / config.servo_time_constant * config.max_yaw_rate  # first servo step
    np.testing.assert_allclose([obs[6], np.arctan2(obs[2], obs[3])], [omega, omega * config.dt], rtol=1e-5)


def test_wheeled_wall_clips_position_and_zeroes_the_velocity_into_it():
    env = WheeledEnv()
    obs, _ = env.reset(seed=0)
    start = obs.copy()
    start[:4] = [1.9, 0.0, np.sin(np.pi / 4), np.cos(np.pi / 4)]  # heading north-east towards x = 2
    env.reset(seed=0, options={"state": start})
    for _ in range(40):
        obs = env.step(np.array([1.0, 1.0]))[0]
    assert obs[0] == pytest.approx(2.0) and obs[4] == 0.0  # on the wall, no velocity into it
    assert obs[5] > 0.5 and obs[7] > 1.0 and obs[8] > 1.0  # sliding along it, wheels still driving


# --- vectorised == single, episode length -----------------------------------------------------
SHORT = {
    WaypointsVec: (WaypointsEnv, WaypointsConfig(n_segments=1, segment_len=11)),
    WheeledVec: (WheeledEnv, WheeledConfig(n_segments=1, segment_len=13)),
    BlocksVec: (BlocksEnv, BlocksConfig(n_segments=1, segment_len=9)),
}


@pytest.mark.parametrize("vec_cls", list(SHORT))
def test_vector_env_equals_single_envs_step_by_step(vec_cls):
    single_cls, config = SHORT[vec_cls]
    n = 3
    vec = vec_cls(n, config=config, include_stage=True)
    singles = [single_cls(config=config, include_stage=True) for _ in range(n)]
    obs, info = vec.reset(seed=10)
    expected = [env.reset(seed=10 + i) for i, env in enumerate(singles)]
    np.testing.assert_array_equal(obs, np.stack([o for o, _ in expected]))
    vec.action_space.seed(0)
    done = np.zeros(n, dtype=bool)
    for _ in range(40):  # several autoresets
        actions = vec.action_space.sample()
        obs, reward, terminated, truncated, info = vec.step(actions)
        for i, env in enumerate(singles):
            if done[i]:  # next-step autoreset: this step is the reset
                o, inf = env.reset()
                r, te, tr = 0.0, False, False
            else:
                o, r, te, tr, inf = env.step(actions[i])
            np.testing.assert_array_equal(obs[i], o)
            assert (reward[i], terminated[i], truncated[i], info["stage"][i]) == (r, te, tr, inf["stage"])
        done = terminated | truncated


def test_vector_autoreset_modes_same_step_and_disabled():
    config = WaypointsConfig(layout="walk", n_segments=1, segment_len=5)  # starts at the origin
    vec = WaypointsVec(2, config=config, autoreset_mode="SameStep")
    vec.reset(seed=0)
    for _ in range(4):
        vec.step(np.array([0, 1]))
    obs, _, _, truncated, info = vec.step(np.array([0, 1]))
    assert truncated.all() and info["_final_obs"].all()
    np.testing.assert_allclose(info["final_obs"], [[1.0, 0.0], [0.0, 1.0]], atol=1e-6)
    np.testing.assert_array_equal(obs, np.zeros((2, 2)))  # already reset
    vec = WaypointsVec(2, config=config, autoreset_mode="Disabled")
    vec.reset(seed=0)
    for _ in range(5):
        obs = vec.step(np.array([0, 1]))[0]
    obs, _ = vec.reset(options={"reset_mask": np.array([True, False])})
    np.testing.assert_allclose(obs, [[0.0, 0.0], [0.0, 1.0]], atol=1e-6)


def test_episodes_truncate_at_380_steps_and_make_can_shorten_them():
    env = gymnasium.make("zspace/Waypoints-v0", layout="walk")
    assert env.unwrapped.max_episode_steps == 380 == 20 * 19
    env.reset(seed=0)
    for t in range(1, 381):
        _, reward, terminated, truncated, _ = env.step(t % 2 * 2)  # dither at the origin: no waypoint
        assert truncated == (t == 380) and not terminated and reward == 0.0
    short = gymnasium.make("zspace/Blocks-v0", max_episode_steps=25)
    short.reset(seed=0)
    assert [short.step(DROP)[3] for _ in range(25)] == [False] * 24 + [True]
    assert WheeledEnv().max_episode_steps == 950 and BlocksVec(2).max_episode_steps == 950


# --- the planner's progress functions -----------------------------------------------------------
def test_waypoint_progress_hand_cases():
    waypoints = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    path = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [2.0, 0.25], [2.5, 0.0], [3.0, 0.0]]])  # (1, T, 2)
    reward, stage = waypoint_progress(path, waypoints, 0, radius=0.5)
    assert reward.tolist() == [1.0] and stage.tolist() == [3]
    assert waypoint_progress(path[:, :5], waypoints, 0, radius=0.5)[1].tolist() == [2]  # 0.5 away: not strictly within
    reward, _ = waypoint_progress(path, waypoints, 0, radius=0.5, discount=0.5)
    assert reward.tolist() == [0.5**5]  # the third waypoint is reached at step index 5
    reward, stage = waypoint_progress(np.repeat(path, 3, axis=0), waypoints, np.array([3, 2, 1]), radius=0.5)
    assert reward.tolist() == [0.0, 1.0, 1.0] and stage.tolist() == [3, 3, 3]  # one row per start stage
    close = np.array([[1.0, 0.0], [1.25, 0.0], [9.0, 9.0]])
    stay = np.array([[1.0, 0.0], [1.0, 0.0]])  # (T, 2), no batch dimension
    assert [int(waypoint_progress(stay[:t], close, 0, radius=0.5)[1]) for t in (1, 2)] == [1, 2]  # one per step
    with pytest.raises(ValueError, match="stage"):
        waypoint_progress(path, waypoints, 4, radius=0.5)


def test_blocks_progress_hand_case():
    goals = np.array([[1.0, 1.0], [-1.0, -1.0]])
    states = np.zeros((2, 6))  # gripper, 2 objects, 2 held flags
    states[0, 2:6] = [0.0, 0.0, -1.0, -1.0]  # object 1 placed first: no credit yet
    states[1, 2:6] = [1.0, 1.0, -1.0, -1.0]
    reward, stage = blocks_progress(states, goals, 0, radius=0.5, objects=slice(2, 6))
    assert reward == 1.0 and stage == 1  # object 0 at step 1; object 1 would count on a later step
    assert blocks_progress(states[1:], goals, 1, radius=0.5, objects=slice(2, 6))[0] == 1.0


def test_waypoint_distance_hand_cases():
    waypoints = np.array([[3.0, 4.0], [0.0, 1.0]])
    states = np.array([[0.0, 0.0, 9.0], [0.0, 0.0, 9.0], [5.0, 5.0, 9.0]])  # (K, S); the position is [0:2]
    np.testing.assert_allclose(waypoint_distance(states, waypoints, np.array([0, 1, 2])), [5.0, 1.0, 0.0])  # 0: done
    assert waypoint_distance(states[0], waypoints, 1) == pytest.approx(1.0)  # one state, scalar stage
    with pytest.raises(ValueError, match="stage"):
        waypoint_distance(states, waypoints, 3)


def test_blocks_distance_is_reach_plus_carry_of_the_current_object():
    goals = np.array([[1.0, 1.0], [-1.0, -1.0]])
    state = np.array([0.0, 0.0, 0.0, 3.0, -1.0, 2.0, 0.0, 0.0])  # gripper (0,0), objects (0,3) and (-1,2)
    np.testing.assert_allclose(
        blocks_distance(np.stack([state] * 3), goals, np.array([0, 1, 2]), objects=slice(2, 6)),
        [3.0 + np.hypot(1.0, 2.0), np.hypot(1.0, 2.0) + 3.0, 0.0],
    )
    carried = state.copy()
    carried[0:4] = [1.0, 1.2, 1.0, 1.0]  # object 0 held on its goal: only the 0.2 m grip offset is left
    assert blocks_distance(carried, goals, 0, objects=slice(2, 6)) == pytest.approx(0.2)


@pytest.mark.parametrize("single_cls", list(POLICIES))
def test_distance_to_go_falls_to_zero_along_a_scripted_solution(single_cls):
    env = single_cls(include_stage=True)
    observations, _, infos = run_episode(env, POLICIES[single_cls], seed=4)
    base = env.unwrapped.sim.base_dim
    states, stages = observations[:, :base], np.array([info["stage"] for info in infos])  # (T+1, S), (T+1,)
    distance = env.unwrapped.distance_to_go(states, stages)
    assert distance.shape == (len(states),) and np.all(distance >= 0) and distance[0] > 0
    assert env.unwrapped.distance_to_go(states[0], 0) == distance[0]
    done = np.flatnonzero(np.diff(stages) > 0) + 1  # steps that completed a target
    assert len(done) > 0
    before = env.unwrapped.distance_to_go(states[done], stages[done - 1])  # judged against the target just completed
    c = env.unwrapped.sim.config
    within = c.goal_radius + c.grasp_radius if single_cls is BlocksEnv else c.radius  # Blocks: carry + reach
    assert np.all(before < within)
    if stages[-1] == env.unwrapped.sim.n_stages:
        assert distance[-1] == 0.0


@pytest.mark.parametrize("single_cls", list(POLICIES))
def test_progress_function_agrees_with_the_env_on_a_recorded_trajectory(single_cls):
    env = single_cls(include_stage=True)
    observations, rewards, infos = run_episode(env, POLICIES[single_cls], seed=4)
    states = observations[1:]  # (T, D) the states after each step
    reward, stage = env.progress(states, 0)
    assert reward == rewards.sum() > 0 and stage == infos[-1]["stage"]
    stage, total = 0, 0.0
    for start in range(0, len(states), 19):  # segment by segment, as a planner chains latents
        r, stage = env.progress(states[start : start + 19], stage)
        total += r
    assert total == rewards.sum() and stage == infos[-1]["stage"]
    starts = np.array([infos[t]["stage"] for t in (0, 5, 20)])
    segments = np.stack([states[0:19], states[5:24], states[20:39]])  # (K, T, D), batched
    batched, _ = env.progress(segments, starts)
    assert batched.tolist() == [rewards[0:19].sum(), rewards[5:24].sum(), rewards[20:39].sum()]
    discounted, _ = env.progress(states, 0, discount=0.99)
    assert discounted == pytest.approx(np.sum(rewards * 0.99 ** np.arange(len(rewards))))


# --- reset options, rendering, errors -----------------------------------------------------------
@pytest.mark.parametrize("single_cls", list(POLICIES))
def test_reset_from_a_visited_state_restores_it(single_cls):
    env = single_cls(include_stage=True)
    obs, info = env.reset(seed=5)
    for _ in range(30):
        obs, *_, info = env.step(POLICIES[single_cls](obs, info))
    restored, restored_info = single_cls(include_stage=True).reset(seed=5, options={"state": obs, "stage": info["stage"]})
    np.testing.assert_allclose(restored, obs, atol=1e-6)
    assert restored_info["stage"] == info["stage"]


@pytest.mark.parametrize("env_id", NUMPY_IDS)
def test_render_rgb_array(env_id):
    env = gymnasium.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    assert first.shape == (256, 256, 3) and first.dtype == np.uint8 and len(np.unique(first.reshape(-1, 3), axis=0)) > 4
    env.action_space.seed(0)
    for _ in range(10):
        env.step(env.action_space.sample())
    assert not np.array_equal(first, env.render())
    assert gymnasium.make(env_id).unwrapped.render() is None
    frames = gymnasium.make_vec(env_id, num_envs=2, render_mode="rgb_array")
    frames.reset(seed=0)
    assert [f.shape for f in frames.render()] == [(256, 256, 3)] * 2


def test_invalid_inputs_raise_clear_errors():
    env = WaypointsEnv()
    env.reset(seed=0)
    for bad in (4, -1, 1.0, np.array([0, 1])):
        with pytest.raises(ValueError):
            env.step(bad)
    with pytest.raises(ValueError, match="finite"):
        WheeledEnv().step(np.array([np.nan, 0.0]))
    with pytest.raises(ConfigError, match="valid options are"):
        env.reset(options={"start": 0})
    with pytest.raises(ConfigError, match="stage"):
        env.reset(options={"stage": 51})
    with pytest.raises(ConfigError, match="radius"):
        WaypointsConfig(radius=0.0)
    with pytest.raises(ConfigError, match="min_separation"):
        dataclasses.replace(BlocksConfig.for_layout("walk"), min_separation=0.1)
    with pytest.raises(ConfigError, match="render_mode"):
        WaypointsEnv(render_mode="human")


# --- the MuJoCo swimmer (never required) --------------------------------------------------------
def test_swimmer_reports_missing_mujoco(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium.envs.mujoco.swimmer_v5", None)  # import fails
    with pytest.raises(envs.MissingDependencyError, match="zspace\\[rl\\]"):
        envs.SwimmerWaypointsEnv()


def test_swimmer_waypoints_when_mujoco_is_installed():
    pytest.importorskip("mujoco")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity")  # Swimmer-v5's unbounded velocities
        check_env(gymnasium.make("zspace/SwimmerWaypoints-v0").unwrapped)
    env = gymnasium.make("zspace/SwimmerWaypoints-v0", include_stage=True, render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    assert obs.shape == (15,) and info["waypoints"].shape == (10, 2) and env.unwrapped.max_episode_steps == 50 * 99
    env.action_space.seed(0)
    observations = [env.step(env.action_space.sample())[0] for _ in range(20)]
    assert env.render().shape == (256, 256, 3)
    assert env.unwrapped.progress(np.array(observations), 0)[1] == env.unwrapped.stage
    again, _ = gymnasium.make("zspace/SwimmerWaypoints-v0", include_stage=True).reset(seed=0)
    np.testing.assert_array_equal(obs, again)


@pytest.mark.parametrize("env_id", ["zspace/Waypoints-v0", "zspace/Blocks-v0", "zspace/Wheeled-v0"])
def test_stage_index_observation_is_the_stage_fraction_alone(env_id):
    base = gymnasium.make(env_id).observation_space.shape[0]
    env = gymnasium.make(env_id, include_stage="index")
    obs, _ = env.reset(seed=3, options={"stage": 2})
    assert obs.shape == env.observation_space.shape == (base + 1,)
    n_stages = env.unwrapped.sim.n_stages
    assert obs[-1] == pytest.approx(2 / n_stages)
    full, _ = gymnasium.make(env_id, include_stage="target").reset(seed=3, options={"stage": 2})
    np.testing.assert_array_equal(full[: base + 1], obs)


def test_include_stage_rejects_unknown_modes():
    with pytest.raises(ConfigError, match="include_stage must be False, True, 'index' or 'target'"):
        gymnasium.make("zspace/Waypoints-v0", include_stage="position")


def test_velocity_servo_swimmer_is_the_authors_and_swims_inside_its_walls():
    pytest.importorskip("mujoco")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity")
        check_env(gymnasium.make("zspace/SwimmerWaypoints-v1").unwrapped)
    env = gymnasium.make("zspace/SwimmerWaypoints-v1")
    swimmer = env.unwrapped.swimmer
    assert swimmer.model.opt.timestep * swimmer.frame_skip == pytest.approx(0.2)  # 0.2 s per step
    assert env.action_space.high.tolist() == [300.0, 300.0] and env.unwrapped.max_episode_steps == 50 * 99
    obs, info = env.reset(seed=0)
    assert np.all(np.abs(info["waypoints"]) <= 1.5) and len(info["waypoints"]) == 10
    np.testing.assert_allclose(obs[:2], [1.0, 0.0], atol=1e-6)  # the front capsule's centre, no reset noise
    positions = []
    for t in range(400):  # a travelling wave of joint speeds
        phase = 2 * np.pi * t / 4
        obs, *_ = env.step(np.array([300 * np.cos(phase), 300 * np.cos(phase - np.pi / 2)]))
        positions.append(obs[:2])
    positions = np.array(positions)
    assert np.linalg.norm(positions[98] - [1.0, 0.0]) > 0.5  # it swims: metres per 99-step segment
    assert np.abs(positions).max() < 2.5  # the walls at +-2.5 m hold the front capsule's centre inside
