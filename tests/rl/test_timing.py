"""The activity stopwatch: marks cost nothing unless it records, and nested marks count once."""

from __future__ import annotations

import time

import pytest

from zspace.rl.timing import Stopwatch, timed


def test_marks_outside_a_recording_add_nothing():
    clock = Stopwatch()
    with timed("env"):
        time.sleep(0.01)
    assert clock.seconds == {}


def test_a_recording_sums_each_activity_and_nested_marks_count_toward_the_outer_one():
    clock = Stopwatch()
    with clock.recording():
        for _ in range(2):
            with timed("env"):
                time.sleep(0.01)
        with timed("ppo"), timed("env"):  # the inner mark is inside "ppo": its time is ppo's
            time.sleep(0.02)
    assert set(clock.seconds) == {"env", "ppo"}
    assert clock.seconds["env"] == pytest.approx(0.02, abs=0.015)
    assert clock.seconds["ppo"] >= 0.02
    with timed("env"):  # the recording has ended
        time.sleep(0.01)
    assert set(clock.seconds) == {"env", "ppo"} and clock.seconds["env"] < 0.035


def test_shares_add_the_rest_as_other_and_sum_to_one():
    clock = Stopwatch()
    clock.seconds = {"env": 1.0, "decode": 2.0}
    assert clock.shares(4.0) == {"decode": 0.5, "env": 0.25, "other": 0.25}
    assert clock.shares(2.0)["other"] == 0.0  # never negative
