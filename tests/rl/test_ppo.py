"""PPO (zspace.rl.ppo) and its rollouts (zspace.rl.rollout): GAE and the loss against hand computation, the
rollout collector's autoreset bookkeeping, seeded reproducibility and error messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

gymnasium = pytest.importorskip("gymnasium")
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

from zspace.errors import ConfigError, DataError
from zspace.rl.policy import ActorCritic
from zspace.rl.ppo import PPOConfig, gae, ppo_loss, ppo_update, train_ppo
from zspace.rl.rollout import RolloutBatch, collect_rollout, make_envs

WAYPOINTS = "zspace/Waypoints-v0"


def reference_gae(rewards, values, dones, next_value, next_done, gamma, lam):
    """Plain Python over every env and step: delta_t + gamma lam delta_{t+1} + ..., cut where an episode starts."""
    T, N = len(rewards), len(rewards[0])
    adv = [[0.0] * N for _ in range(T)]
    for n in range(N):
        running = 0.0
        for t in reversed(range(T)):
            starts_next = next_done[n] if t == T - 1 else dones[t + 1][n]
            v_next = next_value[n] if t == T - 1 else values[t + 1][n]
            delta = rewards[t][n] + gamma * v_next * (1 - starts_next) - values[t][n]
            running = delta + gamma * lam * (1 - starts_next) * running
            adv[t][n] = running
    return adv


def random_inputs(rng: np.random.Generator, T: int, N: int):
    f = lambda *shape: torch.as_tensor(rng.normal(size=shape), dtype=torch.float64)
    d = lambda *shape: torch.as_tensor(rng.random(shape) < 0.3, dtype=torch.float64)
    return f(T, N), f(T, N), d(T, N), f(N), d(N)


# --- GAE ----------------------------------------------------------------------------------------
def test_gae_matches_reference_loop_with_episode_boundaries() -> None:
    rewards, values, dones, next_value, next_done = random_inputs(np.random.default_rng(0), 9, 4)
    assert dones.sum() > 0 and next_done.sum() > 0  # the boundaries are exercised
    adv, ret = gae(rewards, values, dones, next_value, next_done, gamma=0.97, lam=0.9)
    expected = reference_gae(
        rewards.tolist(), values.tolist(), dones.tolist(), next_value.tolist(), next_done.tolist(), 0.97, 0.9
    )
    torch.testing.assert_close(adv, torch.tensor(expected, dtype=torch.float64))
    torch.testing.assert_close(ret, adv + values)


@settings(max_examples=30, deadline=None)
@given(
    T=st.integers(1, 6), N=st.integers(1, 3), seed=st.integers(0, 10_000),
    gamma=st.floats(0.0, 1.0), lam=st.floats(0.0, 1.0),
)  # fmt: skip
def test_gae_property_matches_reference(T: int, N: int, seed: int, gamma: float, lam: float) -> None:
    inputs = random_inputs(np.random.default_rng(seed), T, N)
    adv, _ = gae(*inputs, gamma=gamma, lam=lam)
    expected = reference_gae(*(x.tolist() for x in inputs), gamma, lam)
    torch.testing.assert_close(adv, torch.tensor(expected, dtype=torch.float64))


def test_gae_lambda_one_is_the_discounted_return_minus_value() -> None:
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [0.1], [0.3]])
    zeros = torch.zeros(3, 1)
    adv, ret = gae(rewards, values, zeros, torch.tensor([4.0]), torch.tensor([0.0]), gamma=0.5, lam=1.0)
    # R_0 = 1 + 0.5 * 0 + 0.25 * 2 + 0.125 * 4 = 2.0, R_1 = 0 + 0.5 * 2 + 0.25 * 4 = 2.0, R_2 = 2 + 0.5 * 4 = 4.0
    torch.testing.assert_close(ret, torch.tensor([[2.0], [2.0], [4.0]]))
    torch.testing.assert_close(adv, ret - values)


# --- the loss -----------------------------------------------------------------------------------
def test_ppo_loss_matches_hand_computation_with_clipping_on_both_sides() -> None:
    ratio = torch.tensor([0.5, 1.0, 1.5])  # below 1 - eps with A < 0, inside, above 1 + eps with A > 0
    advantages = torch.tensor([-1.0, 3.0, 2.0])
    new_value, old_values, returns = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.9, 2.5, 3.0]), torch.tensor([2.0, 2.0, 0.0])
    config = PPOConfig(norm_adv=False, clip_coef=0.2, ent_coef=0.01, vf_coef=0.5)
    loss, m = ppo_loss(
        ratio.log(), torch.tensor([1.0, 2.0, 3.0]), new_value,
        old_logprob=torch.zeros(3), advantages=advantages, returns=returns, old_values=old_values, config=config,
    )  # fmt: skip
    # surrogate min(rA, clip(r)A): min(-0.5, -0.8) = -0.8; 3; min(3, 2.4) = 2.4
    policy = -(-0.8 + 3.0 + 2.4) / 3
    # value clipped to 0.9 + 0.1 = 1.0 (inside), 2.5 - 0.2 = 2.3 (clipped), 3.0: max squared errors 1, 0.09, 9
    value = 0.5 * (1.0 + 0.09 + 9.0) / 3
    assert m["losses/policy"].item() == pytest.approx(policy)
    assert m["losses/value"].item() == pytest.approx(value)
    assert m["losses/entropy"].item() == pytest.approx(2.0)
    assert m["losses/clipfrac"].item() == pytest.approx(2 / 3)
    assert m["losses/approx_kl"].item() == pytest.approx(((-0.5 - math.log(0.5)) + (0.5 - math.log(1.5))) / 3)
    assert loss.item() == pytest.approx(policy - 0.01 * 2.0 + 0.5 * value)
    _, m_plain = ppo_loss(
        ratio.log(), torch.zeros(3), new_value, old_logprob=torch.zeros(3), advantages=advantages, returns=returns,
        old_values=old_values, config=PPOConfig(norm_adv=False, clip_vloss=False),
    )  # fmt: skip
    assert m_plain["losses/value"].item() == pytest.approx(0.5 * (1.0 + 0.0 + 9.0) / 3)


def test_ppo_loss_normalises_advantages() -> None:
    kwargs = {"old_logprob": torch.zeros(3), "returns": torch.zeros(3), "old_values": torch.zeros(3), "config": PPOConfig()}
    logp = torch.tensor([0.1, -0.1, 0.05])
    _, a = ppo_loss(logp, torch.zeros(3), torch.zeros(3), advantages=torch.tensor([1.0, 2.0, 3.0]), **kwargs)
    _, b = ppo_loss(logp, torch.zeros(3), torch.zeros(3), advantages=torch.tensor([10.0, 20.0, 30.0]), **kwargs)
    assert a["losses/policy"].item() == pytest.approx(b["losses/policy"].item())  # scale-free


# --- the update ---------------------------------------------------------------------------------
def toy_batch(agent: ActorCritic) -> RolloutBatch:
    """One observation; action 0 was good (A = +1), action 1 bad (A = -1)."""
    obs = torch.ones(16, 2)
    actions = torch.tensor([0, 1] * 8)
    with torch.no_grad():
        _, logprobs, _, values = agent.get_action_and_value(obs, action=actions)
    advantages = torch.where(actions == 0, 1.0, -1.0)
    return RolloutBatch(obs=obs, actions=actions, logprobs=logprobs, advantages=advantages, returns=advantages, values=values)


def test_ppo_update_raises_probability_of_advantaged_action_and_lowers_loss() -> None:
    torch.manual_seed(0)
    agent = ActorCritic(2, spaces.Discrete(3))
    batch = toy_batch(agent)
    config = PPOConfig(norm_adv=False, lr=1e-2, ent_coef=0.0)
    p_before = agent.distribution(torch.ones(1, 2)).probs[0, 0].item()

    def loss() -> float:
        with torch.no_grad():
            _, logp, ent, v = agent.get_action_and_value(batch.obs, action=batch.actions)
            kwargs = {"advantages": batch.advantages, "returns": batch.returns, "old_values": batch.values, "config": config}
            return ppo_loss(logp, ent, v, old_logprob=batch.logprobs, **kwargs)[0].item()

    loss_before = loss()
    metrics = ppo_update(
        agent, torch.optim.Adam(agent.parameters(), lr=config.lr), batch, config, generator=torch.Generator().manual_seed(0)
    )
    assert agent.distribution(torch.ones(1, 2)).probs[0, 0].item() > p_before + 0.05
    assert loss() < loss_before
    assert {"losses/policy", "losses/value", "losses/entropy", "losses/approx_kl", "losses/clipfrac"} <= set(metrics)
    assert metrics["losses/epochs"] == config.update_epochs


def test_ppo_update_stops_early_at_target_kl() -> None:
    torch.manual_seed(0)
    agent = ActorCritic(2, spaces.Discrete(3))
    config = PPOConfig(norm_adv=False, lr=5e-2, target_kl=1e-6, update_epochs=10)
    metrics = ppo_update(agent, torch.optim.Adam(agent.parameters(), lr=config.lr), toy_batch(agent), config)
    assert metrics["losses/epochs"] == 1


def test_ppo_update_rejects_too_few_samples() -> None:
    agent = ActorCritic(2, spaces.Discrete(3))
    with pytest.raises(ConfigError, match="n_minibatches=32"):
        ppo_update(agent, torch.optim.Adam(agent.parameters()), toy_batch(agent), PPOConfig(n_minibatches=32))


@pytest.mark.parametrize(("field", "value"), [("gamma", 1.5), ("lr", 0.0), ("n_minibatches", 0), ("target_kl", -1.0)])
def test_config_errors_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"PPOConfig.{field}"):
        PPOConfig(**{field: value})


# --- rollouts -----------------------------------------------------------------------------------
def test_collect_rollout_marks_episode_starts_and_bootstraps_truncations() -> None:
    envs = make_envs(WAYPOINTS, num_envs=2, env_kwargs={"max_episode_steps": 5, "layout": "walk"})
    torch.manual_seed(0)
    agent = ActorCritic(2, envs.single_action_space)
    obs, _ = envs.reset(seed=0)
    roll = collect_rollout(envs, agent, torch.as_tensor(obs), torch.zeros(2), 12, generator=torch.Generator().manual_seed(0))
    starts = torch.zeros(12, 2)
    starts[[5, 10]] = 1.0  # SAME_STEP autoreset: obs[5] and obs[10] open new episodes
    torch.testing.assert_close(roll.dones, starts)
    assert torch.all(roll.truncation_values[[4, 9]] != 0) and torch.all(roll.truncation_values[[0, 1, 2, 3, 5, 11]] == 0)
    assert roll.next_done.tolist() == [0.0, 0.0]
    assert len(roll.episode_returns) == len(roll.episode_successes) == 4
    assert roll.obs.shape == (12, 2, 2) and roll.actions.shape == (12, 2) and roll.logprobs.shape == (12, 2)
    torch.testing.assert_close(roll.obs[5], torch.zeros(2, 2))  # every walk-layout episode starts at the origin


def test_collect_rollout_needs_same_step_autoreset() -> None:
    envs = gymnasium.make_vec(WAYPOINTS, num_envs=2)  # NEXT_STEP by default
    agent = ActorCritic(2, envs.single_action_space)
    with pytest.raises(ConfigError, match="SAME_STEP"):
        collect_rollout(envs, agent, torch.zeros(2, 2), torch.zeros(2), 4)


def test_nan_reward_names_the_step() -> None:
    def poisoned(states: np.ndarray, reward: np.ndarray) -> np.ndarray:
        return np.full_like(reward, np.nan)

    with pytest.raises(DataError, match="environment step 0 .*sub-env 0"):
        train_ppo(WAYPOINTS, total_steps=16, num_envs=2, n_steps=8, bonus=poisoned)


def test_invalid_env_id_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="zspace/Waypoints-v0"):
        train_ppo("zspace/Nowhere-v0", total_steps=16, num_envs=2, n_steps=8)


def test_total_steps_below_one_rollout_is_an_error() -> None:
    with pytest.raises(ConfigError, match="total_steps=10"):
        train_ppo(WAYPOINTS, total_steps=10, num_envs=2, n_steps=8)


# --- training -----------------------------------------------------------------------------------
def tiny_run(seed: int):
    return train_ppo(
        WAYPOINTS, total_steps=3 * 64, seed=seed, num_envs=2, n_steps=32, config=PPOConfig(n_minibatches=2, update_epochs=2),
        env_kwargs={"max_episode_steps": 20, "include_stage": True}, hidden=(16,),
    )  # fmt: skip


def test_seeded_runs_are_reproducible() -> None:
    agent_a, curve_a = tiny_run(3)
    agent_b, curve_b = tiny_run(3)
    _, curve_c = tiny_run(4)
    assert curve_a.env_steps == curve_b.env_steps == [64, 128, 192]
    assert curve_a.returns == curve_b.returns and curve_a.successes == curve_b.successes
    for p, q in zip(agent_a.parameters(), agent_b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert curve_a.method == "ppo" and curve_a.seed == 3
    assert not all(torch.equal(p, q) for p, q in zip(agent_a.parameters(), tiny_run(4)[0].parameters(), strict=True))
    assert curve_c.env_steps == curve_a.env_steps


class Corridor(gymnasium.Env):
    """Cells 0..4, start at 0; action 1 moves right, 0 left; reaching 4 pays +1 and ends (10-step limit)."""

    observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos, self.t = 0, 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.pos, self.t = max(0, self.pos + (1 if action == 1 else -1)), self.t + 1
        done = self.pos == 4
        return np.array([self.pos / 4], np.float32), float(done), done, self.t >= 10, {"is_success": done}


def test_train_ppo_learns_a_corridor() -> None:
    if "zspace-test/Corridor-v0" not in gymnasium.registry:
        gymnasium.register("zspace-test/Corridor-v0", entry_point=Corridor)
    agent, curve = train_ppo(
        "zspace-test/Corridor-v0", total_steps=20 * 64, seed=0, num_envs=4, n_steps=16, config=PPOConfig(lr=3e-3)
    )
    assert curve.successes[0] < curve.successes[-1] == 1.0 and curve.returns[-1] == 1.0
    cells = torch.linspace(0, 0.75, 4)[:, None]
    assert agent.get_action_and_value(cells, greedy=True)[0].tolist() == [1, 1, 1, 1]  # always right


# --- the policy ---------------------------------------------------------------------------------
def test_actor_critic_shapes_heads_and_conditioning() -> None:
    torch.manual_seed(0)
    box = ActorCritic(3, spaces.Box(-1.0, 1.0, (2,)), cond_dim=4, hidden=(8, 8))
    obs, cond = torch.randn(5, 3), torch.randn(5, 4)
    action, logp, ent, value = box.get_action_and_value(obs, cond)
    assert action.shape == (5, 2) and logp.shape == ent.shape == value.shape == (5,)
    greedy, *_ = box.get_action_and_value(obs, cond, greedy=True)
    torch.testing.assert_close(greedy, box.distribution(obs, cond).mean)
    assert box.actor[-1].weight.abs().max() < 0.05  # policy head gain 0.01: a near-zero first mean
    with pytest.raises(ValueError, match="conditioning vector with 4 features"):
        box.get_value(obs)
    discrete = ActorCritic(3, spaces.Discrete(4))
    action, logp, ent, _ = discrete.get_action_and_value(obs)
    assert action.dtype == torch.int64 and action.shape == (5,)
    assert ent.allclose(torch.full((5,), math.log(4)), atol=1e-2)  # near-uniform start
    with pytest.raises(ConfigError, match="Discrete and 1-D Box"):
        ActorCritic(3, spaces.MultiBinary(3))
