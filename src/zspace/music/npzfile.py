"""Writing prepared data: a streamed, byte-reproducible .npz and atomic text files."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from zspace.errors import DataError


def write_npz(path: Path, members: Mapping[str, tuple[tuple[int, ...], np.dtype, list[np.ndarray]]]) -> None:
    """A compressed .npz written chunk by chunk (no concatenated copy), renamed into place.

    Fixed zip timestamps make the bytes a function of the content only.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, (shape, dtype, chunks) in members.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as f:
                    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
                    np.lib.format.write_array_header_1_0(f, header)
                    for chunk in chunks:
                        f.write(np.ascontiguousarray(chunk, dtype=dtype).tobytes())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise DataError(f"{path}: cannot write the prepared data ({err}); check the directory and free space") from err


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
