"""Smoke tests of bench/vae.py with tiny budgets: its pieces, the Pythae worker protocol, the JSON contract."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys

import pytest
import torch

from ._load import load_bench

vae = load_bench("vae")
common = sys.modules["_common"]

TINY = [
    "--n-train",
    "256",
    "--epochs",
    "1",
    "--repeats",
    "1",
    "--digits-epochs",
    "1",
    "--nll-examples",
    "20",
    "--nll-samples",
    "10",
]


def _pythae_python_or_skip() -> str:
    python = os.environ.get("ZSPACE_PYTHAE_PYTHON")
    if python:
        return python
    if importlib.util.find_spec("pythae") is not None:
        return sys.executable
    pytest.skip("pythae==0.1.2 is not installed here and ZSPACE_PYTHAE_PYTHON is unset (pip install 'zspace[bench]')")


def test_budget_defaults_and_overrides():
    quick = vae.resolve_budget(common.parse_args(vae.Args, ["--quick"]))
    full = vae.resolve_budget(common.parse_args(vae.Args, []))
    assert quick.n_train < full.n_train and quick.epochs <= full.epochs
    tiny = vae.resolve_budget(common.parse_args(vae.Args, ["--quick", "--n-train", "256", "--nll-samples", "7"]))
    assert (tiny.n_train, tiny.nll_samples, tiny.epochs) == (256, 7, quick.epochs)


def test_parse_args_types_and_flags():
    args = common.parse_args(vae.Args, ["--skip-pythae", "--lr", "0.01", "--threads", "1", "--json-out", "x.json"])
    assert args.skip_pythae is True and args.skip_zspace is False
    assert args.lr == 0.01 and args.threads == 1 and args.json_out == "x.json"


def test_synthetic_data_is_seeded_and_binary():
    a = common.synthetic_binary_images(64, seed=3)
    assert a.shape == (64, 784) and a.dtype == torch.float32
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(a, common.synthetic_binary_images(64, seed=3))
    assert not torch.equal(a, common.synthetic_binary_images(64, seed=4))


def test_digits_are_784_binary_and_split():
    pytest.importorskip("sklearn")
    train, test = common.digits_784(test_size=100, seed=0)
    assert train.shape == (1697, 784) and test.shape == (100, 784)
    assert set(train.unique().tolist()) <= {0.0, 1.0}
    again, _ = common.digits_784(test_size=100, seed=0)
    assert torch.equal(train, again)


def test_flops_formula_matches_the_hand_count():
    per_weight_layers = 784 * 400 + 400 * 20 + 400 * 20 + 20 * 400 + 400 * 784
    assert common.linear_train_flops_per_example(vae.PlainVAE()) == 6 * per_weight_layers


def test_matmul_gflops_is_positive():
    assert common.matmul_gflops(64, 64, 64, min_seconds=0.01, repeats=1) > 0


def test_plain_loop_trains_and_scores(tmp_path):
    x = common.synthetic_binary_images(256, seed=0)
    elapsed, seen, model = vae.run_plain(x, epochs=2, batch_size=128, lr=1e-3, seed=0, work_dir=tmp_path)
    assert seen == 512 and elapsed > 0
    nll = vae.plain_nll(model, x[:8], k=10, chunk=4)  # 4 + 4 + 2 samples
    assert math.isfinite(nll) and 0 < nll < 784 * 100  # BCE clamps log at -100 nats per pixel


def test_zspace_trains_the_same_model_and_scores(tmp_path):
    x = common.synthetic_binary_images(256, seed=0)
    elapsed, seen, model = vae.run_zspace(x, epochs=1, batch_size=128, lr=1e-3, seed=0, work_dir=tmp_path)
    assert seen == 256 and elapsed > 0
    assert common.linear_train_flops_per_example(model) == common.linear_train_flops_per_example(vae.PlainVAE())
    assert math.isfinite(vae.zspace_nll(model, x[:8], k=10))


def test_missing_pythae_python_is_reported(tmp_path):
    args = common.parse_args(vae.Args, ["--pythae-python", str(tmp_path / "no-such-python")])
    with pytest.raises(common.WorkerError, match="does not exist"):
        vae.pythae_python(args)


def test_worker_failure_surfaces_its_last_error_line(tmp_path):
    """The subprocess protocol end to end, with a python that cannot import pythae."""
    if importlib.util.find_spec("pythae") is not None:
        pytest.skip("pythae is importable here: the failure path cannot be provoked with this python")
    data = tmp_path / "data.npz"
    import numpy as np

    np.savez(data, train_x=common.synthetic_binary_images(128).numpy())
    args = common.parse_args(vae.Args, TINY)
    with pytest.raises(common.WorkerError, match="pythae"):
        vae.call_pythae(sys.executable, args, data, "speed", timeout_s=120)


def test_pythae_worker_speed_and_nll(tmp_path):
    python = _pythae_python_or_skip()
    pytest.importorskip("sklearn")
    import numpy as np

    train, test = common.digits_784(test_size=20, seed=0)
    data = tmp_path / "data.npz"
    np.savez(
        data, train_x=common.synthetic_binary_images(256).numpy(), digits_train=train[:256].numpy(), digits_test=test.numpy()
    )
    args = common.parse_args(vae.Args, TINY)
    speed = vae.call_pythae(python, args, data, "speed", timeout_s=300)
    assert speed["examples"] == 256 and speed["seconds"] > 0
    assert speed["train_flops_per_example"] == common.linear_train_flops_per_example(vae.PlainVAE())
    assert math.isfinite(vae.call_pythae(python, args, data, "digits", timeout_s=300)["nll"])


def test_cli_prints_the_json_contract_last(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "result.json"
    result = vae.main([*TINY, "--skip-pythae", "--json-out", str(out)])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == result == json.loads(out.read_text())
    for key in ("ratio_vs_plain", "ratio_vs_pythae", "pythae_error", "examples_per_s", "gflops_matmul", "flops_fraction",
                "nll_digits", "command", "torch", "threads"):  # fmt: skip
        assert key in result, key
    assert (
        set(result["examples_per_s"])
        == set(result["flops_fraction"])
        == set(result["nll_digits"])
        == {"zspace", "plain", "pythae"}
    )
    assert result["ratio_vs_pythae"] is None and "skipped" in result["pythae_error"]
    assert result["examples_per_s"]["plain"] > 0 and result["gflops_matmul"] > 0
    assert 0 < result["flops_fraction"]["plain"] < 1
    assert math.isfinite(result["nll_digits"]["plain"])
    assert result["torch"] == torch.__version__ and result["threads"] == torch.get_num_threads()
    if result["zspace_error"] is None:
        assert result["ratio_vs_plain"] == pytest.approx(result["examples_per_s"]["zspace"] / result["examples_per_s"]["plain"])
    else:
        assert result["ratio_vs_plain"] is None
