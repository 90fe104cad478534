"""A table-driven fuzz test of every command: each bad number or bad file is refused the same way.

For every case: the documented exit code (2: a bad input), exactly one line on stderr that
names the flag, field or file at fault, no traceback, and the workspace (trained runs of three
families, prepared data, codes, MIDI files: the current directory) byte-for-byte unchanged, with
nothing added. The runs are trained once per module, in-process, so the table runs in seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shlex
import shutil
import signal
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import typer

from zspace.cli.main import app

pytest.importorskip("pretty_midi")
# typer builds the click command tree on every CliRunner.invoke (~0.1 s for this app): build it once
# and run it in-process as the console script does (standalone: SystemExit with the exit code), with
# its output captured, so 300 cases cost what the commands cost.
COMMAND = typer.main.get_command(app)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def invoke(args: list[str]) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = COMMAND.main(args=args, prog_name="zspace", standalone_mode=True)
        except SystemExit as exit_:
            code = exit_.code
    return Result(code if isinstance(code, int) else 0, out.getvalue(), err.getvalue())


SIZE = ("0", "-1", "abc", str(2**64))  # integer options that must be >= 1
SEED = ("-1", "abc", str(2**64))  # seeds: [0, 2^63)
POSITIVE = ("nan", "inf", "-1", "0", "abc")  # finite floats > 0
NON_NEGATIVE = ("nan", "inf", "-1", "abc")
FRACTION = ("nan", "-0.5", "1.5", "abc")

# (command, option, bad values): every numeric option of every command.
NUMERIC = [
    *[("train vae --out new-run", flag, values) for flag, values in [
        ("--latent-dim", (*SIZE, "100000000000")), ("--hidden", ("-5,10", "0", "100000000,100000000", "abc")),
        ("--limit", SIZE), ("--beta", NON_NEGATIVE), ("--n-samples", SIZE), ("--lr", POSITIVE), ("--batch-size", SIZE),
        ("--epochs", SIZE), ("--max-steps", SIZE), ("--grad-clip-norm", POSITIVE), ("--checkpoint-every", SIZE),
        ("--seed", SEED)]],
    ("train vae --out new-run", "--set", ("train.weight_decay=nan", "train.threads=-1", "objective.free_nats=nan",
                                          "data.valid_fraction=1.5", "train.lr=inf", "model.latent_dim=0", "train.seed=-1")),
    *[("train music --preset cat-mel_2bar_tiny --data mel2.npz --out new-run", flag, values) for flag, values in [
        ("--steps", SIZE), ("--batch-size", SIZE), ("--seed", SEED), ("--checkpoint-every", SIZE)]],
    *[("train sectar --out new-run", flag, values) for flag, values in [
        ("--steps", SIZE), ("--seed", SEED), ("--layout-seed", SEED), ("--candidates", (*SIZE, "100000000")),
        ("--horizon", SIZE), ("--save-every", ("-1", "abc")), ("--threads", SIZE)]],
    *[("train structured --out new-run", flag, values) for flag, values in [
        ("--alpha", POSITIVE), ("--n-samples", SIZE), ("--seed", SEED), ("--test-fraction", (*FRACTION, "0", "1"))]],
    ("train structured --out new-run", "--set", ("params.random_state=abc", "params.tol=nan", "params.max_epochs=-1",
                                                 "params.alpha=-1", "test_fraction=1")),
    ("train music --preset cat-mel_2bar_tiny --data mel2.npz --out new-run", "--set",
     ("train.lr=nan", "train.batch_size=0", "objective.free_bits=-1", "model.z_size=0")),
    ("train sectar --out new-run", "--set", ("plan_horizon=0", "lr=nan", "model.z_size=-1", "batch_size=abc")),
    *[("eval vae", flag, values) for flag, values in [
        ("--iw", (*SIZE, "1000000000")), ("--batch-size", SIZE), ("--seed", SEED), ("--episodes", SIZE)]],
    *[("sample vae", flag, values) for flag, values in [
        ("-n", (*SIZE, "1000000000")), ("--temperature", POSITIVE), ("--seed", SEED)]],
    *[("explore vae", flag, values) for flag, values in [("--seed", SEED), ("--ablation-epochs", SIZE)]],
    *[("music prepare --midi-dir midi --workers 1 --out new.npz", flag, values) for flag, values in [
        ("--bars", SIZE), ("--seed", SEED), ("--valid-fraction", FRACTION), ("--test-fraction", FRACTION),
        ("--transpose", ("-1", "13", "abc")), ("--steps-per-bar", SIZE), ("--gap-bars", POSITIVE), ("--limit", SIZE),
        ("--max-per-song", ("-1", "abc")), ("--max-bars", ("-1", "abc"))]],
    *[("music sample music --out new-dir", flag, values) for flag, values in [
        ("-n", (*SIZE, "1000000000")), ("--temperature", POSITIVE), ("--seed", SEED)]],
    *[("music interpolate music midi/song0.mid midi/song1.mid --out new-dir", flag, values) for flag, values in [
        ("--steps", ("1", "0", "-1", "1000000", "abc")), ("--window-a", ("abc",)), ("--track", ("-1", "abc"))]],
    *[("music decode music codes.npz --no-greedy --out new-dir", flag, values) for flag, values in [
        ("--temperature", POSITIVE), ("--seed", SEED)]],
    ("music attributes music --data mel2.npz --out new-dir", "--quantile", ("nan", "-1", "0.7", "abc")),
    *[("sectar plan sectar-env", flag, values) for flag, values in [
        ("--episodes", (*SIZE, "1000000000")), ("--seed", SEED), ("--threads", SIZE)]],
    *[("sectar render sectar-env --out new-dir", flag, values) for flag, values in [
        ("--skills", (*SIZE, "1000000")), ("--seed", SEED)]],
    *[("serve vae", flag, values) for flag, values in [("--port", ("-1", "0", "70000", "abc")), ("--seed", SEED)]],
]  # fmt: skip

BAD_ARRAYS = ("empty.npz", "truncated.npz", "garbage.npz", "objects.npz", "huge.npz", "folder.npz")
BAD_CODES = ("codes-int-z.npz", "codes-float-names.npz", "codes-negative-steps.npz", "codes-huge-steps.npz",
             "codes-3d.npz", "codes-no-z.npz")  # fmt: skip
LONG = "x" * 300

# (command, what the error line must name): bad files, damaged runs, outputs that must not be written.
FILES = [
    *[(f"train vae --out new-run --data array --data-path {f}", f) for f in BAD_ARRAYS],
    ("train vae --out new-run --data mnist --data-path mnist-bad", "mnist-bad"),
    *[(f"train music --preset cat-mel_2bar_tiny --data {f} --out new-run", f) for f in BAD_ARRAYS],
    *[(f"music decode music {f} --out new-dir", f) for f in (*BAD_ARRAYS, *BAD_CODES)],
    *[(f"music attributes music --data {f} --out new-dir", f) for f in BAD_ARRAYS],
    *[(f"music encode music {f} --out new.npz", f) for f in ("empty.mid", "garbage.mid")],
    ("music interpolate music empty.mid midi/song0.mid --out new-dir", "empty.mid"),
    *[(f"{verb} {run}", name) for verb in ("eval", "sample") for run, name in [
        ("vae-best-int", "best.json"), ("vae-best-list", "best.json"), ("vae-config-garbage", "config.json"),
        ("vae-format-version", "config.json"), ("vae-config-field", "latent_dim"), ("vae-huge", "config.json"),
        ("vae-weights", "model.safetensors"), ("missing-run", "missing-run")]],
    *[(f"sectar plan {run}", "config.json") for run in ("sectar-env", "sectar-kwargs", "sectar-seed")],
    ("eval ssvm-model", "model.safetensors"),
    ("train sectar --env CartPole-v1 --out new-run", "CartPole-v1"),
    ("eval vae --out vae/config.json", "config.json"),
    ("eval vae --out vae/checkpoints/best.json", "best.json"),
    (f"eval vae --out {LONG}.json", "--out"),
    ("eval vae --out /dev/null/x/eval.json", "/dev/null"),
    (f"train vae --out {LONG}", "--out"),
    ("sample vae --out s.xyz", "s.xyz"),
    ("sample vae --out existing.png", "existing.png"),
    ("music encode music midi/song0.mid --out mel2.npz", "mel2.npz"),
    ("music encode music midi/song0.mid --out midi/song0.mid", "song0.mid"),
    ("music prepare --midi-dir midi --out mel2.npz", "mel2.npz"),
    ("music decode music codes.npz --out vae/checkpoints", "checkpoints"),
    ("sectar render sectar-env --out vae/checkpoints/figures", "checkpoints"),
]  # fmt: skip


def _cases() -> list[tuple[str, str]]:
    cases = [
        (f"{command} {option} {value}", value.partition("=")[0].split(".")[-1] if option == "--set" else option)
        for command, option, values in NUMERIC
        for value in values
    ]
    return cases + FILES


CASES = _cases()


def _songs(root: Path) -> None:
    from zspace.music import Note, NoteSequence, write_midi

    root.mkdir()
    for k in range(4):
        notes = [Note(50 + 2 * k + b + i, 16 * b + 4 * i, 16 * b + 4 * i + 3) for b in range(4) for i in range(1 + (k + b) % 4)]
        write_midi(NoteSequence(notes=notes), root / f"song{k}.mid")


def _write_bad_files(root: Path) -> None:
    (root / "empty.npz").write_bytes(b"")
    (root / "truncated.npz").write_bytes((root / "mel2.npz").read_bytes()[:300])
    (root / "garbage.npz").write_text("not an npz\n")
    np.savez(root / "objects.npz", x=np.array([{"a": 1}, None], dtype=object))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(root / "huge.npz", "w") as archive:
        archive.writestr("x.npy", header.getvalue())
    (root / "folder.npz").mkdir()
    good = dict(np.load(root / "codes.npz"))
    crafted = {
        "codes-int-z": {"z": good["z"].astype(np.int64)},
        "codes-float-names": {"names": np.zeros(len(good["z"]))},
        "codes-negative-steps": {"n_steps": np.array(-1)},
        "codes-huge-steps": {"n_steps": np.array(10**7)},
        "codes-3d": {"z": good["z"][None]},
    }
    for name, change in crafted.items():
        np.savez(root / f"{name}.npz", **(good | change))
    np.savez(root / "codes-no-z.npz", **{k: v for k, v in good.items() if k != "z"})
    (root / "empty.mid").write_bytes(b"")
    (root / "garbage.mid").write_bytes(b"MThd\x00\x00garbage")
    (root / "existing.png").write_bytes(b"\x89PNG not really")
    (root / "mnist-bad").mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (root / "mnist-bad" / f"{name}.gz").write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage")  # a bad deflate block


def _damaged_runs(root: Path) -> None:
    """Copies of the VAE run with one file damaged each; SeCTAR and structured runs with bad entries."""

    def vae_copy(name: str) -> Path:
        return Path(shutil.copytree(root / "vae", root / name))

    def edit_config(path: Path, **changes: object) -> None:
        config = json.loads(path.read_text())
        for dotted, value in changes.items():
            head, _, tail = dotted.partition("__")
            (config[head] if tail else config)[tail or head] = value
        path.write_text(json.dumps(config))

    (vae_copy("vae-best-int") / "checkpoints" / "best.json").write_text('{"checkpoint": 5}')
    (vae_copy("vae-best-list") / "checkpoints" / "best.json").write_text("[1]")
    (vae_copy("vae-config-garbage") / "config.json").write_text("{garbage")
    edit_config(vae_copy("vae-format-version") / "config.json", format_version=-1)
    run = vae_copy("vae-config-field")
    edit_config(run / "config.json", model__latent_dim=-5)
    for checkpoint in (run / "checkpoints").glob("step-*"):
        edit_config(checkpoint / "config.json", model__latent_dim=-5)
    run = vae_copy("vae-huge")
    for checkpoint in (run / "checkpoints").glob("step-*"):
        edit_config(checkpoint / "config.json", model__latent_dim=10**11)
    for checkpoint in (vae_copy("vae-weights") / "checkpoints").glob("step-*"):
        (checkpoint / "model.safetensors").write_bytes(b"\x00" * 16)
    good = {"family": "sectar", "format_version": 1, "model": None, "train": {}}
    bad = {"sectar-env": {"env_id": "CartPole-v1", "env_kwargs": {}, "seed": 0},
           "sectar-kwargs": {"env_id": "zspace/Waypoints-v0", "env_kwargs": [1], "seed": 0},
           "sectar-seed": {"env_id": "zspace/Waypoints-v0", "env_kwargs": {}, "seed": -1}}  # fmt: skip
    for name, entries in bad.items():
        (root / name).mkdir()
        (root / name / "config.json").write_text(json.dumps(good | entries))
    shutil.copytree(root / "ssvm", root / "ssvm-model")
    (root / "ssvm-model" / "model.safetensors").write_bytes(b"\x00" * 16)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained VAE, music and structured runs, prepared data, codes, MIDI files and bad files, once per module."""
    import torch

    from zspace.core.config import override
    from zspace.music.corpus import PrepareConfig, prepare
    from zspace.music.run import MusicRunConfig
    from zspace.music.run import train as train_music
    from zspace.structured.config import LearnerParams, StructuredRunConfig
    from zspace.structured.run import fit
    from zspace.vae import PRESETS
    from zspace.vae.run import train as train_vae

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("fuzz")
    vae = override(PRESETS["digits"], {"data.limit": 200, "model.hidden": (16,), "model.latent_dim": 2, "train.epochs": 2,
                                       "train.tensorboard": False})  # fmt: skip
    train_vae(vae, root / "vae")
    _songs(root / "midi")
    config = PrepareConfig(kind="melody", bars=2, workers=1, valid_fraction=0.0, test_fraction=0.0)
    data = prepare(root / "mel2.npz", config, midi_dir=root / "midi").out
    train_music(MusicRunConfig.from_preset("cat-mel_2bar_tiny", data=data, max_steps=2, batch_size=4, device="cpu"),
                root / "music")  # fmt: skip
    data_args = {"n_samples": 60, "n_classes": 3, "n_latent": 2, "n_input_features": 4}
    fit(StructuredRunConfig(data=data_args, params=LearnerParams(max_epochs=1)), root / "ssvm")
    assert invoke(["music", "encode", str(root / "music"), str(root / "midi" / "song0.mid"), "--out", str(root / "codes.npz")]
                  ).exit_code == 0  # fmt: skip
    _write_bad_files(root)
    _damaged_runs(root)
    return root


_DIGESTS: dict[tuple[str, int, int, int], str] = {}  # (path, inode, size, mtime_ns) -> sha256: unchanged files hash once


def _digest(path: Path) -> str:
    if path.is_dir():
        return "dir"
    stat = path.stat()
    key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _DIGESTS[key]


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` -> the sha256 of its bytes ("dir" for a folder)."""
    return {str(p.relative_to(root)): _digest(p) for p in sorted(root.rglob("*"))}


def _timeout(signum: int, frame: object) -> None:
    raise TimeoutError("the command ran past the fuzz test's 30 s: unbounded work")


@pytest.mark.parametrize(("command", "named"), CASES, ids=[c for c, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(workspace, monkeypatch, command, named):
    monkeypatch.chdir(workspace)
    before = _snapshot(workspace)
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(30)
    try:
        result = invoke(shlex.split(command))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        after = _snapshot(workspace)
        for added in sorted(set(after) - set(before), reverse=True):  # so one failure does not cascade
            path = workspace / added
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert named in lines[0] or named.lstrip("-").replace("-", "_") in lines[0], lines[0]
    assert after == before, "a refused command changed the workspace"


def test_the_table_covers_every_command():
    """Each command of the CLI appears in the table (a new command needs its fuzz rows)."""
    covered = {" ".join(c.split()[:2]) for c, _ in CASES} | {c.split()[0] for c, _ in CASES}
    commands = {"train vae", "train music", "train sectar", "train structured", "eval", "sample", "explore", "serve",
                "music prepare", "music sample", "music interpolate", "music encode", "music decode", "music attributes",
                "sectar plan", "sectar render"}  # fmt: skip
    assert commands <= covered, sorted(commands - covered)
