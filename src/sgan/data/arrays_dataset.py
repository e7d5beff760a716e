"""What every named dataset's split looks like in memory, as torchvision's dataset classes:
`images` uint8 [N, H, W] or [N, H, W, C], `targets` int64 [N], `classes` (names), indexing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from sgan.data import sources
from sgan.data.sources import dataset_files, description, find_dataset, split_keys


class ImageArrays:
    """One split of a named dataset: `images`, `targets`, `classes`, `name`, `train`, `root`."""

    name: str
    train: bool
    root: Path
    images: np.ndarray
    targets: np.ndarray
    classes: list[str]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.images[i], int(self.targets[i])

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"{type(self).__name__}(name={self.name!r}, {split}, {len(self)} examples, root={self.root})"


class FileParts(ImageArrays):
    """A split stored as one or more files, each read by `read` to (images, labels) and joined in order."""

    default_name: ClassVar[str]
    read: ClassVar[Callable[[Path], tuple[np.ndarray, np.ndarray]]]

    def __init__(self, root: str | Path | None = None, train: bool = True, download: bool = True,
                 verify: bool = True, name: str | None = None) -> None:
        name = name or self.default_name
        self.name, self.train, self.classes = name, train, list(description(name)["classes"])
        self.root = find_dataset(name, root, download)
        keys = split_keys(name, train)
        if verify:
            sources.verify(self.root, name, keys)
        files = dataset_files(self.root, name)
        parts = [type(self).read(files[key]) for key in keys]
        self.images = np.concatenate([images for images, _ in parts])
        self.targets = np.concatenate([labels for _, labels in parts])
