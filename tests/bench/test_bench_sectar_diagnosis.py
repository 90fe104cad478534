"""The diagnosis measurements: their data kinds, the KL they find, the planning signal, on tiny shapes."""

from __future__ import annotations

import math

import gymnasium
import pytest
import torch

from zspace.rl.envs import WaypointsConfig
from zspace.rl.sectar.model import SeCTAR, SectarConfig

from ._load import load_bench

diagnosis = load_bench("sectar_diagnosis")
collect_segments = diagnosis.collect_segments
favoured_probability = diagnosis.favoured_probability
fit_on_segments = diagnosis.fit_on_segments
latent_report = diagnosis.latent_report
planning_signal = diagnosis.planning_signal

ENV = "zspace/Waypoints-v0"
KWARGS = {"config": WaypointsConfig(segment_len=4, n_segments=3), "layout_seed": 0}


def tiny_model() -> SeCTAR:
    with gymnasium.make(ENV, **KWARGS) as env:  # our initialisation: its residual decoder fits in the few steps below
        config = SectarConfig(z_size=2, hidden=16, encoder_layers=1, decoder_hidden=(), policy_hidden=(16,), init="ours")
        config = config.for_env(env)
    torch.manual_seed(0)
    return SeCTAR(config)


@pytest.mark.parametrize("entropy", [0.5, 1.0, 1.34])
def test_favoured_probability_gives_the_entropy_asked(entropy):
    p = favoured_probability(4, entropy)
    q = (1 - p) / 3
    assert -(p * math.log(p) + 3 * q * math.log(q)) == pytest.approx(entropy, abs=1e-9) and p > 0.25
    assert favoured_probability(4, math.log(4)) == pytest.approx(0.25, abs=1e-6)


def test_segments_chain_and_hold_their_action():
    states, actions = collect_segments(ENV, 6, 2, kind="hold", seed=0, env_kwargs=KWARGS)
    assert states.shape == (12, 5, 2) and actions.shape == (12, 4)
    assert (actions == actions[:, :1]).all()  # one action per segment
    torch.testing.assert_close(states[6:, 0], states[:6, -1])  # segment 2 of each rollout starts where 1 ended
    _, random = collect_segments(ENV, 6, 2, kind="random", seed=0, env_kwargs=KWARGS)
    assert not (random == random[:, :1]).all()
    with pytest.raises(ValueError, match="kind must be one of"):
        collect_segments(ENV, 2, 1, kind="walk", seed=0, env_kwargs=KWARGS)


def test_a_heavy_kl_weight_empties_the_latent_and_a_light_one_keeps_it():
    states, actions = collect_segments(ENV, 64, 2, kind="hold", seed=1, env_kwargs=KWARGS)
    reports = {}
    for weight in (0.01, 50.0):
        model = tiny_model()
        fit_on_segments(model, states, actions, kl_weight=weight, steps=60, batch_size=32, seed=0)
        reports[weight] = latent_report(model, states[:16], ENV, samples=8, env_kwargs=KWARGS)
    assert reports[0.01]["kl_total"] > 10 * reports[50.0]["kl_total"]
    assert reports[0.01]["nats_per_step_from_z"] > reports[50.0]["nats_per_step_from_z"]
    assert len(reports[0.01]["kl_per_dim"]) == 2 and reports[0.01]["kl_per_dim"][0] >= reports[0.01]["kl_per_dim"][1]
    assert reports[0.01]["consistency_error_m"] >= 0 and reports[0.01]["displacement_m"] > 0


def test_planning_signal_is_a_share_of_the_candidates():
    for model in (None, tiny_model()):
        signal = planning_signal(model, ENV, starts=2, candidates=16, horizon=2, seed=0, env_kwargs=KWARGS)
        assert 0.0 <= signal["share_nonzero"] <= 1.0 and signal["best_mean"] >= 0.0


def test_history_keeps_the_diagnosis_metrics_and_replaces_an_iteration_redone_after_a_kill(tmp_path):
    history = diagnosis.History(tmp_path)
    history.log(92, {"sectar/kl": 0.123456789, "sectar/loss": 3.0, "charts/return": 0.0})
    history.log(184, {"sectar/kl": 0.2})
    again = diagnosis.History(tmp_path)  # a resumed run, its checkpoint after iteration 1: iteration 2 is redone
    assert again.rows == [{"env_steps": 92, "sectar/kl": 0.12346}, {"env_steps": 184, "sectar/kl": 0.2}]
    again.log(184, {"sectar/kl": 0.3})
    assert diagnosis.History(tmp_path).rows == [{"env_steps": 92, "sectar/kl": 0.12346}, {"env_steps": 184, "sectar/kl": 0.3}]
    assert diagnosis.History().rows == []  # no state directory: in memory only
