"""CIFAR-10's binary version and its reader.

The archive `cifar-10-binary.tar.gz` holds the folder `cifar-10-batches-bin/` with five training
batches, `data_batch_1.bin` .. `data_batch_5.bin`, and `test_batch.bin`. Each batch is 10,000
records of 3,073 bytes: one label byte (0-9), then the 3,072 pixel bytes of a 32x32 image, the
1,024 red values, then the green, then the blue, each channel row-major. There is no header, so
a file's structure is all there is to check (its size, its labels); the archive is checked by its
md5 (`sgan.data.sources`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sgan.data.arrays_dataset import FileParts
from sgan.data.sources import DataError, content, read_bytes

RECORD_BYTES = 1 + 3 * 32 * 32
_NUM_LABELS = 10


def read_cifar(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file (raw or gzipped) as uint8 images [N, 32, 32, 3] and int64 labels [N].

    A file that is not a whole number of records, or holds a label outside 0-9, is refused by name.
    """
    path = Path(path)
    data = content(read_bytes(path), path)
    if not data or len(data) % RECORD_BYTES:
        raise DataError(
            f"{path}: {len(data):,} bytes, not a whole number of {RECORD_BYTES:,}-byte CIFAR-10 records "
            "(truncated or not a CIFAR-10 batch)"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0]
    bad = np.flatnonzero(labels >= _NUM_LABELS)
    if len(bad):
        raise DataError(
            f"{path}: label {labels[bad[0]]} in record {bad[0]} is outside 0-{_NUM_LABELS - 1} "
            "(corrupt or not a CIFAR-10 batch)"
        )
    # [N, C, H, W] as stored (channel planes), to [N, H, W, C]; the copy is writable and owns its memory.
    images = np.ascontiguousarray(records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels.astype(np.int64)


class CIFAR10(FileParts):
    """CIFAR-10 (Krizhevsky 2009) as uint8 arrays, as torchvision's `CIFAR10` but without transforms.

    `images` is [N, 32, 32, 3] (HWC, RGB), `targets` int64 [N]; the training split is the five
    batches in order, 50,000 images, the test split 10,000. `verify` checks each batch's exact size
    (its md5 is not published; the archive's is checked whenever the archive is used).
    """

    default_name = "cifar10"
    read = staticmethod(read_cifar)

