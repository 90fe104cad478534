"""Smoke test of bench/musicvae.py with its --quick budget: the results-file keys and their ranges."""

from __future__ import annotations

import json

import numpy as np

from ._load import load_bench

KEYS = ("mel2bar_tf_acc", "mel2bar_sampled_acc", "flat16_tf_acc", "flat16_sampled_acc", "hier16_tf_acc", "hier16_sampled_acc")


def test_quick_run_writes_the_results_file(tmp_path, capsys):
    bench = load_bench("musicvae")
    out = tmp_path / "music.json"
    result = bench.main(["--quick", "--threads", "1", "--json-out", str(out)])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(out.read_text()) == result
    for key in KEYS:
        assert 0.0 <= result[key] <= 1.0, key
    assert result["mel2bar_steps"] == 10 and result["steps_16bar"] == 6
    assert result["train_speed_ratio_vs_plain"] > 0 and "musicvae.py" in result["command"]
    assert set(result["data"]) == {"mel2bar", "16bar"}
    hier, flat = result["parts"]["16bar"]["hier"], result["parts"]["16bar"]["flat"]
    assert hier["z_size"] == flat["z_size"] and hier["model"]["encoder_sizes"] == flat["model"]["encoder_sizes"]
    assert result["parts"]["16bar"]["sampled_acc_gain"] == hier["sampled_acc"] - flat["sampled_acc"]
    speed = result["parts"]["speed"]
    assert {"plain_float32/train", "ours_float32/train", "ours_bfloat16/forward"} <= set(speed["steps_per_s"])
    autocast_contenders = {"plain_bfloat16", "ours_autocast"}
    if speed["skipped"]:  # a CPU without bf16 LSTM kernels: the autocast contenders say why they did not run
        assert set(speed["skipped"]) == autocast_contenders and speed["ratio_train_autocast"] is None
        assert all(reason.startswith("skipped: bf16 autocast is unsupported") for reason in speed["skipped"].values())
    else:
        assert {f"{name}/train" for name in autocast_contenders} <= set(speed["steps_per_s"])


def test_speed_part_skips_the_autocast_contenders_where_bf16_is_missing(monkeypatch):
    bench = load_bench("musicvae")
    monkeypatch.setattr(bench, "bf16_unsupported_reason", lambda device_type: "bf16 autocast is unsupported on this cpu (x)")
    args = bench.parse_args(bench.Args, ["--quick", "--threads", "1"])
    speed = bench.part_speed(args, bench.QUICK)
    assert speed["skipped"] == {
        name: "skipped: bf16 autocast is unsupported on this cpu (x)" for name in ("plain_bfloat16", "ours_autocast")
    }
    assert not any(key.startswith(("plain_bfloat16/", "ours_autocast/")) for key in speed["steps_per_s"])
    assert speed["ratio_train_autocast"] is None and speed["ratio_train"] > 0


def test_synthetic_melodies_are_valid_seeded_tokens():
    bench = load_bench("musicvae")
    a, b = bench.synthetic_melodies(5, 2, seed=1), bench.synthetic_melodies(5, 2, seed=1)
    assert a.shape == (5, 32, 1) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert a.max() < 90 and (a[:, 0, 0] >= 2).all()  # every window starts with a note


def test_merge_keeps_the_parts_a_run_does_not_redo():
    bench = load_bench("musicvae")
    previous = {"command": "full", "parts": {"mel2bar": {"tf_acc": 0.8}, "16bar": {"x": 1}, "speed": {"ratio_train": 0.6}}}
    merged = bench.merge_parts(previous, {"speed": {"ratio_train": 1.1, "command": "speed only"}})
    assert list(merged) == ["mel2bar", "16bar", "speed"]
    assert merged["mel2bar"] == {"tf_acc": 0.8, "command": "full"}
    assert merged["speed"] == {"ratio_train": 1.1, "command": "speed only"}
