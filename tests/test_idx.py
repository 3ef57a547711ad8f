"""The IDX reader (auditor.data.idx): plain and gzipped files, every type code, and malformed files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from auditor.data.idx import IdxError, read_idx


def _idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_reads_uint8_images_and_labels(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 1], dtype=np.uint8)
    (tmp_path / "img").write_bytes(_idx_bytes(images, 0x08))
    (tmp_path / "lab").write_bytes(_idx_bytes(labels, 0x08))
    np.testing.assert_array_equal(read_idx(tmp_path / "img", dtype="uint8", ndim=3), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "lab", dtype="uint8", ndim=1), labels)


@pytest.mark.parametrize(
    ("code", "dtype"),
    [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
def test_big_endian_types(tmp_path: Path, code: int, dtype: type) -> None:
    values = np.array([[-3, 2, 100], [5, -7, 0]]).astype(dtype)
    (tmp_path / "f").write_bytes(_idx_bytes(values, code))
    out = read_idx(tmp_path / "f")
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


def test_gzip_by_suffix_and_by_signature(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(3, 5, 5), dtype=np.uint8)
    data = gzip.compress(_idx_bytes(images, 0x08))
    (tmp_path / "a.gz").write_bytes(data)
    (tmp_path / "b").write_bytes(data)  # gzipped although the name does not say so
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "b"), images)


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b"\x00\x00", "too short"),
        (b"PK\x03\x04rest", "not an IDX file: magic number 0x504B0304"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01x", "not an IDX file"),  # unknown type code 0x07
        (b"\x00\x00\x08\x00", "not an IDX file"),  # zero dimensions
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated header"),
        (struct.pack(">IIII", 0x803, 2, 2, 2) + b"\x00" * 7, "truncated"),  # 8 pixels declared, 7 given
        (struct.pack(">II", 0x801, 2) + b"\x01\x02\x03", "trailing bytes"),
    ],
)
def test_malformed_files_are_named(tmp_path: Path, payload: bytes, needle: str) -> None:
    path = tmp_path / "bad-idx"
    path.write_bytes(payload)
    with pytest.raises(IdxError, match=needle) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_expected_type_and_dimensions(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(_idx_bytes(np.zeros((2, 2), np.int32), 0x0C))
    with pytest.raises(IdxError, match="expected 3 dimension"):
        read_idx(tmp_path / "f", ndim=3)
    with pytest.raises(IdxError, match="expected uint8 values, the file holds int32"):
        read_idx(tmp_path / "f", dtype="uint8")


def test_broken_gzip(tmp_path: Path) -> None:
    (tmp_path / "f.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(IdxError, match="not a readable gzip file"):
        read_idx(tmp_path / "f.gz")
