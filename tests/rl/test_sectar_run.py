"""A SeCTAR run directory: continued after a kill before its first save, on its own task only."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from tests.rl.test_sectar_train import TINY

from zspace.errors import CheckpointError
from zspace.rl.sectar.run import load_run, train_run

ENV = "zspace/Waypoints-v0"
CONFIG = replace(TINY, plan_episodes=1)
STEPS = 1200


class Killed(Exception):
    pass


def kill(env_steps, total, metrics):
    raise Killed  # after the first iteration's training state was written, long before --save-every


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sectar") / "nav"
    with pytest.raises(Killed):
        train_run(out, ENV, total_env_steps=STEPS, config=CONFIG, env_kwargs={"layout_seed": 0}, on_progress=kill)
    return out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"env_kwargs": {"layout_seed": 1}}, "resume with --layout-seed 0"),
        ({"env_kwargs": {}}, "resume with --layout-seed 0"),
        ({"env_kwargs": {"layout_seed": 0, "layout": "walk"}}, "resume with --layout-seed 0"),
        ({"seed": 3}, "--seed 0"),
        ({"config": replace(CONFIG, n_candidates=CONFIG.n_candidates + 1)}, r"differs .* in \['n_candidates'\]"),
    ],
)
def test_resume_on_another_task_seed_or_config_is_refused_and_rewrites_nothing(killed_run, change, message):
    before = {p.name: p.read_bytes() for p in killed_run.iterdir() if p.is_file() and not p.name.startswith(".")}
    args = {"total_env_steps": STEPS, "config": CONFIG, "env_kwargs": {"layout_seed": 0}} | change
    with pytest.raises(CheckpointError, match=message):
        train_run(killed_run, ENV, resume=True, **args)
    assert {p.name: p.read_bytes() for p in killed_run.iterdir() if p.is_file() and not p.name.startswith(".")} == before


def test_a_run_killed_before_its_first_save_resumes(killed_run):
    config = json.loads((killed_run / "config.json").read_text())  # written before the first iteration
    assert (config["family"], config["env_kwargs"], config["seed"]) == ("sectar", {"layout_seed": 0}, 0)
    assert (killed_run / "train_state.pt").is_file() and not (killed_run / "model.safetensors").exists()
    _, curve = train_run(killed_run, ENV, total_env_steps=STEPS, config=CONFIG, env_kwargs={"layout_seed": 0}, resume=True)
    uninterrupted_out = killed_run.parent / "uninterrupted"
    _, uninterrupted = train_run(uninterrupted_out, ENV, total_env_steps=STEPS, config=CONFIG, env_kwargs={"layout_seed": 0})
    assert (curve.env_steps, curve.returns) == (uninterrupted.env_steps, uninterrupted.returns)
    assert load_run(killed_run).env_kwargs == {"layout_seed": 0}
