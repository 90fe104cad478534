"""Config helpers: dict/JSON round trips, typed overrides, errors that list valid names, registries."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Literal

import pytest

from zspace.core import Registry, from_dict, override, to_dict
from zspace.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Inner:
    latent_dim: int = 2
    hidden: tuple[int, ...] = (400,)
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ConfigError(f"latent_dim must be >= 1, got {self.latent_dim}")


@dataclass(frozen=True, kw_only=True)
class Outer:
    model: Inner = field(default_factory=Inner)
    lr: float = 1e-3
    grad_clip: float | None = None
    size: tuple[int, int] | None = None
    amp: bool = False
    name: str = "run"
    aux: Inner | None = None


CUSTOM = Outer(
    model=Inner(latent_dim=16, hidden=(500, 250), likelihood="gaussian", dropout=0.1),
    lr=3e-4,
    grad_clip=1.0,
    size=(28, 28),
    amp=True,
    name="mnist",
    aux=Inner(latent_dim=3),
)


@pytest.mark.parametrize("config", [Outer(), CUSTOM])
def test_round_trip_through_json(config):
    d = to_dict(config)
    assert isinstance(d["model"], dict)
    text = json.dumps(d)  # JSON-ready: tuples became lists
    back = from_dict(Outer, json.loads(text))
    assert back == config
    assert isinstance(back.model.hidden, tuple)
    assert back.size is None or isinstance(back.size, tuple)


def test_to_dict_hand_values():
    assert to_dict(CUSTOM) == {
        "model": {"latent_dim": 16, "hidden": [500, 250], "likelihood": "gaussian", "dropout": 0.1},
        "lr": 3e-4,
        "grad_clip": 1.0,
        "size": [28, 28],
        "amp": True,
        "name": "mnist",
        "aux": {"latent_dim": 3, "hidden": [400], "likelihood": "bernoulli", "dropout": 0.0},
    }


def test_from_dict_partial_uses_defaults():
    assert from_dict(Outer, {"lr": 0.5}) == Outer(lr=0.5)
    assert from_dict(Outer, {"model": {"latent_dim": 5}}) == Outer(model=Inner(latent_dim=5))


def test_unknown_field_lists_valid_fields():
    with pytest.raises(ConfigError) as err:
        from_dict(Outer, {"lr": 1.0, "learning_rate": 2.0})
    msg = str(err.value)
    assert "learning_rate" in msg
    for name in ("model", "lr", "grad_clip", "size", "amp", "name", "aux"):
        assert name in msg


def test_unknown_nested_field_names_the_path_and_valid_fields():
    with pytest.raises(ConfigError) as err:
        from_dict(Outer, {"model": {"latent_dims": 3}})
    msg = str(err.value)
    assert "Outer.model" in msg and "latent_dims" in msg
    for name in ("latent_dim", "hidden", "likelihood", "dropout"):
        assert name in msg


def test_override_dotted_paths_and_string_values():
    base = Outer()
    out = override(
        base,
        {"lr": "1e-3", "model.hidden": "500,500", "amp": "true", "model.latent_dim": "8", "size": "32 32"},
    )
    assert out.lr == 1e-3 and isinstance(out.lr, float)
    assert out.model.hidden == (500, 500)
    assert out.amp is True
    assert out.model.latent_dim == 8 and isinstance(out.model.latent_dim, int)
    assert out.size == (32, 32)
    assert out.model.likelihood == "bernoulli"  # untouched fields keep their values
    assert base == Outer()  # the original is not modified


@pytest.mark.parametrize("text, expected", [("false", False), ("0", False), ("off", False), ("YES", True), ("1", True)])
def test_override_bool_strings(text, expected):
    assert override(Outer(), {"amp": text}).amp is expected


def test_override_optional_and_json_values():
    out = override(CUSTOM, {"grad_clip": None, "model.hidden": [64], "model.dropout": 0})
    assert out.grad_clip is None
    assert out.model.hidden == (64,)
    assert out.model.dropout == 0.0
    assert override(Outer(), {"grad_clip": "0.5"}).grad_clip == 0.5


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"model.likelihood": "poisson"}, "bernoulli"),  # bad Literal lists the valid values
        ({"amp": "maybe"}, "true/false"),
        ({"lr": "fast"}, "float"),
        ({"model.latent_dim": "2.5"}, "int"),
        ({"model.latent_dim": 2.5}, "integer"),
        ({"model.hidden": "4,x"}, "int"),
        ({"model.latent_dim": "0"}, "latent_dim must be >= 1"),  # __post_init__ errors pass through
    ],
)
def test_override_bad_values_raise_config_error(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment):
        override(Outer(), overrides)


def test_override_bad_literal_lists_all_choices():
    with pytest.raises(ConfigError) as err:
        from_dict(Outer, {"model": {"likelihood": "poisson"}})
    assert "bernoulli" in str(err.value) and "gaussian" in str(err.value)


@pytest.mark.parametrize("path", ["learning_rate", "model.latent_dims"])
def test_override_unknown_path_lists_valid_fields(path):
    with pytest.raises(ConfigError, match="valid fields"):
        override(Outer(), {path: 1})


@pytest.mark.parametrize("path", ["lr.x", "aux.latent_dim"])
def test_override_dotted_path_into_non_config_raises_config_error(path):
    with pytest.raises(ConfigError):
        override(Outer(), {path: 1})


def test_variants_via_replace_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CUSTOM.lr = 1.0  # type: ignore[misc]


def test_registry_lookup_and_errors():
    reg: Registry[Outer] = Registry("demo")
    assert reg.register("base", Outer()) == Outer()
    reg.register("custom", CUSTOM)
    assert reg["custom"] is CUSTOM
    assert list(reg) == ["base", "custom"] and len(reg) == 2
    assert dict(reg.items()) == {"base": Outer(), "custom": CUSTOM}
    with pytest.raises(ConfigError) as err:
        reg["cusotm"]
    msg = str(err.value)
    assert "cusotm" in msg and "base" in msg and "custom" in msg and "demo" in msg
    with pytest.raises(ConfigError, match="already registered"):
        reg.register("base", CUSTOM)
    assert reg["base"] == Outer()  # the failed re-registration did not overwrite


def test_registry_mapping_protocol_for_missing_names():
    reg: Registry[Outer] = Registry("demo")
    reg.register("base", Outer())
    assert "base" in reg
    assert "missing" not in reg
    assert reg.get("missing") is None


def test_override_parses_command_line_text_by_the_fields_type():
    from zspace.vae import PRESETS

    config = override(
        PRESETS["digits"],
        {
            "train.lr": "0.01",
            "objective.beta": "0.5",
            "train.max_steps": "none",
            "model.hidden": "[64, 32]",
            "train.epochs": "1e1",
        },
    )
    assert config.train.lr.kind == "constant" and config.train.lr.value == 0.01 and config.objective.beta.value == 0.5
    assert config.train.max_steps is None and config.model.hidden == (64, 32) and config.train.epochs == 10
    lr = override(PRESETS["digits"], {"train.lr": '{"kind": "cosine", "value": 0.002}'}).train.lr
    assert (lr.kind, lr.value) == ("cosine", 0.002)
    with pytest.raises(ConfigError, match="batch_size: expected an integer"):
        override(PRESETS["digits"], {"train.batch_size": "1.5"})
    with pytest.raises(ConfigError, match="expected DataConfig fields"):
        override(PRESETS["digits"], {"data": "7"})
