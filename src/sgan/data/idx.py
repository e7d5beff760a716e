"""The IDX format (MNIST's four files) and its reader, for every dataset described in that format.

MNIST and Fashion-MNIST are the same reader with two descriptions (`sgan.data.sources.DATASETS`).
`load`, the one way the rest of sgan reads a named dataset, dispatches on the description's
"reader": "idx" here, "cifar" (`sgan.data.cifar`), "svhn" (`sgan.data.svhn`).
"""

from __future__ import annotations

import functools
import math
import struct
from pathlib import Path

import numpy as np

from sgan.data import sources
from sgan.data.arrays_dataset import ImageArrays
from sgan.data.cifar import CIFAR10
from sgan.data.sources import DataError, content, dataset_files, description, find_dataset, read_bytes, split_keys
from sgan.data.svhn import SVHN

_IDX_MAGIC = {0x00000801: "labels", 0x00000803: "images"}


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes, too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    if magic not in _IDX_MAGIC:
        raise DataError(
            f"{path}: bad IDX magic number 0x{magic:08x} "
            "(expected 0x00000801 for uint8 labels or 0x00000803 for uint8 images)"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} of {header} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + math.prod(dims)
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "trailing bytes"
        raise DataError(
            f"{path}: {what}: {len(data)} bytes, but dims {'x'.join(map(str, dims))} "
            f"need exactly {expected}"
        )
    # A copy, so that the array is writable and does not pin the file's bytes.
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file, refusing anything whose size does not match its header exactly.

    A short download still decompresses and would otherwise silently lose examples.
    """
    path = Path(path)
    return _parse_idx(content(read_bytes(path), path), path)


class MNIST(ImageArrays):
    """A dataset in IDX format (MNIST by default) as uint8 arrays, as torchvision's dataset classes.

    Arrays rather than tensors, because every user here scales and slices the whole set at
    once (`make_split`); a per-item transform would only slow that down.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        train: bool = True,
        name: str = "mnist",
        download: bool = True,
        verify: bool = True,
    ) -> None:
        about = description(name)
        self.name, self.train, self.classes = name, train, list(about["classes"])
        self.root = find_dataset(name, root, download)
        split = "train" if train else "test"
        keys = (f"{split}_images", f"{split}_labels")
        if verify:
            sources.verify(self.root, name, keys)
        files = dataset_files(self.root, name)
        images_path, labels_path = files[keys[0]], files[keys[1]]
        self.images = read_idx(images_path)
        self.targets = read_idx(labels_path).astype(np.int64)
        _, h, w = about["image_shape"]
        if self.images.ndim != 3 or self.images.shape[1:] != (h, w):
            raise DataError(f"{images_path}: expected {h}x{w} images, got shape {self.images.shape}")
        if self.targets.ndim != 1:
            raise DataError(f"{labels_path}: expected labels, got shape {self.targets.shape}")
        if len(self.targets) != len(self.images):
            raise DataError(
                f"{labels_path} has {len(self.targets)} labels but {images_path} has "
                f"{len(self.images)} images"
            )
        if len(self.targets) and self.targets.max() >= len(self.classes):
            raise DataError(
                f"{labels_path}: label {self.targets.max()} out of range for "
                f"{len(self.classes)} classes"
            )



Dataset = MNIST | CIFAR10 | SVHN
_READERS: dict[str, type[MNIST] | type[CIFAR10] | type[SVHN]] = {"idx": MNIST, "cifar": CIFAR10, "svhn": SVHN}


@functools.lru_cache(maxsize=4)
def _load(name: str, root: str, train: bool) -> Dataset:
    """One parse per (dataset, place, split) per process; the arrays are frozen as shared."""
    reader = description(name)["reader"]
    if reader not in _READERS:
        raise ValueError(f"dataset {name!r} names reader {reader!r}; known: {', '.join(_READERS)}")
    ds = _READERS[reader](root, train=train, name=name, download=False, verify=False)
    ds.images.flags.writeable = False
    ds.targets.flags.writeable = False
    return ds


def load(name: str, root: Path, train: bool, verify: bool = True) -> Dataset:
    """The dataset's training or test split from `root`, checked once per file and parsed once."""
    if verify:
        sources.verify(root, name, split_keys(name, train))
    return _load(name, str(root), train)


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao et al. 2017): the MNIST reader with Fashion-MNIST's description."""

    def __init__(self, root: str | Path | None = None, train: bool = True, download: bool = True,
                 verify: bool = True) -> None:
        super().__init__(root, train=train, name="fashion-mnist", download=download, verify=verify)
