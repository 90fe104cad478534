"""SeCTAR's outer loop on a tiny budget: end to end, reproducible, checkpoints, clear errors."""

from __future__ import annotations

import dataclasses
import json

import gymnasium
import pytest
import torch

from zspace.errors import CheckpointError, ConfigError, TrainingDivergedError
from zspace.rl.envs import WaypointsConfig
from zspace.rl.exploration import ExplorerConfig
from zspace.rl.policy import sample_action
from zspace.rl.ppo import PPOConfig
from zspace.rl.sectar.config import ALIASES, PRESETS
from zspace.rl.sectar.model import SeCTAR, SectarConfig
from zspace.rl.sectar.train import (
    SectarTrainConfig,
    explorer_rewards,
    load_sectar,
    plan_episode,
    segment_end_rewards,
    train_sectar,
)

ENV = "zspace/Waypoints-v0"
ENV_KWARGS = {"config": WaypointsConfig(segment_len=4, n_segments=3)}  # 12-step episodes
TINY = SectarTrainConfig(
    model=SectarConfig(z_size=2, hidden=8, encoder_layers=1, decoder_hidden=(8,), policy_hidden=(8,)),
    explorer=ExplorerConfig(hidden=(8,), ppo=PPOConfig(update_epochs=1, n_minibatches=2)),
    consistency=PPOConfig(update_epochs=1, n_minibatches=2, clip_vloss=False),
    consistency_rollouts=4, plan_episodes=2, n_candidates=8, plan_horizon=2, explore_starts=4, explore_segments=2,
    buffer_segments=1000, batch_size=8, rounds=2, vae_steps=2,
)  # fmt: skip
# per iteration: 2 x 12 (plan) + 4 x 9 (explore: 2 segments of 4 joined by one step) + 2 x 4 x 4 (consistency) = 92
BUDGET = 200  # 2 iterations (184), then 16 left: less than one planning phase (24)


def run(seed: int = 0, budget: int = BUDGET, config: SectarTrainConfig = TINY):
    return train_sectar(ENV, total_env_steps=budget, seed=seed, config=config, env_kwargs=ENV_KWARGS)


def test_runs_end_to_end_within_the_budget():
    logs, calls = [], []
    model, curve = train_sectar(
        ENV, total_env_steps=BUDGET, seed=0, config=TINY, env_kwargs=ENV_KWARGS, log=lambda s, m: logs.append((s, m)),
        on_iteration=lambda m, c, s: calls.append((m, len(c.returns), s)),
    )  # fmt: skip
    assert [(n, s) for _, n, s in calls] == [(1, 92), (2, 184)]  # after each iteration: curve so far, steps
    assert all(m is model for m, _, _ in calls) and [s for s, _ in logs] == [s for _, _, s in calls]
    assert isinstance(model, SeCTAR) and model.config.segment_len == 4 and model.config.state_dim == 2
    assert curve.method == "sectar" and curve.env_steps == [24, 116] and curve.steps_taken == 184
    assert {"sectar/loss", "consistency/error"} <= set(logs[0][1])
    assert "explore/entropy" not in logs[0][1] and "explore/entropy" in logs[1][1]  # not trained before the model has data
    assert logs[0][1]["charts/buffer_segments"] == 4 * 2  # the explorer's segments only (paper)
    shares = [curve.time_share[k] for k in ("plan", "explore", "fit")]
    assert min(shares) > 0 and sum(shares) == pytest.approx(1.0)
    activities = curve.activity_share
    assert set(activities) == {"env", "decode", "score", "ppo", "vae", "other"}
    assert min(activities.values()) >= 0 and sum(activities.values()) == pytest.approx(1.0)
    assert min(activities[k] for k in ("env", "decode", "ppo", "vae")) > 0
    with pytest.raises(ConfigError, match="less than one"):
        run(budget=23)


def test_the_last_consistency_metrics_survive_an_iteration_without_budget_for_them():
    logs = []
    _, curve = train_sectar(
        ENV, total_env_steps=92 + 24 + 36, seed=0, config=TINY, env_kwargs=ENV_KWARGS, log=lambda s, m: logs.append(m)
    )  # fmt: skip  (the second iteration has no steps left to fit)
    assert curve.iterations == 2 and curve.steps_taken == 92 + 24 + 36
    assert "consistency/error" not in logs[1] and curve.last["consistency/error"] == logs[0]["consistency/error"]


def test_explorer_rewards_sit_at_segment_ends_or_on_each_step():
    neg_elbo = torch.arange(1.0, 13.0).reshape(1, 3, 4)  # 3 segments of 4 steps
    end = explorer_rewards(neg_elbo, "segment_end")
    assert end.shape == (1, 14)  # 3 x 5 - 1 steps
    expected = torch.zeros(1, 14)
    expected[0, [4, 9, 13]] = torch.tensor([10.0, 26.0, 42.0])  # sums; the last segment's at the last step
    torch.testing.assert_close(end, expected)
    step = explorer_rewards(neg_elbo, "per_step")
    torch.testing.assert_close(step[0, :5], torch.tensor([1.0, 2.0, 3.0, 4.0, 0.0]))
    assert step.sum() == neg_elbo.sum()
    torch.testing.assert_close(segment_end_rewards(neg_elbo.sum(2), 4), end)


def test_paper_defaults_are_the_authors_and_cpu_is_ours():
    paper = PRESETS["paper"]
    assert paper == SectarTrainConfig() and paper.model.kl_weight == 2.0 and paper.model.bc_weight == 100.0
    assert (paper.plan_episodes, paper.n_candidates, paper.plan_horizon, paper.plan_shaping) == (40, 2048, 10, "none")
    assert (paper.explore_starts, paper.explore_segments, paper.consistency_rollouts) == (400, 5, 20)
    assert (paper.rounds, paper.vae_steps, paper.batch_size, paper.consistency.update_epochs) == (10, 30, 300, 10)
    assert not (paper.buffer_planning or paper.buffer_consistency or paper.decoder_consistency)
    assert paper.model.hidden == 256 and paper.model.decoder_hidden == (128, 128, 128)
    wheeled, blocks = (SectarTrainConfig.for_task(f"zspace/{name}-v0") for name in ("Wheeled", "Blocks"))
    assert (wheeled.plan_horizon, wheeled.explore_segments, wheeled.explorer.reset_entropy) == (20, 10, 0.0)
    assert (blocks.plan_discount, blocks.explorer.reset_entropy) == (0.995, 1.6)
    cpu = PRESETS["cpu"]
    assert cpu.model.kl_weight == 0.02 and cpu.decoder_consistency and cpu.buffer_planning and cpu.buffer_consistency
    assert SectarTrainConfig.for_task("zspace/Wheeled-v0", cpu) == cpu  # ours has no per-task values
    # the authors' initialisation and absolute-state decoder, theirs on the explorer too; ours is the cpu preset's
    assert (paper.model.init, paper.explorer.act, paper.explorer.init, cpu.model.init) == ("authors", "relu", "xavier", "ours")
    # Wheeled in the authors' rad/s: pi starts at std 1 rad/s, the explorer at sqrt(20) rad/s, of 20 rad/s per unit
    assert wheeled.model.policy_init_std == pytest.approx(1 / 20) and wheeled.explorer.init_std == pytest.approx(20**0.5 / 20)
    assert wheeled.explorer.action_scale == 20 and blocks.model.policy_init_std == 1.0
    small = PRESETS["paper-small"]  # the authors' algorithm and schedule; only the networks and K shrink
    sizes = {"model": small.model, "explorer": small.explorer, "n_candidates": small.n_candidates}
    assert dataclasses.replace(paper, **sizes) == small and small.n_candidates == 256 and small.model.kl_weight == 2.0
    assert dataclasses.replace(small.model, hidden=256, decoder_hidden=(128, 128, 128), policy_hidden=(400, 300, 200)) == (
        paper.model
    )
    assert dataclasses.replace(small.explorer, hidden=(400, 300, 200)) == paper.explorer
    with pytest.raises(ConfigError, match="explore_reward"):
        SectarTrainConfig(explore_reward="sometimes")


def test_one_registry_of_complete_configs_and_the_old_name_of_cpu():
    assert list(PRESETS) == ["paper", "cpu", "paper-small"]
    assert ALIASES == {"small": "cpu"}
    cpu = PRESETS["cpu"].model  # the model of our CPU preset: small networks, our initialisation, KL weight 0.02
    assert (cpu.hidden, cpu.encoder_layers, cpu.decoder_hidden, cpu.policy_hidden) == (64, 1, (), (128, 128))
    assert (cpu.kl_weight, cpu.init) == (0.02, "ours") and PRESETS["paper"].model == SectarConfig()
    with pytest.raises(ConfigError, match=r"unknown SeCTAR preset 'huge'; valid presets are \['cpu', 'paper', 'paper-small'\]"):
        PRESETS["huge"]


# A seeded run's numbers, pinned: the authors' algorithm on TINY, and with every departure of ours switched on.
OURS = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, init="ours", kl_weight=0.02), explore_reward="per_step",
                           buffer_planning=True, buffer_consistency=True, decoder_consistency=True, grad_clip=10.0,
                           plan_shaping="distance")  # fmt: skip
PINNED = {
    "paper": (TINY, {"sectar/loss": 164.60287475585938, "consistency/error": 2.4711556434631348,
                     "consistency/value": 43.928688049316406}, 318.5345882133115),
    "ours": (OURS, {"sectar/loss": 136.21841430664062, "consistency/error": 0.3005124628543854,
                    "consistency/decoder_nll_per_step": -2.103276252746582}, 263.37532026480767),
}  # fmt: skip


@pytest.mark.parametrize("name", PINNED)
def test_a_seeded_run_gives_its_pinned_numbers(name):
    config, last, weights = PINNED[name]
    model, curve = train_sectar(ENV, total_env_steps=300, seed=1, config=config, env_kwargs=ENV_KWARGS)
    assert (curve.env_steps, curve.iterations, curve.steps_taken, curve.explorer_resets) == ([24, 116, 208, 300], 4, 300, 0)
    assert {k: curve.last[k] for k in last} == pytest.approx(last, rel=1e-5)
    assert sum(p.double().abs().sum().item() for p in model.state_dict().values()) == pytest.approx(weights, rel=1e-6)


def test_seeded_runs_are_reproducible():
    (model_a, a), (model_b, b), (_, c) = run(seed=3), run(seed=3), run(seed=4)
    assert (a.env_steps, a.returns, a.successes) == (b.env_steps, b.returns, b.successes)
    assert a.last["sectar/loss"] == b.last["sectar/loss"] != c.last["sectar/loss"]
    for (name, p), q in zip(model_a.state_dict().items(), model_b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_sampled_actions_come_from_the_generator():
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.4]]).expand(20_000, 4)
    categorical = torch.distributions.Categorical(probs=probs)
    draws = [sample_action(categorical, greedy=False, generator=torch.Generator().manual_seed(5)) for _ in range(2)]
    assert torch.equal(draws[0], draws[1])  # the generator, not torch's global RNG
    torch.testing.assert_close(torch.bincount(draws[0], minlength=4) / 20_000.0, probs[0], atol=0.015, rtol=0)
    assert torch.equal(sample_action(categorical, greedy=True, generator=torch.Generator()), torch.full((20_000,), 3))
    normal = torch.distributions.Independent(torch.distributions.Normal(torch.ones(3, 2), 0.5 * torch.ones(3, 2)), 1)
    expected = 1 + 0.5 * torch.randn(3, 2, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(sample_action(normal, greedy=False, generator=torch.Generator().manual_seed(7)), expected)
    torch.testing.assert_close(sample_action(normal, greedy=True, generator=torch.Generator()), torch.ones(3, 2))


def test_sampled_planning_episodes_are_reproducible():
    import zspace.rl.envs  # noqa: F401 - registers the ids

    env = gymnasium.make(ENV, layout_seed=0, **ENV_KWARGS)  # one layout: only latents and actions follow `seed`
    torch.manual_seed(0)
    model = SeCTAR(TINY.model.for_env(env)).eval()
    config = dataclasses.replace(TINY, plan_greedy=False)
    episodes = [plan_episode(env, model, config, seed=seed) for seed in (1, 1, 2)]
    first, again, other = ([s.tolist() for s in states] for _, _, states, _, _ in episodes)
    assert first == again != other
    assert episodes[0][4] == 12


def test_consistency_rollouts_join_the_buffer_only_when_asked():
    sizes = {}
    for flag in (True, False):
        logs = []
        config = dataclasses.replace(TINY, buffer_consistency=flag)
        train_sectar(
            ENV, total_env_steps=92, seed=0, config=config, env_kwargs=ENV_KWARGS, log=lambda s, m, logs=logs: logs.append(m)
        )
        sizes[flag] = logs[0]["charts/buffer_segments"]
    assert sizes[True] - sizes[False] == 2 * 4  # rounds x consistency_rollouts segments (none ends an episode)


def test_decoder_consistency_fits_the_decoder_to_the_policy_and_nothing_else(monkeypatch):
    """With the flag, each consistency step also takes one likelihood step of the state decoder on the policy's
    segments: the decoder moves, the encoder does not (its loss never reaches it)."""
    from zspace.rl.sectar import train as loop

    seen = {}
    real = loop._consistency_step

    def spy(run):
        before = {k: v.clone() for k, v in run.model.state_dict().items()}
        out = real(run)
        after = run.model.state_dict()
        seen.setdefault(run.config.decoder_consistency, []).append(
            ({k for k in before if not torch.equal(before[k], after[k])}, set(out))
        )
        return out

    monkeypatch.setattr(loop, "_consistency_step", spy)
    for flag in (True, False):
        config = dataclasses.replace(TINY, decoder_consistency=flag)
        train_sectar(ENV, total_env_steps=92, seed=0, config=config, env_kwargs=ENV_KWARGS)
    changed, metrics = seen[True][0]
    assert {"decoder.weight_ih", "decoder_head.0.weight", "state_log_std"} <= changed
    assert not any(k.startswith("encoder") for k in changed) and "consistency/decoder_nll_per_step" in metrics
    changed, metrics = seen[False][0]
    assert not any(k.startswith(("decoder", "state_log_std", "encoder")) for k in changed) and changed  # the policy moved
    assert "consistency/decoder_nll_per_step" not in metrics


def saved(directory, config: SectarTrainConfig = TINY):
    """A one-iteration run whose training state (its one checkpoint) is in ``directory``: (model, checkpoint)."""
    model, _ = train_sectar(ENV, total_env_steps=24, seed=0, config=config, env_kwargs=ENV_KWARGS, state_dir=directory)
    (checkpoint,) = (directory / "checkpoints").iterdir()
    return model, checkpoint


def test_save_load_round_trip(tmp_path):
    model, checkpoint = saved(tmp_path)
    assert checkpoint.name == "step-00000024" and {p.name for p in checkpoint.iterdir()} == {
        "config.json", "model.safetensors", "trainer_state.pt"}  # fmt: skip
    s0, z = torch.randn(3, 2), torch.randn(3, 2)
    for loaded in (load_sectar(tmp_path), load_sectar(checkpoint), load_sectar(tmp_path, "step-00000024")):
        assert loaded.config == model.config
        torch.testing.assert_close(loaded.predict(s0, z), model.predict(s0, z))
    config = json.loads((checkpoint / "config.json").read_text())
    assert (config["family"], config["train"]["consistency_rollouts"], config["seed"]) == ("sectar", 4, 0)


def test_a_run_saved_before_the_init_choice_loads_as_our_initialisation_it_had(tmp_path):
    model, checkpoint = saved(tmp_path, dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, init="ours")))
    config = json.loads((checkpoint / "config.json").read_text())
    del config["model"]["init"]  # as written before SectarConfig.init
    (checkpoint / "config.json").write_text(json.dumps(config))
    loaded = load_sectar(tmp_path)
    s0, z = torch.randn(3, 2), torch.randn(3, 2)
    assert loaded.config.init == "ours"
    torch.testing.assert_close(loaded.predict(s0, z), model.predict(s0, z))  # the residual decoder it was trained as


def test_mismatched_checkpoint_names_the_file(tmp_path):
    _, checkpoint = saved(tmp_path)
    config_file = checkpoint / "config.json"
    data = json.loads(config_file.read_text())
    data["model"]["hidden"] = 16  # no longer the shape of the saved weights
    config_file.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_sectar(tmp_path)
    data["model"]["hiden"] = 16
    config_file.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="config.json.*hiden"):
        load_sectar(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_sectar(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="no checkpoint 'step-00000001'.*step-00000024"):
        load_sectar(tmp_path, "step-00000001")


def test_checkpoint_from_before_the_mlp_decoder_head_loads_or_says_what_to_do(tmp_path):
    """Old runs: config.json without model.decoder_hidden, weights decoder_head.weight/.bias of one nn.Linear."""
    from safetensors.torch import load_file, save_file

    linear = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, decoder_hidden=()))
    model, checkpoint = saved(tmp_path, linear)
    weights, config_file = checkpoint / "model.safetensors", checkpoint / "config.json"
    save_file({k.replace("decoder_head.0.", "decoder_head."): v for k, v in load_file(str(weights)).items()}, str(weights))
    data = json.loads(config_file.read_text())
    del data["model"]["decoder_hidden"]
    config_file.write_text(json.dumps(data))
    loaded = load_sectar(tmp_path)
    assert loaded.config.decoder_hidden == ()
    s0, z = torch.randn(3, 2), torch.randn(3, 2)
    torch.testing.assert_close(loaded.predict(s0, z), model.predict(s0, z))
    data["model"]["hidden"] = 16  # weights that match no linear-head model of this config
    config_file.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=r"model.safetensors predates SectarConfig.decoder_hidden.*retrain"):
        load_sectar(tmp_path)


def test_nan_reward_raises_with_the_iteration(monkeypatch):
    from zspace.rl.sectar import train as loop

    monkeypatch.setattr(loop, "segment_neg_elbo", lambda model, states, generator: torch.full((len(states),), float("nan")))
    with pytest.raises(TrainingDivergedError, match="exploration reward .* iteration 2 "):
        run()  # the explorer is first rewarded on iteration 2
    monkeypatch.setattr(SeCTAR, "step_log_probs", lambda self, s0, z, states: torch.full(states.shape[:2], float("nan")))
    with pytest.raises(TrainingDivergedError, match="consistency reward .* iteration 1 "):
        run(config=dataclasses.replace(TINY, vae_steps=0))


def test_nan_loss_raises_with_the_iteration(monkeypatch):
    config = dataclasses.replace(TINY, explore_starts=0, buffer_planning=True)  # data from the planning episodes only
    monkeypatch.setattr(SeCTAR, "state_log_prob", lambda self, s0, z, states: torch.full(states.shape[:1], float("nan")))
    with pytest.raises(TrainingDivergedError, match="loss .* iteration 1 "):
        run(config=config)


def test_resume_after_a_kill_equals_the_uninterrupted_run(tmp_path):
    model_a, curve_a = run(seed=5)  # 2 iterations

    class Killed(Exception):
        pass

    def kill(model, curve, steps):
        raise Killed  # after iteration 1's state was written

    with pytest.raises(Killed):
        train_sectar(
            ENV, total_env_steps=BUDGET, seed=5, config=TINY, env_kwargs=ENV_KWARGS, state_dir=tmp_path, on_iteration=kill
        )
    model_b, curve_b = train_sectar(ENV, total_env_steps=BUDGET, seed=5, config=TINY, env_kwargs=ENV_KWARGS, state_dir=tmp_path)
    assert (curve_b.env_steps, curve_b.returns, curve_b.successes) == (curve_a.env_steps, curve_a.returns, curve_a.successes)
    assert curve_b.last["sectar/loss"] == curve_a.last["sectar/loss"]
    for (name, p), q in zip(model_a.state_dict().items(), model_b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    with pytest.raises(CheckpointError, match="another seed"):
        train_sectar(ENV, total_env_steps=BUDGET, seed=6, config=TINY, env_kwargs=ENV_KWARGS, state_dir=tmp_path)
    (state_file,) = tmp_path.glob("checkpoints/step-*/trainer_state.pt")  # iteration 2's; iteration 1's was removed
    state = torch.load(state_file, weights_only=True)
    torch.save(state | {"format": 1}, state_file)  # written before the explorer-reward fix
    with pytest.raises(CheckpointError, match="has format 1, expected 3: .*start a new run directory"):
        train_sectar(ENV, total_env_steps=BUDGET, seed=5, config=TINY, env_kwargs=ENV_KWARGS, state_dir=tmp_path)


def test_a_state_saved_before_the_init_choice_resumes_only_as_the_initialisation_it_had(tmp_path):
    ours = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, init="ours"))
    train_sectar(ENV, total_env_steps=92, seed=2, config=ours, env_kwargs=ENV_KWARGS, state_dir=tmp_path)
    (state_file,) = tmp_path.glob("checkpoints/step-*/trainer_state.pt")
    state = torch.load(state_file, weights_only=True)
    config = json.loads(state["config"])
    for part, fields in {"model": ("init", "policy_init_std"), "explorer": ("act", "init", "init_std", "action_scale")}.items():
        for name in fields:
            del config[part][name]  # as written before these fields existed
    torch.save(state | {"config": json.dumps(config)}, state_file)
    _, curve = train_sectar(ENV, total_env_steps=184, seed=2, config=ours, env_kwargs=ENV_KWARGS, state_dir=tmp_path)
    assert curve.env_steps[0] == 24 and len(curve.env_steps) == 2  # resumed after its first iteration
    authors = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, init="authors"))
    with pytest.raises(CheckpointError, match="another config"):
        train_sectar(ENV, total_env_steps=276, seed=2, config=authors, env_kwargs=ENV_KWARGS, state_dir=tmp_path)
