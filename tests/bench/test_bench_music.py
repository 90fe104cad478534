"""Smoke test of bench/musicvae.py with its --quick budget: the results-file keys and their ranges."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from zspace.errors import CheckpointError
from zspace.music.corpus import PrepareConfig, prepare

from ._load import BENCH_DIR, load_bench

KEYS16 = tuple(
    f"{model}_{metric}_{split}"
    for model in ("flat16", "hier16")
    for metric in ("tf_acc", "sampled_acc_t1", "sampled_acc_argmax", "onset_acc_t1")
    for split in ("test", "train")
)
KEYS = ("mel2bar_tf_acc", "mel2bar_sampled_acc_t1", "mel2bar_sampled_acc_argmax", "majority_test", *KEYS16)


def test_quick_run_writes_the_results_file(tmp_path, capsys):
    bench = load_bench("musicvae")
    out = tmp_path / "music.json"
    result = bench.main(["--quick", "--threads", "1", "--json-out", str(out)])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(out.read_text()) == result
    for key in KEYS:
        assert 0.0 <= result[key] <= 1.0, key
    for model in ("flat16", "hier16"):
        assert (
            result[f"{model}_zswap_gap_nats_test"]
            == result["parts"]["16bar"]["models"][model]["scores"]["test"]["zswap_gap_nats"]
        )
    assert result["mel2bar_steps"] == 10 and result["steps_16bar"] == {"flat16": 4, "hier16": 4}
    assert result["train_speed_ratio_vs_plain"] > 0 and "musicvae.py" in result["command"]
    assert set(result["data"]) == {"mel2bar", "16bar"}
    hier, flat = (result["parts"]["16bar"]["models"][m]["model"] for m in ("hier16", "flat16"))
    assert hier == flat | {"decoder": "hierarchical"} and flat["decoder"] == "flat"  # the decoder is the one difference
    assert flat["z_size"] == 8 and flat["encoder_sizes"] == [16] and flat["decoder_sizes"] == [8, 8]  # QUICK's sizes
    speed = result["parts"]["speed"]
    assert {"plain_float32/train", "ours_float32/train", "ours_bfloat16/forward"} <= set(speed["steps_per_s"])
    autocast_contenders = {"plain_bfloat16", "ours_autocast"}
    if speed["skipped"]:  # a CPU without bf16 LSTM kernels: the autocast contenders say why they did not run
        assert set(speed["skipped"]) == autocast_contenders and speed["ratio_train_autocast"] is None
        assert all(reason.startswith("skipped: bf16 autocast is unsupported") for reason in speed["skipped"].values())
    else:
        assert {f"{name}/train" for name in autocast_contenders} <= set(speed["steps_per_s"])


def test_the_full_budget_is_the_cpu_bench_and_flags_override_it():
    bench = load_bench("musicvae")
    full = bench.resolve_budget(bench.parse_args(bench.Args, []))
    assert (full.z_size_16bar, full.encoder_16bar, full.decoder_16bar, full.steps_16bar) == (64, 128, 64, 2000)
    assert full.speed_preset == "cat-mel_2bar_small"
    quick = bench.resolve_budget(bench.parse_args(bench.Args, ["--quick", "--z-size-16bar", "12"]))
    assert quick.z_size_16bar == 12 and quick.encoder_16bar == bench.QUICK.encoder_16bar


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


def test_merge_keeps_the_16bar_model_a_run_does_not_redo():
    bench = load_bench("musicvae")
    previous = {
        "command": "first",
        "parts": {"16bar": {"models": {"flat16": {"steps": 1}, "hier16": {"steps": 2}}, "command": "first"}},
    }
    new = {"16bar": {"models": {"hier16": {"steps": 3, "command": "second"}}, "command": "second"}}
    merged = bench.merge_parts(previous, new)["16bar"]["models"]
    assert merged == {"flat16": {"steps": 1, "command": "first"}, "hier16": {"steps": 3, "command": "second"}}


def test_merge_keeps_the_parts_a_run_does_not_redo():
    bench = load_bench("musicvae")
    previous = {"command": "full", "parts": {"mel2bar": {"tf_acc": 0.8}, "16bar": {"x": 1}, "speed": {"ratio_train": 0.6}}}
    merged = bench.merge_parts(previous, {"speed": {"ratio_train": 1.1, "command": "speed only"}})
    assert list(merged) == ["mel2bar", "16bar", "speed"]
    assert merged["mel2bar"] == {"tf_acc": 0.8, "command": "full"}
    assert merged["speed"] == {"ratio_train": 1.1, "command": "speed only"}
    previous["parts"]["16bar_earlier"] = {"x": 0, "command": "older"}
    assert bench.merge_parts(previous, {"16bar": {"x": 2, "command": "new"}})["16bar_earlier"] == {"x": 0, "command": "older"}


def tiny_prepared(tmp_path: Path) -> Path:
    """Bar-aligned 16-bar windows (4/4) of twelve generated 18-bar tunes, written by corpus.prepare."""
    pretty_midi = pytest.importorskip("pretty_midi")
    root = tmp_path / "midi"
    root.mkdir()
    for song in range(12):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
        pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
        lead = pretty_midi.Instrument(program=0)
        lead.notes = [
            pretty_midi.Note(
                velocity=90,
                pitch=50 + song + (bar + 3 * i) % 12,
                start=(16 * bar + 4 * i) * 0.125,
                end=(16 * bar + 4 * i + 3) * 0.125,
            )
            for bar in range(18)
            for i in range(4)
        ]
        pm.instruments.append(lead)
        pm.write(str(root / f"tune{song}.mid"))
    config = PrepareConfig(kind="melody", bars=16, meter="4/4", valid_fraction=0.0, test_fraction=0.3, workers=1)
    return prepare(tmp_path / "mel16.npz", config, midi_dir=root).out


def test_gpu_script_runs_end_to_end_on_the_cpu_without_music21_pretty_midi_or_mido(tmp_path):
    data = tiny_prepared(tmp_path)
    blocked = tmp_path / "blocked"  # what the lent GPU machine lacks: importing any of them fails
    for name in ("music21", "pretty_midi", "mido"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed here')\n")
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(blocked), str(BENCH_DIR.parent / "src")]), "OMP_NUM_THREADS": "1"}
    tiny = ["--z-size", "4", "--encoder-size", "8", "--decoder-size", "8", "--batch-size", "4", "--eval-windows", "4"]
    out = tmp_path / "out"
    args = [
        "--data",
        str(data),
        "--out-dir",
        str(out),
        "--device",
        "cpu",
        "--smoke",
        "--seconds",
        "0.5",
        "--z-draws",
        "2",
        "--threads",
        "1",
    ]
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR / "musicvae_gpu.py"), *args, *tiny],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == json.loads((out / "music_gpu.json").read_text())
    for key in KEYS16 + ("majority_test",):
        assert 0.0 <= result[key] <= 1.0, key
    assert {"flat16_zswap_gap_nats_train", "hier16_zswap_gap_nats_test"} <= set(result)
    part = result["parts"]["gpu"]
    assert part["concurrent"] and part["setup"]["autocast"] == "bfloat16" and part["setup"]["seconds"] == 0.5
    assert all(m["steps"] >= 1 and m["scores"]["test"]["n_windows"] >= 2 for m in part["models"].values())
    assert {"flat16.log", "hier16.log", "flat16.json", "hier16.json", "music_gpu.json"} <= {p.name for p in out.iterdir()}
    if (out / "music.json").is_file():  # the repo's results with this run merged in as one entry
        assert json.loads((out / "music.json").read_text())["16bar_gpu"] == result


def test_a_wall_clock_budget_resumes_the_same_run_in_chunks_until_time_is_up(monkeypatch):
    music16 = load_bench("_music16")
    ticks = iter(range(100))
    monkeypatch.setattr(music16, "clock", lambda: float(next(ticks)))  # one second passes per look at the clock
    tokens = load_bench("musicvae").synthetic_melodies(16, 16, seed=0)
    setup = music16.Setup(z_size=4, encoder_size=8, decoder_size=8, batch_size=4, seconds=3.0, threads=1)
    _, record = music16.train("hier16", tokens, setup)
    # 20 steps by t=1 (20/s), then 0.95 * 2 s * 20/s = 38 more by t=2, then 0.95 * 1 s * 29/s = 27 by t=3: time is up.
    assert (record["chunks"], record["steps"]) == (3, 85)  # each fit resumed the last one's step
    assert record["model"]["decoder"] == "hierarchical"


def test_training_in_turns_holds_the_steps_equal_and_resumes_from_the_checkpoints(tmp_path, monkeypatch):
    music16 = load_bench("_music16")
    tokens = load_bench("musicvae").synthetic_melodies(16, 16, seed=0)
    setup = music16.Setup(z_size=4, encoder_size=8, decoder_size=8, batch_size=4, steps=6, threads=1)
    ticks = iter(range(100))
    monkeypatch.setattr(music16, "clock", lambda: float(next(ticks)))  # one second passes per look at the clock
    # turn 1 starts at t=1 and takes 1 s; turn 2 at t=4 (4 + 1 <= 6) ends at t=6; turn 3 would end past t=7 + 1 > 6
    first = music16.train_in_rounds(["flat16", "hier16"], tokens, setup, state_dir=tmp_path, round_steps=2, time_limit_s=6)
    assert {name: (r["steps"], r["partial"]) for name, (_, r) in first.items()} == {"flat16": (4, True), "hier16": (4, True)}
    monkeypatch.setattr(music16, "clock", lambda: 0.0)
    again = music16.train_in_rounds(["flat16", "hier16"], tokens, setup, state_dir=tmp_path, round_steps=2)
    assert {name: (r["steps"], r["partial"]) for name, (_, r) in again.items()} == {"flat16": (6, False), "hier16": (6, False)}
    # resumed from step 4, the weights are those of one uninterrupted run of 6 steps
    fresh = music16.train("hier16", tokens, setup)[0]
    for (key, a), b in zip(again["hier16"][0].state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), key
    loaded = music16.train_in_rounds(["hier16"], tokens, setup, state_dir=tmp_path, round_steps=2)["hier16"]
    assert loaded[1]["steps"] == 6  # nothing left to train: the newest checkpoint is loaded
    for (key, a), b in zip(loaded[0].state_dict().items(), again["hier16"][0].state_dict().values(), strict=True):
        assert torch.equal(a, b), key


def test_resuming_turns_with_other_settings_says_what_differs(tmp_path):
    music16 = load_bench("_music16")
    tokens = load_bench("musicvae").synthetic_melodies(8, 16, seed=0)
    setup = music16.Setup(z_size=4, encoder_size=8, decoder_size=8, batch_size=4, steps=2, threads=1)
    music16.train_in_rounds(["flat16"], tokens, setup, state_dir=tmp_path, round_steps=2)
    with pytest.raises(CheckpointError, match="--resume: model differ"):
        music16.train_in_rounds(["flat16"], tokens, replace(setup, z_size=5), state_dir=tmp_path, round_steps=2)
    with pytest.raises(CheckpointError, match="train.seed, train.batch_size differ"):
        music16.train_in_rounds(["flat16"], tokens, replace(setup, seed=1, batch_size=2), state_dir=tmp_path, round_steps=2)
    with pytest.raises(CheckpointError, match="the training windows changed"):
        music16.train_in_rounds(["flat16"], tokens[:4], setup, state_dir=tmp_path, round_steps=2)
    with pytest.raises(CheckpointError, match="train.autocast differs"):
        music16.train_in_rounds(["flat16"], tokens, replace(setup, autocast="bfloat16"), state_dir=tmp_path, round_steps=2)
    # a state directory begun before the models' config.json carried the windows' sha256
    state = json.loads((tmp_path / music16.STATE_FILE).read_text())
    (tmp_path / music16.STATE_FILE).write_text(json.dumps(state | {"key": {"train_sha256": "0" * 64}}))
    for config in (tmp_path / "flat16").rglob("config.json"):
        config.write_text(json.dumps({k: v for k, v in json.loads(config.read_text()).items() if k != "data_sha256"}))
    with pytest.raises(SystemExit, match="trained on other windows"):
        music16.train_in_rounds(["flat16"], tokens, setup, state_dir=tmp_path, round_steps=2)
