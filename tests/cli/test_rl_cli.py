"""`zspace train sectar`, `zspace sectar plan / render` through typer's CliRunner, on a one-episode budget; `zspace presets`."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from zspace.cli.main import app

runner = CliRunner()
TINY = ["--env", "zspace/Waypoints-v0", "--layout-seed", "0", "--steps", "1300", "--candidates", "16", "--horizon", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("rl") / "nav"
    result = runner.invoke(app, ["train", "sectar", *TINY, "--out", str(out)])
    torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_a_reloadable_run(run):
    from zspace.rl.sectar.run import load_run

    info = load_run(run)
    assert info.env_id == "zspace/Waypoints-v0" and info.env_kwargs == {"layout_seed": 0}
    assert info.curve["method"] == "sectar" and len(info.curve["returns"]) == 1 and info.config.n_candidates == 16
    (checkpoint,) = (run / "checkpoints").iterdir()
    assert (checkpoint / "model.safetensors").is_file() and not (run / "model.safetensors").exists()
    config = json.loads((run / "config.json").read_text())
    assert (config["family"], config["format_version"], config["env_id"]) == ("sectar", 1, "zspace/Waypoints-v0")
    assert config["train"]["model"]["kl_weight"] == 0.02  # the default preset: cpu (ours)


def test_plan_reports_returns_reproducibly(run):
    first = runner.invoke(app, ["sectar", "plan", str(run), "--episodes", "1", "--candidates", "8"])
    second = runner.invoke(app, ["sectar", "plan", str(run), "--episodes", "1", "--candidates", "8"])
    assert first.exit_code == 0, first.output
    assert "return mean" in first.output and first.output == second.output
    sparse = runner.invoke(app, ["sectar", "plan", str(run), "--episodes", "1", "--candidates", "8", "--shaping", "none"])
    assert sparse.exit_code == 0 and "return mean" in sparse.output, sparse.output
    # the default preset (cpu) plans with its labelled tie-break; --shaping none is the authors' sparse scoring
    assert "distance tie-break (ours)" in first.output and "sparse reward (the authors')" in sparse.output


def test_eval_runs_the_episodes_sectar_plan_runs(run, monkeypatch):
    import zspace.rl.sectar.run as sectar_run

    seeds: list[int] = []
    plan_episode = sectar_run.plan_episode
    monkeypatch.setattr(sectar_run, "plan_episode", lambda *a, seed, **k: seeds.append(seed) or plan_episode(*a, seed=seed, **k))
    for command in (["eval", str(run)], ["sectar", "plan", str(run)], ["eval", str(run), "--seed", "7"]):
        result = runner.invoke(app, [*command, "--episodes", "2"])
        assert result.exit_code == 0 and "return mean" in result.output, result.output
    assert seeds == [1000, 1001, 1000, 1001, 7, 8]  # `zspace eval` defaults to `sectar plan`'s seed, apart from training's


def test_render_writes_the_episode_gif_and_skills_figure(run, tmp_path):
    result = runner.invoke(app, ["sectar", "render", str(run), "--skills", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    gif = Image.open(tmp_path / "episode.gif")
    assert gif.n_frames == 20  # one frame per segment of the 380-step episode
    assert Image.open(tmp_path / "skills.png").size[0] > 100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "sectar", "--env", "zspace/Nope-v0", "--out", "x"], "Nope"),
        (["train", "sectar", "--preset", "huge", "--out", "x"], "huge"),
        (["sectar", "plan", "missing-run"], "missing-run"),
        (["train", "sectar", "--shaping", "dense", "--out", "x"], "plan_shaping = 'dense': expected one of"),
        (["train", "sectar", "--save-every", "-1", "--out", "x"], "--save-every"),
    ],
)
def test_bad_input_is_one_line_error(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.output


def test_presets_lists_every_family():
    result = runner.invoke(app, ["presets"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    # SeCTAR's presets are its complete training configs (zspace.rl.sectar.config), what --preset takes
    pairs = (("vae", "digits-2d"), ("music", "hierdec-mel_16bar"), ("sectar", "cpu"), ("sectar", "paper-small"),
             ("structured", "synthetic-latent"))  # fmt: skip
    for family, name in pairs:
        assert any(line.split("│")[1].strip() == family and name in line for line in result.output.splitlines() if "│" in line)


def test_train_passes_save_every_and_accepts_the_old_preset_name(tmp_path, monkeypatch):
    from zspace.rl.sectar import train as sectar_train
    from zspace.rl.sectar.config import PRESETS
    from zspace.rl.sectar.train import SectarCurve

    seen = {}

    def fake_train(env_id, *, config, keep_every, **_):
        seen.update(config=config, keep_every=keep_every)
        return "model", SectarCurve(env_id=env_id, seed=0)

    monkeypatch.setattr(sectar_train, "train_sectar", fake_train)
    args = ["train", "sectar", "--steps", "52000", "--save-every", "25000", "--preset", "small"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert seen == {"config": PRESETS["cpu"], "keep_every": 25_000}
    assert "--preset small is the old name of --preset cpu" in result.output


def test_train_reports_progress_with_return_and_consistency_error(tmp_path, monkeypatch):
    from zspace.rl.sectar import train as sectar_train
    from zspace.rl.sectar.run import train_run
    from zspace.rl.sectar.train import SectarCurve

    def fake_train(env_id, *, seed, log, on_iteration, **_):
        curve = SectarCurve(env_id=env_id, seed=seed)
        for steps, ret in ((400, 1.5), (800, 2.5)):
            curve.record(steps, ret, 0.0)
            log(steps, {"charts/return": ret, "consistency/error": 0.25, "sectar/loss": 3.0})
            on_iteration("model", curve, steps)
        return "model", curve

    monkeypatch.setattr(sectar_train, "train_sectar", fake_train)
    seen = []
    train_run(tmp_path / "nav", "zspace/Waypoints-v0", total_env_steps=800, on_progress=lambda *a: seen.append(a))
    assert seen == [(400, 800, {"charts/return": 1.5, "consistency/error": 0.25}),
                    (800, 800, {"charts/return": 2.5, "consistency/error": 0.25})]  # fmt: skip


def test_progress_lines_off_a_terminal(caplog):
    import logging

    from zspace.cli.sectar import sectar_progress

    with caplog.at_level(logging.INFO, logger="zspace.rl"), sectar_progress("zspace/Waypoints-v0", 800) as update:
        update(400, 800, {"charts/return": 1.5, "consistency/error": 0.25})
    assert "env steps 400/800 return 1.50  consistency error 0.250 m" in caplog.text


def test_presets_names_are_never_cut_at_80_columns():
    from zspace.music.presets import PRESETS as MUSIC_PRESETS

    result = runner.invoke(app, ["presets"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    shown = {cell.strip() for line in result.output.splitlines() if "│" in line for cell in line.split("│")[2:3]}
    assert set(MUSIC_PRESETS) <= shown
