"""Schedules: each kind against hand values; validation; purity in the step."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zspace.core import Schedule, cosine_decay, exponential_decay, exponential_rise, linear_warmup
from zspace.errors import ConfigError


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=1e-15)


def test_constant():
    s = Schedule(kind="constant", value=0.3)
    assert [s(step) for step in (0, 1, 10**6)] == [0.3, 0.3, 0.3]
    assert Schedule()(123) == 1.0  # default: constant 1


def test_linear_warmup_endpoints_and_midpoint():
    s = Schedule(kind="linear", value=2.0, start=0.5, warmup_steps=100)
    assert s(0) == 0.5
    assert s(50) == approx(1.25)
    assert s(25) == approx(0.875)
    assert s(100) == 2.0
    assert s(10_000) == 2.0
    assert linear_warmup(50, 100, 1.0) == approx(0.5)
    assert linear_warmup(0, 0, 7.0) == 7.0  # no warm-up: the value from step 0


def test_linear_warmup_can_ramp_down():
    s = Schedule(kind="linear", value=0.0, start=1.0, warmup_steps=10)
    assert [s(i) for i in (0, 5, 10, 11)] == [1.0, approx(0.5), 0.0, 0.0]


def test_exponential_rise_is_magenta_beta():
    s = Schedule(kind="exponential-rise", value=0.2, rate=0.99)
    assert s(0) == 0.0
    assert s(1) == approx(0.2 * 0.01)
    assert s(100) == approx(0.2 * (1 - 0.99**100))
    assert s(10_000) == pytest.approx(0.2, rel=1e-12)
    values = [s(i) for i in range(0, 2000, 50)]
    assert all(a < b for a, b in itertools.pairwise(values))
    assert all(v < 0.2 for v in values)
    assert exponential_rise(3, 1.0, 0.5) == approx(0.875)


def test_exponential_decay_is_magenta_learning_rate():
    s = Schedule(kind="exponential-decay", value=1e-3, rate=0.9, min_value=1e-5)
    assert s(0) == approx(1e-3)
    assert s(1) == approx((1e-3 - 1e-5) * 0.9 + 1e-5)
    assert s(10) == approx((1e-3 - 1e-5) * 0.9**10 + 1e-5)
    assert s(100_000) == pytest.approx(1e-5, rel=1e-9)
    assert exponential_decay(2, 1.0, 0.5, 0.0) == approx(0.25)


def test_exponential_decay_after_warmup():
    s = Schedule(kind="exponential-decay", value=1.0, rate=0.5, min_value=0.1, warmup_steps=10)
    assert s(0) == 0.0  # warm-up from 0
    assert s(5) == approx(0.5)
    assert s(10) == approx(1.0)  # decay starts at the end of the warm-up
    assert s(11) == approx(0.9 * 0.5 + 0.1)
    assert s(12) == approx(0.9 * 0.25 + 0.1)


def test_cosine_endpoints_midpoint_and_warmup():
    s = Schedule(kind="cosine", value=1.0, min_value=0.1)
    assert s(0, total_steps=100) == approx(1.0)
    assert s(50, total_steps=100) == approx(0.55)
    assert s(25, total_steps=100) == approx(0.1 + 0.45 * (1 + math.cos(math.pi / 4)))
    assert s(100, total_steps=100) == approx(0.1)
    assert s(500, total_steps=100) == approx(0.1)  # clamped after the end

    w = Schedule(kind="cosine", value=2.0, min_value=0.0, warmup_steps=20)
    assert w(0, total_steps=120) == 0.0
    assert w(10, total_steps=120) == approx(1.0)
    assert w(20, total_steps=120) == approx(2.0)  # peak at the end of warm-up
    assert w(70, total_steps=120) == approx(1.0)  # halfway through the 100 decay steps
    assert w(120, total_steps=120) == approx(0.0)
    assert cosine_decay(0, 3.0, 10, 1.0) == 3.0


def test_cosine_needs_total_steps():
    with pytest.raises(ValueError, match="total_steps"):
        Schedule(kind="cosine")(5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "sigmoid"},
        {"kind": "exponential-rise", "rate": 0.0},
        {"kind": "exponential-rise", "rate": -0.5},
        {"kind": "exponential-decay", "rate": 1.5},
        {"rate": float("nan")},
        {"kind": "linear", "warmup_steps": -1},
    ],
)
def test_invalid_configs_raise_config_error(kwargs):
    with pytest.raises(ConfigError):
        Schedule(**kwargs)


def test_error_lists_valid_kinds():
    with pytest.raises(ConfigError, match="exponential-rise"):
        Schedule(kind="sigmoid")


def test_rate_one_is_allowed_and_constant_decay():
    s = Schedule(kind="exponential-decay", value=0.7, rate=1.0, min_value=0.1)
    assert s(0) == approx(0.7) and s(1000) == approx(0.7)


def test_schedule_is_frozen_and_keyword_only():
    s = Schedule(kind="linear", value=1.0, warmup_steps=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.value = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        Schedule("linear")  # type: ignore[misc]


_schedules = st.builds(
    Schedule,
    kind=st.sampled_from(["constant", "linear", "exponential-decay", "exponential-rise", "cosine"]),
    value=st.floats(0.0, 10.0),
    start=st.floats(0.0, 10.0),
    warmup_steps=st.integers(0, 200),
    rate=st.floats(0.5, 1.0, exclude_min=True),
    min_value=st.floats(0.0, 1.0),
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(schedule=_schedules, steps=st.lists(st.integers(0, 5000), min_size=1, max_size=20), seed=st.integers(0, 2**16))
def test_schedule_is_pure_function_of_step(schedule, steps, seed):
    total = 5000 + schedule.warmup_steps
    forward = [schedule(s, total_steps=total) for s in steps]
    shuffled = list(enumerate(steps))
    random.Random(seed).shuffle(shuffled)
    again = {i: schedule(s, total_steps=total) for i, s in shuffled}
    assert [again[i] for i in range(len(steps))] == forward
    clone = dataclasses.replace(schedule)
    assert [clone(s, total_steps=total) for s in reversed(steps)] == forward[::-1]
    assert all(math.isfinite(v) for v in forward)
