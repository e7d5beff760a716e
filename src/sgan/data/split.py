"""The semi-supervised split of one run: a few labeled images, an unlabeled pool, a test set.

The split carries what the networks are built from: the image shape (C, H, W) and the class
names. The unlabeled pool holds images only, by construction, so that no code path can leak its
labels into training.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sgan.data.idx import load
from sgan.data.sources import description, find_dataset

PIXEL_RANGES = ("tanh", "unit")


def select_labeled(
    targets: np.ndarray, n: int, num_classes: int = 10, mode: str = "balanced", seed: int = 0
) -> np.ndarray:
    """The training indices whose labels the classifier may see.

    "balanced" draws n/K distinct examples per class (the stacked-discriminator tutorial's
    scheme, without its duplicate draws); "reference" takes n/K per class as openai/improved-gan
    does (the first of each class in ``np.random.RandomState(seed).permutation(len(targets))``),
    so that its subsets are the paper's; "first" takes the first n (GANs in Action's
    ``x_train[:100]``), which is not balanced.
    """
    targets = np.asarray(targets)
    if mode not in ("balanced", "first", "reference"):
        raise ValueError(f"unknown label selection {mode!r}; use 'balanced', 'reference' or 'first'")
    if n <= 0:
        raise ValueError(f"the number of labeled examples must be positive, got {n}")
    if n > len(targets):
        raise ValueError(f"{n} labeled examples requested but the training set has {len(targets)}")
    if mode == "first":
        return np.arange(n, dtype=np.int64)
    if n % num_classes:
        raise ValueError(f"{mode} selection needs a multiple of {num_classes} labels, got {n}")
    per_class = n // num_classes
    rng = np.random.default_rng(seed)
    order = np.random.RandomState(seed).permutation(len(targets)) if mode == "reference" else None
    chosen = []
    for c in range(num_classes):
        pool = np.flatnonzero(targets == c)
        if len(pool) < per_class:
            raise ValueError(
                f"balanced selection needs {per_class} examples per class but class {c} "
                f"has only {len(pool)}"
            )
        if order is not None:
            chosen.append(order[targets[order] == c][:per_class])
        else:
            chosen.append(np.sort(rng.choice(pool, size=per_class, replace=False)))
    return np.concatenate(chosen).astype(np.int64)


def indices_sha256(indices: np.ndarray) -> str:
    """A fingerprint of the labeled set, so that two runs can be shown to have used the same."""
    return hashlib.sha256(np.asarray(indices, dtype="<i8").tobytes()).hexdigest()


def scale_pixels(images: np.ndarray, pixel_range: str = "tanh") -> torch.Tensor:
    """uint8 images, [N, H, W] (greyscale) or [N, H, W, C], to float32 [N, C, H, W] in the range
    the generator's output uses.

    "tanh" ([-1, 1]) matches a tanh generator, as in both tutorials; "unit" is [0, 1].
    """
    if pixel_range not in PIXEL_RANGES:
        raise ValueError(f"unknown pixel range {pixel_range!r}; use 'tanh' or 'unit'")
    x = torch.from_numpy(np.array(images, dtype=np.float32))
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()
    return x.div_(127.5).sub_(1.0) if pixel_range == "tanh" else x.div_(255.0)


@dataclass
class SemiSupervisedSplit:
    """What a semi-supervised run may see. The unlabeled pool is images only, by construction,
    so that no code path can leak its labels into training."""

    labeled_images: torch.Tensor
    labeled_targets: torch.Tensor
    unlabeled_images: torch.Tensor
    test_images: torch.Tensor
    test_targets: torch.Tensor
    labeled_indices: np.ndarray
    labeled_sha256: str
    source: Path
    num_classes: int
    classes: list[str] = field(default_factory=list)  # names, by label; default "0", "1", ...
    notes: list[str] = field(default_factory=list)  # what loading changed or skipped, one line each

    def __post_init__(self) -> None:
        if not self.classes:
            self.classes = [str(c) for c in range(self.num_classes)]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image in the split."""
        return tuple(self.labeled_images.shape[1:])


def synthetic_split(labels: int = 20, unlabeled: int = 64, test: int = 40, pixel_range: str = "tanh",
                    num_classes: int = 10, seed: int = 0,
                    image_shape: tuple[int, int, int] = (1, 28, 28)) -> SemiSupervisedSplit:
    """Random images (MNIST's shape by default) with balanced labels: a split for tests and speed
    measurements, which need the shapes and the API but not the digits."""
    g = torch.Generator().manual_seed(seed)
    low = -1.0 if pixel_range == "tanh" else 0.0

    def images(n: int) -> torch.Tensor:
        return low + (1 - low) * torch.rand(n, *image_shape, generator=g)

    idx = np.arange(labels, dtype=np.int64)
    return SemiSupervisedSplit(
        labeled_images=images(labels), labeled_targets=torch.arange(labels) % num_classes,
        unlabeled_images=images(unlabeled), test_images=images(test),
        test_targets=torch.arange(test) % num_classes, labeled_indices=idx,
        labeled_sha256=indices_sha256(idx), source=Path("synthetic"), num_classes=num_classes,
    )


def make_split(
    dataset: str = "mnist",
    data_dir: str | Path | None = None,
    labels: int = 100,
    label_selection: str = "balanced",
    unlabeled: str = "all",
    pixel_range: str = "tanh",
    seed: int = 0,
    num_classes: int = 10,
    download: bool = True,
    verify: bool = True,
) -> SemiSupervisedSplit:
    """The labeled / unlabeled / test tensors of one run.

    unlabeled="all" keeps the labeled images in the pool too (the stacked tutorial and
    improved-gan); "rest" leaves them out (GANs in Action uses images 100..59999).
    """
    if unlabeled not in ("all", "rest"):
        raise ValueError(f"unknown unlabeled pool {unlabeled!r}; use 'all' or 'rest'")
    if pixel_range not in PIXEL_RANGES:
        raise ValueError(f"unknown pixel range {pixel_range!r}; use 'tanh' or 'unit'")
    root = find_dataset(dataset, data_dir, download)
    train = load(dataset, root, True, verify)
    test = load(dataset, root, False, verify)
    if train.targets.max() >= num_classes:
        raise ValueError(
            f"{dataset} has labels up to {train.targets.max()} but num_classes={num_classes}"
        )
    idx = select_labeled(train.targets, labels, num_classes, label_selection, seed)
    if unlabeled == "all":
        pool = train.images
    else:
        keep = np.ones(len(train), dtype=bool)
        keep[idx] = False
        pool = train.images[keep]
    return SemiSupervisedSplit(
        labeled_images=scale_pixels(train.images[idx], pixel_range),
        labeled_targets=torch.from_numpy(train.targets[idx].copy()),
        unlabeled_images=scale_pixels(pool, pixel_range),
        test_images=scale_pixels(test.images, pixel_range),
        test_targets=torch.from_numpy(test.targets.copy()),
        labeled_indices=idx,
        labeled_sha256=indices_sha256(idx),
        source=root,
        num_classes=num_classes,
        classes=list(description(dataset)["classes"]),
    )




def has_test_images(data: str | Path) -> bool:
    """Whether the user's data holds a test set (a test/ folder, or x_test in the .npz)."""
    path = Path(data)
    if path.is_dir():
        return (path / "test").is_dir()
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception:  # noqa: BLE001 - a missing or unreadable file: the run itself says what is wrong with it
        return True
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return True
    with loaded:
        return "x_test" in loaded.files


def own_split(data: str | Path, channels: int | None = None, image_size: int | None = None, strict: bool = False,
              unlabeled: str = "all", pixel_range: str = "tanh", progress: bool = True) -> SemiSupervisedSplit:
    """The split of the user's own images: a folder (sgan.data.folders) or an .npz (sgan.data.arrays).

    Every labeled image is labeled; unlabeled="all" adds them to the unlabeled pool as with the
    named datasets, "rest" keeps the pool to the unlabeled images. Without test images the test
    tensors are empty and the run reports no held-out accuracy.
    """
    from sgan.data.arrays import load_arrays
    from sgan.data.folders import load_folder

    if unlabeled not in ("all", "rest"):
        raise ValueError(f"unknown unlabeled pool {unlabeled!r}; use 'all' or 'rest'")
    path = Path(data)
    if path.suffix.lower() == ".npz" or path.is_file():
        loaded = load_arrays(path, channels, image_size)
    else:
        loaded = load_folder(path, channels, image_size, strict=strict, progress=progress)
    x_lab, y_lab = loaded["labeled"]
    pool = np.concatenate([loaded["unlabeled"], x_lab]) if unlabeled == "all" else loaded["unlabeled"]
    x_test, y_test = loaded["test"] if loaded["test"] is not None else (x_lab[:0], y_lab[:0])
    fingerprint = hashlib.sha256(np.ascontiguousarray(x_lab).tobytes() + y_lab.astype("<i8").tobytes()).hexdigest()
    return SemiSupervisedSplit(
        labeled_images=scale_pixels(x_lab, pixel_range),
        labeled_targets=torch.from_numpy(y_lab.astype(np.int64)),
        unlabeled_images=scale_pixels(pool, pixel_range),
        test_images=scale_pixels(x_test, pixel_range),
        test_targets=torch.from_numpy(y_test.astype(np.int64)),
        labeled_indices=np.arange(len(x_lab), dtype=np.int64),
        labeled_sha256=fingerprint,
        source=path.resolve(),
        num_classes=len(loaded["classes"]),
        classes=list(loaded["classes"]),
        notes=list(loaded["notes"]),
    )
