"""Read TensorFlow V2 checkpoints (``tf.train.Saver`` / ``tf.train.Checkpoint``) without TensorFlow.

A checkpoint is a prefix P with ``P.index`` and data shards ``P.data-0000N-of-0000M``. The index
is a LevelDB-format table (TF's ``core/lib/io/table``): data blocks of prefix-compressed
``key -> value`` entries, an index block pointing at them, and a 48-byte footer ending in a
magic number. Each block is followed by a compression byte and a masked CRC-32C. The value
under the empty key is a ``BundleHeaderProto`` (number of shards, endianness); every other key
is a tensor name whose value is a ``BundleEntryProto`` (dtype, shape, shard, offset, size,
masked CRC-32C of the bytes). Protobuf fields are decoded by hand: the few used here are
varints, one fixed32 and nested messages (TF's ``core/protobuf/tensor_bundle.proto``).

Every check that fails raises :class:`~zspace.errors.CheckpointError` naming the file.
"""

from __future__ import annotations

import functools
import struct
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from zspace.errors import CheckpointError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two block handles padded to 40 bytes + the 8-byte magic
BLOCK_TRAILER_SIZE = 5  # compression type (1 byte) + masked crc32c (4 bytes)
CRC_MASK_DELTA = 0xA282EAD8

# TF DataType enum -> numpy dtype (types.proto); strings (7) and resources are not tensors we read.
DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),
    2: np.dtype("<f8"),
    3: np.dtype("<i4"),
    4: np.dtype("u1"),
    5: np.dtype("<i2"),
    6: np.dtype("i1"),
    9: np.dtype("<i8"),
    10: np.dtype("?"),
    19: np.dtype("<f2"),
}
DT_STRING = 7

# Variables an optimizer or the training loop adds: not part of the model.
OPTIMIZER_SUFFIXES = ("/Adam", "/Adam_1", "/Momentum", "/RMSProp", "/RMSProp_1", "/ExponentialMovingAverage")
TRAINING_NAMES = ("global_step", "beta1_power", "beta2_power")


# -- CRC-32C (Castagnoli), as TF's core/lib/hash/crc32c --------------------------------------------
def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1).astype(np.uint32)
    return table


_TABLE = _crc_table()
_TABLE_LIST = [int(v) for v in _TABLE]


@functools.lru_cache(maxsize=256)
def _zeros_operator(n_bytes: int) -> np.ndarray:
    """The linear map (32 columns, uint32) of feeding n zero bytes to a CRC register."""
    one = np.array([(_TABLE[(1 << b) & 0xFF] ^ ((1 << b) >> 8)) for b in range(32)], dtype=np.uint32)  # one zero byte
    result = np.array([1 << b for b in range(32)], dtype=np.uint32)  # identity
    while n_bytes:
        if n_bytes & 1:
            result = _apply(one, result)
        one, n_bytes = _apply(one, one), n_bytes >> 1
    return result


def _apply(operator: np.ndarray, registers: np.ndarray) -> np.ndarray:
    """operator (32 columns) applied to every register in ``registers`` (uint32 array), over GF(2)."""
    bits = (registers[:, None] >> np.arange(32, dtype=np.uint32)) & 1  # (R, 32)
    return np.bitwise_xor.reduce(np.where(bits == 1, operator, np.uint32(0)), axis=1).astype(np.uint32)


def crc32c(data: bytes | memoryview, chunk: int = 1024) -> int:
    """CRC-32C of ``data``. Numpy runs all ``chunk``-byte pieces side by side, then combines them:
    a CRC register is linear in the bytes, and leading zero bytes leave a zero register unchanged."""
    n = len(data)
    if n <= chunk:  # one piece: the plain byte loop is quicker than numpy's set-up
        register = 0xFFFFFFFF
        for byte in bytes(data):
            register = _TABLE_LIST[(register ^ byte) & 0xFF] ^ (register >> 8)
        return register ^ 0xFFFFFFFF
    raw = np.frombuffer(data, dtype=np.uint8)
    rows = -(-n // chunk) if n else 0
    padded = np.zeros(rows * chunk, dtype=np.uint8)
    padded[rows * chunk - n :] = raw  # zero-padding at the front: no effect on a register started at 0
    columns = np.ascontiguousarray(padded.reshape(rows, chunk).T)  # (chunk, rows)
    registers = np.zeros(rows, dtype=np.uint32)
    for byte in columns:
        registers = _TABLE[(registers ^ byte) & 0xFF] ^ (registers >> np.uint32(8))
    length = chunk
    while len(registers) > 1:  # pairwise: register(A + B) = zeros_len(B)(register(A)) ^ register(B)
        if len(registers) % 2:
            registers = np.concatenate([np.zeros(1, dtype=np.uint32), registers])
        registers = _apply(_zeros_operator(length), registers[0::2]) ^ registers[1::2]
        length *= 2
    register = int(registers[0]) if rows else 0
    start = int(_apply(_zeros_operator(n), np.array([0xFFFFFFFF], dtype=np.uint32))[0])  # the initial 0xFFFFFFFF, carried
    return (register ^ start) ^ 0xFFFFFFFF


def unmask_crc(masked: int) -> int:
    rot = (masked - CRC_MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# -- protobuf and table primitives -----------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        result |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return result, pos


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: ints for varint/fixed fields, bytes for others."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos : pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos : pos + 4], "little"), pos + 4
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated protobuf field")
        yield number, value


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor's bytes are: dtype (TF enum), shape, shard, byte offset and size, masked CRC."""

    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    masked_crc: int | None
    sliced: bool


def _entry(value: bytes) -> TensorEntry:
    fields = {"dtype": 0, "shard": 0, "offset": 0, "size": 0}
    shape: list[int] = []
    masked_crc, sliced = None, False
    for number, v in _fields(value):
        if number == 1:
            fields["dtype"] = v  # type: ignore[assignment]
        elif number == 2:
            shape = [dict(_fields(dim)).get(1, 0) for n, dim in _fields(v) if n == 2]  # type: ignore[arg-type,misc]
        elif number in (3, 4, 5):
            fields[{3: "shard", 4: "offset", 5: "size"}[number]] = v  # type: ignore[assignment]
        elif number == 6:
            masked_crc = v  # type: ignore[assignment]
        elif number == 7:
            sliced = True
    return TensorEntry(fields["dtype"], tuple(shape), fields["shard"], fields["offset"], fields["size"], masked_crc, sliced)


def _block_handle(buf: bytes, pos: int = 0) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def _read_block(index: bytes, offset: int, size: int) -> bytes:
    if offset + size + BLOCK_TRAILER_SIZE > len(index):
        raise ValueError("a block runs past the end of the file")
    contents = index[offset : offset + size]
    kind, masked = index[offset + size], int.from_bytes(index[offset + size + 1 : offset + size + 5], "little")
    if crc32c(index[offset : offset + size + 1]) != unmask_crc(masked):
        raise ValueError(f"block at byte {offset} fails its CRC-32C check")
    if kind != 0:
        raise ValueError(f"block at byte {offset} is compressed (type {kind}); TF writes bundle indexes uncompressed")
    return contents


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise ValueError("a block is shorter than its restart count")
    n_restarts = int.from_bytes(block[-4:], "little")
    end = len(block) - 4 - 4 * n_restarts
    if end < 0:
        raise ValueError("a block's restart array does not fit in it")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_size, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + value_size > end:
            raise ValueError("a block entry runs past its block")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + value_size]
        pos += value_size


def read_index(index: bytes) -> tuple[int, dict[str, TensorEntry]]:
    """Parse a ``.index`` file: (number of data shards, tensor name -> entry). Raises ValueError."""
    if len(index) < FOOTER_SIZE:
        raise ValueError(f"{len(index)} bytes is shorter than a table footer ({FOOTER_SIZE} bytes)")
    footer = index[-FOOTER_SIZE:]
    if struct.unpack("<Q", footer[-8:])[0] != TABLE_MAGIC:
        raise ValueError("no table magic number at its end: not a TF checkpoint index")
    _, _, pos = _block_handle(footer)  # the metaindex block: empty in bundles
    index_offset, index_size, _ = _block_handle(footer, pos)
    n_shards, entries = 1, {}
    for _, handle in _block_entries(_read_block(index, index_offset, index_size)):
        offset, size, _ = _block_handle(handle)
        for key, value in _block_entries(_read_block(index, offset, size)):
            if key == b"":
                header = dict(_fields(value))
                n_shards = int(header.get(1, 1))
                if header.get(2, 0) != 0:
                    raise ValueError("the checkpoint is big-endian; only little-endian checkpoints are supported")
            else:
                entries[key.decode("utf-8")] = _entry(value)
    return n_shards, entries


# -- where the files are: a prefix, a folder, or a tar archive -------------------------------------
@dataclass(frozen=True)
class _Files:
    where: str  # for messages
    index: bytes
    open_shard: Callable[[str], BinaryIO | None]  # file name suffix ".data-..." -> an open binary file, or None


def _prefix_of(path: Path) -> Path:
    name = path.name
    if name.endswith(".index"):
        return path.with_name(name[: -len(".index")])
    if ".data-" in name:
        return path.with_name(name[: name.rindex(".data-")])
    return path


def _from_folder(folder: Path) -> Path:
    indexes = sorted(folder.glob("*.index"))
    pointer = folder / "checkpoint"  # tf.train.Saver's record of the latest prefix
    if len(indexes) > 1 and pointer.is_file():
        for line in pointer.read_text(errors="replace").splitlines():
            if line.startswith("model_checkpoint_path:"):
                return folder / line.split(":", 1)[1].strip().strip('"')
    if len(indexes) != 1:
        found = ", ".join(p.name for p in indexes) or "none"
        raise CheckpointError(f"{folder} must hold exactly one TF checkpoint (*.index), found: {found}; pass its prefix instead")
    return _prefix_of(indexes[0])


@contextmanager
def _open(path: str | Path) -> Iterator[_Files]:
    path = Path(path).expanduser()
    if path.is_file() and tarfile.is_tarfile(path):
        with tarfile.open(path, "r:*") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            indexes = [name for name in members if name.endswith(".index")]
            if len(indexes) != 1:
                raise CheckpointError(f"{path} must hold exactly one TF checkpoint (*.index), found {len(indexes)}")
            stem = indexes[0][: -len(".index")]

            def open_member(suffix: str) -> BinaryIO | None:
                member = members.get(stem + suffix)
                return tar.extractfile(member) if member is not None else None  # type: ignore[return-value]

            yield _Files(f"{path}:{indexes[0]}", tar.extractfile(members[indexes[0]]).read(), open_member)  # type: ignore[union-attr]
        return
    prefix = _from_folder(path) if path.is_dir() else _prefix_of(path)
    index_path = prefix.with_name(prefix.name + ".index")
    if not index_path.is_file():
        if path.is_file():
            raise CheckpointError(
                f"{path} is not a TF checkpoint: pass its prefix, its .index file, its folder or a .tar of them"
            )
        raise CheckpointError(f"TF checkpoint {index_path} does not exist; pass the prefix (model.ckpt), a folder or a .tar")

    def open_file(suffix: str) -> BinaryIO | None:
        shard = prefix.with_name(prefix.name + suffix)
        return shard.open("rb") if shard.is_file() else None

    yield _Files(str(index_path), index_path.read_bytes(), open_file)


def is_model_variable(name: str) -> bool:
    """False for optimizer slots and training counters (Adam moments, beta powers, global_step)."""
    return name not in TRAINING_NAMES and not name.endswith(OPTIMIZER_SUFFIXES) and not name.startswith("_CHECKPOINTABLE")


def read_checkpoint(path: str | Path, *, model_only: bool = True) -> dict[str, np.ndarray]:
    """All tensors of a TF V2 checkpoint as numpy arrays (float32 stays float32), by variable name.

    ``path``: the prefix (``model.ckpt``), its ``.index`` or a data file, a folder holding one
    checkpoint, or a ``.tar``/``.tar.gz`` of one (as Magenta distributes them). ``model_only``
    skips optimizer slots and training counters. Each tensor's bytes are checked against the
    CRC-32C the index stores.
    """
    with _open(path) as files:
        try:
            n_shards, entries = read_index(files.index)
        except ValueError as err:
            raise CheckpointError(f"{files.where}: not a readable TF checkpoint index ({err})") from None
        names = sorted(n for n in entries if not model_only or is_model_variable(n))
        shard_files: dict[int, BinaryIO] = {}
        tensors: dict[str, np.ndarray] = {}
        try:
            for name in names:
                entry = entries[name]
                if entry.dtype == DT_STRING and not model_only:
                    continue
                tensors[name] = _read_tensor(files, name, entry, n_shards, shard_files)
        finally:
            for handle in shard_files.values():
                handle.close()
    return tensors


def _read_tensor(files: _Files, name: str, entry: TensorEntry, n_shards: int, shard_files: dict[int, BinaryIO]) -> np.ndarray:
    if entry.sliced:
        raise CheckpointError(f"{files.where}: variable {name!r} is saved in slices (a partitioned variable); not supported")
    if entry.dtype not in DTYPES:
        raise CheckpointError(f"{files.where}: variable {name!r} has TF dtype {entry.dtype}, which is not a numeric tensor type")
    suffix = f".data-{entry.shard:05d}-of-{n_shards:05d}"
    if entry.shard not in shard_files:
        handle = files.open_shard(suffix)
        if handle is None:
            raise CheckpointError(
                f"{files.where}: data shard {suffix} is missing; copy every {suffix[:6]}* file beside the index"
            )
        shard_files[entry.shard] = handle
    handle = shard_files[entry.shard]
    handle.seek(entry.offset)
    data = handle.read(entry.size)
    dtype = DTYPES[entry.dtype]
    if len(data) != entry.size:
        raise CheckpointError(f"{files.where}: data shard {suffix} is truncated (variable {name!r} ends past its end)")
    if entry.size != dtype.itemsize * int(np.prod(entry.shape, dtype=np.int64)):
        raise CheckpointError(
            f"{files.where}: variable {name!r} has {entry.size} bytes for shape {entry.shape}; the index is corrupt"
        )
    if entry.masked_crc is not None and crc32c(data) != unmask_crc(entry.masked_crc):
        raise CheckpointError(f"{files.where}: variable {name!r} fails its CRC-32C check; data shard {suffix} is corrupt")
    return np.frombuffer(data, dtype=dtype).reshape(entry.shape).copy()


__all__ = ["TensorEntry", "crc32c", "is_model_variable", "read_checkpoint", "read_index"]
