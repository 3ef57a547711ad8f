"""A reader for IDX files, the format of MNIST and Fashion-MNIST, plain or gzipped.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the values in
row-major (C) order, big-endian. The magic number is two zero bytes, a type code and the number
of dimensions::

    0x00 0x00 <type> <ndim>   <dim 0> ... <dim ndim-1>   <data>

Type codes: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64. MNIST's images are ``0x00000803`` (uint8, N x 28 x 28) and its labels
``0x00000801`` (uint8, N).

Reference: Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of handwritten digits"
(the file-format section of the distribution's web page); Fashion-MNIST keeps the format (H. Xiao,
K. Rasul and R. Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning
Algorithms", arXiv:1708.07747, 2017).

A file whose name ends in ``.gz``, or that starts with the gzip signature, is decompressed while
it is read. Every inconsistency (bad magic, unknown type, wrong size, truncated gzip) raises
:class:`IdxError`, a ``ValueError`` whose message says what was expected and what was found.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDX_TYPES", "IdxError", "read_idx"]

# type code -> (numpy dtype, big-endian), name for messages
IDX_TYPES: dict[int, tuple[str, str]] = {
    0x08: (">u1", "unsigned byte"),
    0x09: (">i1", "signed byte"),
    0x0B: (">i2", "int16"),
    0x0C: (">i4", "int32"),
    0x0D: (">f4", "float32"),
    0x0E: (">f8", "float64"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIMS = 8  # no IDX dataset has more; a larger count means the file is not IDX


class IdxError(ValueError):
    """An IDX file is malformed, or not the array the caller expects."""


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        raw = fh.read()
    if path.suffix == ".gz" or raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise IdxError(f"{path}: not a readable gzip file ({type(exc).__name__}: {exc})") from None
    return raw


def read_idx(path: str | Path, *, dtype: str | None = None, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (plain or gzipped) into a native-endian numpy array.

    Args:
        path: The file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.
        dtype: If given, the numpy dtype the file must hold (e.g. ``"uint8"``).
        ndim: If given, the number of dimensions the file must have.

    Returns:
        The array, shaped as the header says, in native byte order.

    Raises:
        IdxError: The file is not IDX, is truncated or has trailing bytes, or its type or number
            of dimensions differs from ``dtype`` / ``ndim``.
        OSError: The file cannot be opened.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IdxError(f"{path}: {len(raw)} bytes is too short for an IDX header (4-byte magic number)")
    zero, type_code, dims = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or type_code not in IDX_TYPES or not 1 <= dims <= _MAX_DIMS:
        raise IdxError(
            f"{path}: not an IDX file: magic number 0x{int.from_bytes(raw[:4], 'big'):08X}; expected "
            f"0x0000TTDD with type TT in {{{', '.join(f'{t:02X}' for t in IDX_TYPES)}}} and "
            f"1..{_MAX_DIMS} dimensions DD (MNIST images: 0x00000803, labels: 0x00000801)"
        )
    header = 4 + 4 * dims
    if len(raw) < header:
        raise IdxError(
            f"{path}: truncated header: {dims} dimensions need {header} bytes, the file has {len(raw)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=dims, offset=4))
    code, type_name = IDX_TYPES[type_code]
    item = np.dtype(code)
    expected = header + item.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "trailing bytes"
        raise IdxError(
            f"{path}: {what}: the header declares {type_name} of shape {shape}, i.e. {expected} bytes "
            f"in all, but the file holds {len(raw)} (is it complete?)"
        )
    array = np.frombuffer(raw, dtype=item, offset=header).reshape(shape)
    array = array.astype(item.newbyteorder("="), copy=False)
    if ndim is not None and array.ndim != ndim:
        raise IdxError(f"{path}: expected {ndim} dimension(s), the file has {array.ndim} (shape {shape})")
    if dtype is not None and array.dtype != np.dtype(dtype):
        raise IdxError(f"{path}: expected {np.dtype(dtype).name} values, the file holds {type_name}")
    return array
