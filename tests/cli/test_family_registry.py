"""The family registry drives the CLI and the server: a toy family registered at run time is found by
`zspace train --help`, `zspace train toy`, `zspace presets`, `zspace eval` and `zspace serve`'s app."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from zspace import families
from zspace.cli.common import SetOpt, apply_sets, console
from zspace.cli.main import EVAL_K, app
from zspace.core.config import Registry
from zspace.core.constraints import Size, configclass
from zspace.train import runs

runner = CliRunner()


@configclass
class ToyConfig:
    width: Size = 3


TOY_PRESETS: Registry[ToyConfig] = Registry("toy")
TOY_PRESETS.register("narrow", ToyConfig(width=2))


def train(
    out: Annotated[Path, typer.Option("--out")], preset: str = "narrow", set_: SetOpt = None
) -> None:  # the family's train command
    """Train the toy: write its run config."""
    config = apply_sets(TOY_PRESETS[preset], set_)
    runs.save_run(out, "toy", {"width": config.width})
    console.print(f"toy of width {config.width}")


def evaluate_toy(run_dir: Path, *, seed: int = 0) -> dict[str, int]:  # the family's library evaluate
    return {"width": runs.read_run_info(run_dir).config["width"], "seed": seed}


def evaluate(run: Path, options: Any) -> None:  # `zspace eval` for toy runs: flags in, the library, a printed line
    results = families.get("toy").evaluate(run, seed=options.seed or 0)
    console.print(" ".join(f"{name}={value}" for name, value in results.items()))


class ToyView:
    def __init__(self, width: int) -> None:
        self.width = width

    @classmethod
    def from_run(cls, run_dir: Path) -> ToyView:
        return cls(runs.read_run_info(run_dir).config["width"])

    def info(self) -> dict[str, Any]:
        return {"width": self.width}


def add_routes(api: Any, served: Any) -> None:
    @api.get("/toy/width")
    def width(run_id: int) -> dict[str, int]:
        return {"width": served.view(run_id, "toy").width}


TOY = families.Family(
    name="toy",
    summary="A toy family that exists only in this test.",
    run_config=ToyConfig,
    presets=TOY_PRESETS,
    default_preset="narrow",
    describe_preset=lambda config: (f"width={config.width}", "none", "instant"),
    evaluate=evaluate_toy,
    commands=__name__,
    instead={"sample": "zspace toy-sample {run}"},
    serve_view=f"{__name__}:ToyView.from_run",
    serve_routes=__name__,
)


@pytest.fixture
def toy():
    assert sys.modules[__name__]  # the family's modules are found by import path
    with families.registered(TOY):
        yield TOY
    assert "toy" not in families.names()


def test_a_registered_family_is_a_train_command_with_presets_and_set(toy, tmp_path):
    listing = runner.invoke(app, ["train", "--help"])
    assert listing.exit_code == 0 and "toy" in listing.output and "A toy family" in listing.output
    for name in ("vae", "music", "sectar", "structured"):
        assert name in listing.output
    result = runner.invoke(app, ["train", "toy", "--out", str(tmp_path / "run"), "--set", "width=7"])
    assert result.exit_code == 0 and "toy of width 7" in result.output, result.output
    assert runs.read_run_info(tmp_path / "run").config["width"] == 7
    refused = runner.invoke(app, ["train", "toy", "--out", str(tmp_path / "bad"), "--set", "width=0"])
    assert refused.exit_code == 2 and "ToyConfig.width = 0" in refused.output
    presets = runner.invoke(app, ["presets"], terminal_width=200)
    assert presets.exit_code == 0 and "narrow" in presets.output and "width=2" in presets.output
    sampled = runner.invoke(app, ["sample", str(tmp_path / "run")])
    assert sampled.exit_code == 2 and "`zspace sample` does not apply to 'toy' runs" in sampled.output
    assert "zspace toy-sample" in sampled.output


def test_the_shared_verbs_call_the_familys_library_functions(tmp_path):
    def evaluate_twice(run_dir: Path, *, seed: int = 0) -> dict[str, int]:
        return {"width": 2 * runs.read_run_info(run_dir).config["width"], "seed": seed}

    with families.registered(TOY) as toy:
        runs.save_run(tmp_path / "run", "toy", {"width": 5})
        assert toy.evaluate(tmp_path / "run", seed=3) == {"width": 5, "seed": 3}  # what Python users call
        evaluated = runner.invoke(app, ["eval", str(tmp_path / "run"), "--seed", "3"])
    assert evaluated.exit_code == 0 and "width=5 seed=3" in evaluated.output, evaluated.output
    # The CLI module looks the function up in the registry: another library function, another result.
    with families.registered(dataclasses.replace(TOY, evaluate=evaluate_twice)):
        evaluated = runner.invoke(app, ["eval", str(tmp_path / "run")])
    assert evaluated.exit_code == 0 and "width=10 seed=0" in evaluated.output, evaluated.output


@pytest.mark.parametrize("name", ["vae", "music", "sectar", "structured"])
def test_a_built_in_familys_verbs_are_library_functions_the_cli_calls(name):
    family = families.get(name)
    commands = families.resolve(family.commands)
    for verb in ("evaluate", "sample", "explore"):
        function = getattr(family, verb)
        assert (function is None) == (getattr(commands, verb, None) is None), f"{name}.{verb}"
        assert function is None or not function.__module__.startswith("zspace.cli"), function


def test_a_registered_family_is_served(toy, tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from zspace.serve import create_app
    from zspace.serve.server import load_runs

    runs.save_run(tmp_path / "run", "toy", {"width": 5})
    client = TestClient(create_app(load_runs([tmp_path / "run"])), base_url="http://127.0.0.1:8000")
    assert client.get("/api/runs").json() == [{"id": 0, "name": "run", "family": "toy", "info": {"width": 5}}]
    assert client.get("/api/runs/0/toy/width").json() == {"width": 5}


def test_an_unknown_family_and_a_taken_name_are_refused():
    with pytest.raises(Exception, match="unknown family 'gan'; valid families are"):
        families.get("gan")
    with pytest.raises(Exception, match="already registered"):
        families.register(families.Family(name="vae", summary="again"))


def test_the_shared_eval_default_is_the_vaes():
    from zspace.vae.evaluate import DEFAULT_K

    assert EVAL_K == DEFAULT_K


@pytest.mark.parametrize(("group", "verb"), [("structured", "fit"), ("music", "train")])
def test_old_spellings_leave_the_help(group, verb):
    top = runner.invoke(app, ["--help"])
    assert "│ rl " not in top.output and "│ sectar " in top.output
    listing = runner.invoke(app, [group, "--help"])
    assert listing.exit_code == 0 and f"│ {verb} " not in listing.output


def test_an_old_spelling_runs_and_prints_the_new_one(tmp_path):
    result = runner.invoke(app, ["rl", "plan", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "`zspace rl plan` is now `zspace sectar plan`" in result.output


def _a_run_config(family: families.Family) -> Any:
    if family.name == "music":  # a music run config names its data; its presets are model + objective + train
        return family.run_config.from_preset("cat-mel_2bar_tiny", data="mel2.npz")
    return family.presets[family.default_preset]


@pytest.mark.parametrize(
    ("name", "path", "text", "value"),
    [
        ("vae", "train.batch_size", "32", 32),
        ("music", "train.batch_size", "8", 8),
        ("sectar", "model.z_size", "4", 4),
        ("structured", "params.max_epochs", "5", 5),
    ],
)
def test_set_is_one_grammar_for_every_family(name, path, text, value):
    from zspace.core.options import config_options
    from zspace.errors import ConfigError

    family = families.get(name)
    config = _a_run_config(family)
    assert path in {option.path for option in config_options(config)}
    changed = apply_sets(config, [f"{path}={text}"])
    head, _, field = path.partition(".")
    assert getattr(getattr(changed, head), field) == value and isinstance(changed, family.run_config)
    with pytest.raises(ConfigError, match=field):
        apply_sets(config, [f"{path}=-1"])
