"""Writing prepared data: a streamed, byte-reproducible .npz, written atomically."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zspace.core.io import atomic_write
from zspace.errors import DataError


def write_npz(path: Path, members: Mapping[str, tuple[tuple[int, ...], np.dtype, list[np.ndarray]]]) -> None:
    """A compressed .npz written chunk by chunk (no concatenated copy), renamed into place.

    Fixed zip timestamps make the bytes a function of the content only.
    """

    def write(file: Any) -> None:
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, (shape, dtype, chunks) in members.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as f:
                    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
                    np.lib.format.write_array_header_1_0(f, header)
                    for chunk in chunks:
                        f.write(np.ascontiguousarray(chunk, dtype=dtype).tobytes())

    try:
        atomic_write(path, write)
    except OSError as err:
        raise DataError(f"{path}: cannot write the prepared data ({err}); check the directory and free space") from err
