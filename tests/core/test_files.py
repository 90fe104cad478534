"""The guarded readers: each bad file is one error naming the file and the problem."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch

from zspace.core.files import read_json_file, read_jsonl, read_npz, read_torch_state
from zspace.errors import CheckpointError, DataError


def test_read_npz_reads_arrays_and_refuses_bad_files(tmp_path):
    np.savez(tmp_path / "good.npz", x=np.arange(6).reshape(2, 3), s=np.array(["a", "bb"]))
    arrays = read_npz(tmp_path / "good.npz")
    assert arrays["x"].tolist() == [[0, 1, 2], [3, 4, 5]] and arrays["s"].tolist() == ["a", "bb"]
    np.save(tmp_path / "one.npy", np.ones(3, np.float32))
    assert read_npz(tmp_path / "one.npy")["arr_0"].tolist() == [1, 1, 1]

    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:150])
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        archive.writestr("x.npy", header.getvalue())
    body = (tmp_path / "one.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(body[:-4])
    cases = {
        "missing.npz": "missing.npz: no such file",
        "empty.npz": r"empty.npz is empty \(0 bytes\)",
        "cut.npz": "cut.npz is not an .npz array file: it is damaged or truncated",
        "objects.npz": "objects.npz: array 'x' holds Python objects",
        "huge.npz": r"huge.npz: array 'x' claims shape \(1000000, 1000000\) of float64 \(7,450.6 GiB\)",
        "short.npy": r"short.npy: array 'array' is truncated \(8 of 12 bytes\)",
    }
    for name, message in cases.items():
        with pytest.raises(DataError, match=message):
            read_npz(tmp_path / name, fix="make a new one")


def test_read_jsonl_drops_a_cut_last_line_and_names_garbage(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"st')
    assert read_jsonl(path) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\ngarbage\n{"step": 3}\n')
    with pytest.raises(CheckpointError, match="metrics.jsonl is damaged at line 2"):
        read_jsonl(path)
    path.write_text('{"step": 1}\n[1, 2]\n{"step": 3}\n')
    with pytest.raises(CheckpointError, match="line 2: expected a JSON object, got list"):
        read_jsonl(path)


def test_read_json_file_and_torch_state(tmp_path):
    (tmp_path / "best.json").write_text("[1]")
    with pytest.raises(CheckpointError, match="best.json is damaged: expected a JSON dict, got list"):
        read_json_file(tmp_path / "best.json")
    torch.save({"step": 3}, tmp_path / "state.pt")
    assert read_torch_state(tmp_path / "state.pt", what="state") == {"step": 3}
    (tmp_path / "bad.pt").write_bytes(b"garbage" * 10)
    with pytest.raises(CheckpointError) as err:
        read_torch_state(tmp_path / "bad.pt", what="trainer state")
    assert "bad.pt is damaged or not a trainer state" in str(err.value)
    assert "weights_only" not in str(err.value) and "\n" not in str(err.value)
