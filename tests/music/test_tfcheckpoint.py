"""The TF V2 checkpoint reader on checkpoints TensorFlow wrote (fixtures/magenta/, by
tools/magenta_parity.py) and on damaged copies of them: every bad input is one clear error."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from tests.music.tf_writer import write_checkpoint

from zspace.errors import CheckpointError
from zspace.music.tfcheckpoint import crc32c, read_checkpoint

FIXTURE = Path(__file__).parent / "fixtures/magenta/cat-mel_2bar"  # saved with Adam slots and global_step
DATA = ".data-00000-of-00001"


def copy_checkpoint(tmp_path: Path) -> Path:
    for f in FIXTURE.glob("model.ckpt.*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "model.ckpt"


def test_crc32c_known_values_and_chunking() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert crc32c(b"") == 0
    data = np.random.default_rng(0).integers(0, 256, 10_000, dtype=np.uint8).tobytes()
    assert len({crc32c(data, chunk=c) for c in (1, 7, 1024, 10_000, 50_000)}) == 1


def test_reads_tensorflow_checkpoint_and_skips_optimizer_slots() -> None:
    everything = read_checkpoint(FIXTURE / "model.ckpt", model_only=False)
    model = read_checkpoint(FIXTURE / "model.ckpt")
    assert {"global_step", "beta1_power", "beta2_power", "encoder/mu/kernel/Adam"} <= set(everything)
    assert everything["global_step"].dtype == np.int64 and everything["global_step"].shape == ()
    assert not any(n.endswith(("/Adam", "/Adam_1")) or "power" in n or n == "global_step" for n in model)
    assert model["encoder/mu/kernel"].shape == (16, 4) and model["encoder/mu/kernel"].dtype == np.float32
    kernel = model["decoder/multi_rnn_cell/cell_0/lstm_cell/kernel"]
    assert kernel.shape == (90 + 4 + 8, 32)  # [token + z + hidden, 4H]


@pytest.mark.parametrize("form", ["prefix", "index", "data", "folder", "tar", "tar.gz"])
def test_prefix_file_folder_and_tar_read_the_same(tmp_path: Path, form: str) -> None:
    expected = read_checkpoint(FIXTURE / "model.ckpt")
    (tmp_path / "ckpt").mkdir()
    prefix = copy_checkpoint(tmp_path / "ckpt")
    paths = {"prefix": prefix, "index": Path(f"{prefix}.index"), "data": Path(f"{prefix}{DATA}"), "folder": prefix.parent}
    if form.startswith("tar"):
        archive = tmp_path / f"cat-mel_2bar.{form}"
        with tarfile.open(archive, "w:gz" if form == "tar.gz" else "w") as tar:
            tar.add(prefix.parent, arcname="cat-mel_2bar")
        paths[form] = archive
    found = read_checkpoint(paths[form])
    assert found.keys() == expected.keys()
    assert all(np.array_equal(found[k], expected[k]) for k in expected)


def test_written_checkpoint_round_trips(tmp_path: Path) -> None:
    tensors = {"a/kernel": np.arange(12, dtype=np.float32).reshape(3, 4), "step": np.array(7, dtype=np.int64)}
    found = read_checkpoint(write_checkpoint(tmp_path / "x.ckpt", tensors), model_only=False)
    assert np.array_equal(found["a/kernel"], tensors["a/kernel"]) and int(found["step"]) == 7


def _damage(path: Path, *, at: int | None = None, truncate: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    if truncate is not None:
        data = data[:truncate]
    if at is not None:
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: _damage(Path(f"{p}.index"), truncate=30), "shorter than a table footer"),
        (lambda p: _damage(Path(f"{p}.index"), truncate=400), "not a TF checkpoint index"),
        (lambda p: _damage(Path(f"{p}.index"), at=20), "fails its CRC-32C check"),
        (lambda p: Path(f"{p}{DATA}").unlink(), "data shard .data-00000-of-00001 is missing"),
        (lambda p: _damage(Path(f"{p}{DATA}"), truncate=1000), "is truncated"),
        (lambda p: _damage(Path(f"{p}{DATA}"), at=5000), "fails its CRC-32C check; data shard"),
        (lambda p: Path(f"{p}.index").unlink(), "does not exist"),
    ],
    ids=["short-index", "truncated-index", "corrupt-index", "missing-shard", "truncated-data", "corrupt-data", "no-index"],
)
def test_bad_checkpoints_raise_one_clear_error(tmp_path: Path, damage, message: str) -> None:
    prefix = copy_checkpoint(tmp_path)
    damage(prefix)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(prefix)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    midi = tmp_path / "song.mid"
    midi.write_bytes(b"MThd" + bytes(100))
    with pytest.raises(CheckpointError, match="is not a TF checkpoint"):
        read_checkpoint(midi)
    fake = tmp_path / "fake.index"
    fake.write_bytes(bytes(200))
    with pytest.raises(CheckpointError, match="no table magic number"):
        read_checkpoint(fake)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="exactly one TF checkpoint"):
        read_checkpoint(tmp_path / "empty")
