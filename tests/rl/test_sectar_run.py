"""A SeCTAR run directory: checkpoints, continued after a kill on its own task only, and runs of the layout before them."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file
from tests.rl.test_sectar_train import ENV_KWARGS as TINY_ENV
from tests.rl.test_sectar_train import TINY

from zspace.errors import CheckpointError
from zspace.rl.sectar.run import load_run, train_run
from zspace.rl.sectar.train import train_sectar

ENV = "zspace/Waypoints-v0"
CONFIG = replace(TINY, plan_episodes=1)
STEPS = 1200
LAYOUT = {"layout_seed": 0}


class Killed(Exception):
    pass


def kill(env_steps, total, metrics):
    raise Killed  # after the first iteration's checkpoint was written, long before --save-every


def files(run):
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file() and p.name[0] != "."}


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """(a run killed after its first iteration, an untouched copy of it)."""
    out = tmp_path_factory.mktemp("sectar") / "nav"
    with pytest.raises(Killed):
        train_run(out, ENV, total_env_steps=STEPS, config=CONFIG, env_kwargs=LAYOUT, on_progress=kill)
    shutil.copytree(out, out.parent / "pristine")
    return out, out.parent / "pristine"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("sectar") / "uninterrupted"
    return out, train_run(out, ENV, total_env_steps=STEPS, config=CONFIG, env_kwargs=LAYOUT)[1]


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
def test_resume_on_another_task_seed_or_config_is_refused_and_rewrites_nothing(killed, change, message):
    run, pristine = killed
    args = {"total_env_steps": STEPS, "config": CONFIG, "env_kwargs": LAYOUT} | change
    with pytest.raises(CheckpointError, match=message):
        train_run(run, ENV, resume=True, **args)
    assert files(run) == files(pristine)


def test_a_killed_run_resumes_from_its_last_checkpoint(killed, uninterrupted):
    run, _ = killed
    config = json.loads((run / "config.json").read_text())  # written once, before the first iteration
    assert (config["family"], config["env_kwargs"], config["seed"]) == ("sectar", LAYOUT, 0)
    (checkpoint,) = (run / "checkpoints").iterdir()
    assert json.loads((checkpoint / "config.json").read_text()) == config and not (run / "model.safetensors").exists()
    _, curve = train_run(run, ENV, total_env_steps=STEPS, config=CONFIG, env_kwargs=LAYOUT, resume=True)
    assert (curve.env_steps, curve.returns) == (uninterrupted[1].env_steps, uninterrupted[1].returns)
    assert json.loads((run / "config.json").read_text()) == config
    loaded = load_run(run)
    assert loaded.env_kwargs == LAYOUT and loaded.curve["returns"] == curve.returns and loaded.config == CONFIG


def test_a_run_of_the_layout_before_checkpoints_loads_and_resumes(killed, uninterrupted, tmp_path):
    """Weights, training state (format 2, the weights inside) and run.json at the top, as that code wrote them."""
    old = tmp_path / "old"
    shutil.copytree(killed[1], old)
    (checkpoint,) = (old / "checkpoints").iterdir()
    state = torch.load(checkpoint / "trainer_state.pt", weights_only=True)
    curve = {k: v for k, v in json.loads(state["curve"]).items() if k in ("method", "env_id", "seed", "env_steps", "returns",
                                                                          "successes", "wall_s")}  # fmt: skip
    curve["extra"] = {"history": [{"env_steps": state["env_steps"]}], "iterations": 1}
    weights = load_file(str(checkpoint / "model.safetensors"))
    torch.save(state | {"format": 2, "model": weights, "curve": json.dumps(curve)}, old / "train_state.pt")
    shutil.copy(checkpoint / "model.safetensors", old / "model.safetensors")
    config = json.loads((old / "config.json").read_text())
    (old / "run.json").write_text(
        json.dumps({**{k: config[k] for k in ("env_id", "env_kwargs", "seed", "train")}, "curve": curve})
    )
    shutil.rmtree(old / "checkpoints")

    loaded = load_run(old)
    assert loaded.curve["returns"] == curve["returns"] and loaded.env_kwargs == LAYOUT
    for name, value in loaded.model.state_dict().items():
        assert torch.equal(value, weights[name]), name
    _, resumed = train_run(old, ENV, total_env_steps=STEPS, config=CONFIG, env_kwargs=LAYOUT, resume=True)
    assert (resumed.env_steps, resumed.returns) == (uninterrupted[1].env_steps, uninterrupted[1].returns)
    assert not any((old / name).exists() for name in ("model.safetensors", "train_state.pt", "run.json"))
    assert load_run(old).curve["returns"] == resumed.returns


def test_a_checkpoint_is_kept_every_save_every_env_steps_and_the_last_one_always(tmp_path):
    # iterations end at 92, 184, 276 and 300 env steps
    for keep_every, kept in ((0, [300]), (150, [184, 300]), (50, [92, 184, 276, 300])):
        train_sectar(ENV, total_env_steps=300, seed=0, config=TINY, env_kwargs=TINY_ENV, state_dir=tmp_path / str(keep_every),
                     keep_every=keep_every)  # fmt: skip
        checkpoints = sorted((tmp_path / str(keep_every) / "checkpoints").iterdir())
        assert [p.name for p in checkpoints] == [f"step-{step:08d}" for step in kept]
        states = [torch.load(p / "trainer_state.pt", weights_only=True) for p in checkpoints]
        assert "buffer_states" in states[-1] and not any("buffer_states" in state for state in states[:-1])  # resumes: last
        assert [json.loads(state["curve"])["env_steps"][-1] for state in states] == [step - 68 for step in kept[:-1]] + [300]
