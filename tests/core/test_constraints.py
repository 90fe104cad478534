"""Declared field constraints: every way of building a config refuses a bad value with field, value and range."""

from __future__ import annotations

import math
from typing import Annotated

import pytest
import torch

from zspace.core.config import from_dict, override
from zspace.core.constraints import (
    FieldError,
    Interval,
    MaybeInfinite,
    NonNegative,
    Positive,
    Seed,
    Size,
    Sizes,
    check_value,
    configclass,
)
from zspace.core.memory import check_model_fits
from zspace.errors import ConfigError
from zspace.vae import PRESETS
from zspace.vae.model import VAEConfig


@configclass
class Toy:
    size: Size = 1
    seed: Seed = 0
    rate: Positive = 1.0
    decay: NonNegative = 0.0
    widths: Sizes = (4,)
    limit: Annotated[float, MaybeInfinite] = math.inf
    optional: Size | None = None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": 0}, r"Toy.size = 0: expected an integer in \[1, 2\^63\)"),
        ({"size": True}, "Toy.size = True: expected an integer"),
        ({"size": 2.5}, "Toy.size = 2.5: expected an integer"),
        ({"seed": -1}, r"Toy.seed = -1: expected an integer in \[0, 2\^63\)"),
        ({"seed": 2**64}, "Toy.seed = 18446744073709551616"),
        ({"rate": math.nan}, r"Toy.rate = nan: expected a finite number in \(0, inf\)"),
        ({"rate": math.inf}, "Toy.rate = inf: expected a finite number"),
        ({"rate": 0.0}, r"Toy.rate = 0.0: expected a finite number in \(0, inf\)"),
        ({"rate": "1"}, "Toy.rate = '1': expected a finite number"),
        ({"decay": -1e-9}, r"Toy.decay = -1e-09: expected a finite number in \[0, inf\)"),
        ({"widths": ()}, r"Toy.widths = \(\): expected at least 1 item"),
        ({"widths": (4, -5)}, r"Toy.widths\[1\] = -5: expected an integer in \[1"),
        ({"widths": [4]}, "Toy.widths = \\[4\\]: expected a tuple"),
        ({"limit": math.nan}, "Toy.limit = nan: expected a number"),
        ({"optional": 0}, r"Toy.optional = 0: expected an integer in \[1, 2\^63\) or None"),
    ],
)
def test_a_bad_value_names_the_field_the_value_and_the_range(changes, message):
    with pytest.raises(FieldError, match=message):
        Toy(**changes)


def test_good_values_and_declared_infinity_pass():
    toy = Toy(size=3, seed=2**63 - 1, rate=1e-9, decay=0, widths=(1, 2), limit=-math.inf, optional=7)
    assert toy.seed == 2**63 - 1 and toy.limit == -math.inf


def test_every_way_of_building_names_the_full_path():
    base = PRESETS["digits"]
    with pytest.raises(ConfigError, match=r"^VAERunConfig.train.lr.value = nan: expected a finite number"):
        override(base, {"train.lr.value": "nan"})
    with pytest.raises(ConfigError, match=r"^VAERunConfig.train.lr.value = inf"):
        override(base, {"train.lr": "inf"})  # the scalar form of a schedule
    with pytest.raises(ConfigError, match=r"^VAERunConfig.model.hidden\[0\] = -5"):
        override(base, {"model.hidden": "-5,10"})
    with pytest.raises(ConfigError, match=r"^run/config.json.model.latent_dim = 0"):
        from_dict(type(base), {"model": {"latent_dim": 0}}, where="run/config.json")
    with pytest.raises(ConfigError, match=r"^VAEConfig.latent_dim = -1"):
        VAEConfig(latent_dim=-1)  # the Python API


def test_interval_text_and_membership():
    assert str(Interval(0, 1, open="high")) == "[0, 1)" and str(Interval(None, 2**63)) == "(-inf, 2^63]"
    assert Interval(0, 1, open="low").holds(1) and not Interval(0, 1, open="low").holds(0)
    check_value(None, Size | None, "x")
    with pytest.raises(FieldError, match="one of"):
        from typing import Literal

        check_value("c", Literal["a", "b"], "x")


def test_a_model_too_large_is_refused_without_allocating():
    huge = VAEConfig(latent_dim=10**11)  # a 10^14-weight layer: never allocated
    from zspace.vae.model import VAE

    with pytest.raises(ConfigError, match=r"the VAE would have 1.2e\+14 parameters"):
        check_model_fits(lambda: VAE(huge), "the VAE")
    assert check_model_fits(lambda: torch.nn.Linear(3, 2), "a layer", limit_bytes=10**6) == 8
    with pytest.raises(ConfigError, match="a layer would have 8 parameters"):
        check_model_fits(lambda: torch.nn.Linear(3, 2), "a layer", limit_bytes=100)
