"""SVHN's cropped digits (Netzer et al. 2011) and the MATLAB 5 MAT-file reader they need.

`train_32x32.mat` and `test_32x32.mat` each hold two variables: `X`, uint8 of shape
(32, 32, 3, N), and `y`, of shape (N, 1), labels 1..10 where 10 is the digit 0.

A MAT-file (level 5, as MATLAB's -v6 and -v7 write it) is a 128-byte header (text, then at bytes
124-127 the version 0x0100 and the endianness indicator, "IM" for a little-endian file, "MI" for a
big-endian one), then data elements. Each element is an 8-byte tag (type, byte count) and its data,
padded to 8 bytes; an element of at most 4 bytes may instead be packed with its tag into 8 bytes
(type in the low 16 bits of the first word, count in the high 16). A variable is an miMATRIX
element (type 14), alone or zlib-compressed inside an miCOMPRESSED one (type 15), holding in turn:
the array flags (miUINT32: class, complex flag), the dimensions (miINT32), the name (miINT8), and
the real part, of any numeric type whatever the array's class. Arrays are stored column-major.
MATLAB's -v7.3 files are HDF5 and are refused with a message saying so.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import numpy as np

from sgan.data.arrays_dataset import FileParts
from sgan.data.sources import DataError, content, read_bytes

_HEADER_BYTES = 128
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MI_MATRIX, _MI_COMPRESSED = 14, 15
_MI_INT8, _MI_INT32, _MI_UINT32 = 1, 5, 6
# miTYPE -> numpy type, for the numeric data elements an array's real part may be stored as
_MI_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
# mxCLASS -> name, for the numeric array classes (6 double .. 15 uint64); 1-5 are cell, struct,
# object, char and sparse, which this reader does not read
_NUMERIC_CLASSES = {6: "double", 7: "single", 8: "int8", 9: "uint8", 10: "int16", 11: "uint16", 12: "int32",
                    13: "uint32", 14: "int64", 15: "uint64"}
_COMPLEX_FLAG = 0x0800


class _Reader:
    """Walks the data elements of one MAT-file's bytes (or of one decompressed element)."""

    def __init__(self, path: Path, order: str) -> None:
        self.path, self.order = path, order

    def tag(self, buf: bytes | memoryview, pos: int, end: int, where: str) -> tuple[int, int, int, int]:
        """The element at `pos`: (type, byte count, where its data start, where its data end)."""
        if pos + 8 > end:
            raise DataError(f"{self.path}: truncated: the {where} at byte {pos} is cut off")
        first, second = struct.unpack_from(f"{self.order}II", buf, pos)
        if first >> 16:  # a small element: type and count in the first word, data in the second
            count = first >> 16
            if count > 4:
                raise DataError(f"{self.path}: corrupt: a packed element of {count} bytes at byte {pos}")
            return first & 0xFFFF, count, pos + 4, pos + 4 + count
        start = pos + 8
        if start + second > end:
            raise DataError(
                f"{self.path}: truncated: the {where} at byte {pos} declares {second:,} bytes, "
                f"only {max(end - start, 0):,} follow"
            )
        return first, second, start, start + second

    def sub_element(self, buf: bytes | memoryview, pos: int, end: int, what: str,
                    types: tuple[int, ...] | None) -> tuple[int, int, int, int]:
        """One element inside a matrix: (type, data start, data end, the next element's position)."""
        mtype, count, start, stop = self.tag(buf, pos, end, what)
        if types is not None and mtype not in types:
            raise DataError(f"{self.path}: corrupt: the {what} at byte {pos} has data type {mtype}")
        packed = start == pos + 4
        following = pos + 8 if packed else start + -(-count // 8) * 8  # padded to 8 bytes
        return mtype, start, stop, min(following, end)

    def matrix(self, buf: bytes | memoryview, pos: int, end: int) -> tuple[str, np.ndarray | str]:
        """An miMATRIX's name and its array, column-major as stored, or why it is not read."""
        if pos == end:
            return "", "empty"
        _, start, stop, pos = self.sub_element(buf, pos, end, "array flags", (_MI_UINT32,))
        if stop - start < 8:
            raise DataError(f"{self.path}: corrupt: array flags of {stop - start} bytes")
        (flags,) = struct.unpack_from(f"{self.order}I", buf, start)
        klass = flags & 0xFF
        _, start, stop, pos = self.sub_element(buf, pos, end, "dimensions", (_MI_INT32,))
        if (stop - start) % 4 or stop == start:
            raise DataError(f"{self.path}: corrupt: dimensions of {stop - start} bytes")
        dims = struct.unpack_from(f"{self.order}{(stop - start) // 4}i", buf, start)
        if min(dims) < 0:
            raise DataError(f"{self.path}: corrupt: negative dimension in {dims}")
        _, start, stop, pos = self.sub_element(buf, pos, end, "array name", (_MI_INT8, 2))
        name = bytes(buf[start:stop]).decode("ascii", "replace")
        if klass not in _NUMERIC_CLASSES:
            return name, f"of MATLAB class {klass}, not a numeric array"
        if flags & _COMPLEX_FLAG:
            return name, "complex"
        mtype, start, stop, pos = self.sub_element(buf, pos, end, f"data of {name!r}", None)
        if mtype not in _MI_DTYPES:
            raise DataError(f"{self.path}: corrupt: the data of {name!r} have data type {mtype}")
        dtype = np.dtype(self.order + _MI_DTYPES[mtype])
        count = math.prod(dims)
        if stop - start != count * dtype.itemsize:
            raise DataError(
                f"{self.path}: corrupt: {name!r} is {'x'.join(map(str, dims))} but has {stop - start:,} bytes "
                f"of {dtype.name}"
            )
        array = np.frombuffer(buf, dtype=dtype, count=count, offset=start).reshape(dims, order="F")
        return name, array


def read_mat(path: str | Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The numeric variables `names` of a MATLAB 5 MAT-file, in MATLAB's shape (column-major views).

    A missing variable, a truncated or corrupt file, and a v7.3 (HDF5) file are each a `DataError`
    naming the file. Other variables are skipped whatever their class.
    """
    path = Path(path)
    data = content(read_bytes(path), path)
    if data[:8] == _HDF5_SIGNATURE or data[512:520] == _HDF5_SIGNATURE or b"MATLAB 7.3" in data[:116]:
        raise DataError(
            f"{path}: a MATLAB v7.3 (HDF5) MAT-file, which sgan does not read; it reads MATLAB 5 (-v6, -v7) "
            "MAT-files such as SVHN's own"
        )
    if len(data) < _HEADER_BYTES:
        raise DataError(f"{path}: {len(data)} bytes, too short for a MAT-file header")
    indicator = data[126:128]
    if indicator not in (b"IM", b"MI"):
        raise DataError(f"{path}: not a MATLAB 5 MAT-file (no endianness indicator at bytes 126-127)")
    order = "<" if indicator == b"IM" else ">"
    (version,) = struct.unpack_from(f"{order}H", data, 124)
    if version != 0x0100:
        raise DataError(f"{path}: MAT-file version 0x{version:04x}, expected 0x0100 (MATLAB 5)")
    reader = _Reader(path, order)
    found: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    pos, end = _HEADER_BYTES, len(data)
    view = memoryview(data)
    while pos < end and len(found) < len(names):
        mtype, count, start, stop = reader.tag(view, pos, end, "variable")
        if mtype == _MI_COMPRESSED:
            try:
                inner = zlib.decompress(view[start:stop])
            except zlib.error as e:
                raise DataError(f"{path}: corrupt compressed variable at byte {pos} ({e})") from e
            itype, _, istart, istop = reader.tag(inner, 0, len(inner), "compressed variable")
            if itype != _MI_MATRIX:
                raise DataError(f"{path}: corrupt: a compressed element at byte {pos} holds data type {itype}")
            name, value = reader.matrix(inner, istart, istop)
        elif mtype == _MI_MATRIX:
            name, value = reader.matrix(view, start, stop)
        else:
            raise DataError(f"{path}: corrupt: data type {mtype} at byte {pos} where a variable should be")
        if isinstance(value, str):
            skipped[name] = value
        elif name in names:
            found[name] = value
        pos = stop  # top-level elements are not padded (miCOMPRESSED's count is the stream's length)
    missing = [n for n in names if n not in found]
    if missing:
        why = "; ".join(f"{n!r} is {skipped[n]}" for n in missing if n in skipped)
        raise DataError(f"{path}: no numeric variable {', '.join(map(repr, missing))}{f' ({why})' if why else ''}")
    return found


def _whole(values: np.ndarray, path: Path, what: str) -> np.ndarray:
    """Values of any numeric type as int64, refusing any that is not a whole number."""
    if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
        raise DataError(f"{path}: {what} holds values that are not whole numbers")
    return values.astype(np.int64)


def read_svhn(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One SVHN file as uint8 images [N, 32, 32, 3] (HWC, RGB) and int64 labels [N], the digit 0 as 0."""
    path = Path(path)
    arrays = read_mat(path, ("X", "y"))
    x, y = arrays["X"], arrays["y"]
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3):
        raise DataError(f"{path}: X has shape {'x'.join(map(str, x.shape))}, expected 32x32x3xN")
    n = x.shape[3]
    if y.size != n or (y.ndim == 2 and 1 not in y.shape) or y.ndim > 2:
        raise DataError(f"{path}: y has shape {'x'.join(map(str, y.shape))} for {n} images, expected {n}x1")
    if x.dtype != np.uint8:
        x = _whole(x, path, "X")
        if n and (x.min() < 0 or x.max() > 255):
            raise DataError(f"{path}: X holds values outside 0-255")
    labels = _whole(y.reshape(-1, order="F"), path, "y")
    bad = np.flatnonzero((labels < 1) | (labels > 10))
    if len(bad):
        raise DataError(f"{path}: label {labels[bad[0]]} of image {bad[0]} is outside 1-10 (10 is the digit 0)")
    labels[labels == 10] = 0
    # MATLAB's X(row, column, channel, image) to [image, row, column, channel], a C-ordered copy.
    images = np.ascontiguousarray(x.transpose(3, 0, 1, 2), dtype=np.uint8)
    return images, labels


class SVHN(FileParts):
    """SVHN's cropped digits as uint8 arrays, as torchvision's `SVHN` but without transforms.

    `images` is [N, 32, 32, 3] (HWC, RGB), `targets` int64 [N] with the digit 0 as label 0
    (the files say 10). The training split is `train_32x32.mat` (73,257 images), the test split
    `test_32x32.mat` (26,032); both are checked by md5 when `verify` is on.
    """

    default_name = "svhn"
    read = staticmethod(read_svhn)

