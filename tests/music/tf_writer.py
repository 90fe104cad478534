"""A minimal writer of TF V2 checkpoints, for tests: the format TF's BundleWriter produces
(one data block with a restart at every entry, an index block, the footer; one data shard).

Real TF checkpoints are in ``fixtures/magenta/`` (written by TensorFlow itself); this one lets
a test build a checkpoint of any shape, e.g. a preset's, without shipping megabytes.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from zspace.music.tfcheckpoint import CRC_MASK_DELTA, TABLE_MAGIC, crc32c

TF_DTYPES = {np.dtype("float32"): 1, np.dtype("int64"): 9, np.dtype("int32"): 3}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def mask_crc(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + CRC_MASK_DELTA) & 0xFFFFFFFF


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    body, restarts = bytearray(), []
    for key, value in entries:
        restarts.append(len(body))
        body += _varint(0) + _varint(len(key)) + _varint(len(value)) + key + value
    restarts = restarts or [0]
    return bytes(body) + b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))


def _with_trailer(block: bytes) -> bytes:
    return block + b"\x00" + struct.pack("<I", mask_crc(crc32c(block + b"\x00")))


def write_checkpoint(prefix: str | Path, tensors: dict[str, np.ndarray]) -> Path:
    """Write ``prefix.index`` and ``prefix.data-00000-of-00001``; returns the prefix."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    data, entries = bytearray(), [(b"", _field(1, 1) + _field(3, _field(1, 1)))]  # header: 1 shard, producer 1
    for name in sorted(tensors):
        array = np.array(tensors[name], order="C")  # ascontiguousarray would make a scalar 1-d
        raw = array.tobytes()
        shape = b"".join(_field(2, _field(1, d)) for d in array.shape)
        entry = _field(1, TF_DTYPES[array.dtype]) + _field(2, shape) + _field(4, len(data)) + _field(5, len(raw))
        entry += _varint(6 << 3 | 5) + struct.pack("<I", mask_crc(crc32c(raw)))
        entries.append((name.encode(), entry))
        data += raw
    block = _block(entries)
    meta = _block([])
    index = _block([(entries[-1][0], _varint(0) + _varint(len(block)))])
    out = _with_trailer(block)
    meta_handle = _varint(len(out)) + _varint(len(meta))
    out += _with_trailer(meta)
    index_handle = _varint(len(out)) + _varint(len(index))
    out += _with_trailer(index)
    footer = (meta_handle + index_handle).ljust(40, b"\x00") + struct.pack("<Q", TABLE_MAGIC)
    prefix.with_name(prefix.name + ".index").write_bytes(out + footer)
    prefix.with_name(prefix.name + ".data-00000-of-00001").write_bytes(bytes(data))
    return prefix
