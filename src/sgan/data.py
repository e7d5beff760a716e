"""MNIST and Fashion-MNIST, found locally or downloaded once, and split for semi-supervised runs.

The files are the four standard IDX files (``train-images-idx3-ubyte`` ...), gzipped or not.
Every problem with them is a `DataError` whose message is one line naming the file, so that the
command line can print it as is instead of a traceback. Nothing here trusts a file's name:
gzip is recognised by its magic bytes and content by its md5, because mirrors recompress.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import shutil
import struct
import tempfile
import zlib
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from urllib.request import Request, urlopen

import numpy as np
import platformdirs
import torch


class DataError(Exception):
    """A dataset file is missing, unreadable, corrupt or not the expected one."""


_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# "md5": of the uncompressed content, the one checksum that survives recompression.
# "gz_md5": known good .gz files, only a shortcut that spares decompressing to check them.
DATASETS: dict[str, dict] = {
    "mnist": {
        "files": _FILES,
        "md5": {
            "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        },
        "gz_md5": {
            # canonical, then the recompressed copy (gzip -9 -n) in the team's offline mirror
            "train-images-idx3-ubyte": (
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "c7dfcf1bfd3481a40f7b3aedbdbd083c",
            ),
            "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432",),
            "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3",),
            "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c",),
        },
        "mirrors": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        "classes": [str(d) for d in range(10)],
    },
    "fashion-mnist": {
        "files": _FILES,
        "md5": {
            "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
            "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
            "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
        },
        "gz_md5": {
            # canonical, then Debian's dataset-fashion-mnist (same deflate stream, new header)
            "train-images-idx3-ubyte": (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "cf8536b0aa1a6ac5fa3f23001093305c",
            ),
            "train-labels-idx1-ubyte": (
                "25c81989df183df01b3e8a0aad5dffbe",
                "10bea18fdb374794d4bb42e356e600c9",
            ),
            "t10k-images-idx3-ubyte": (
                "bef4ecab320f06d8554ea6380940ec79",
                "f78720b4224f21cce2f2ccf2d7a94c9a",
            ),
            "t10k-labels-idx1-ubyte": (
                "bb300cfdad3c16e7a12a480ee83cd310",
                "0d30e22e447f3c33dab9ed536400ac01",
            ),
        },
        "mirrors": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "classes": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
    },
}

# Debian's place for packaged datasets (`apt-get install dataset-fashion-mnist`).
SYSTEM_DATA_DIR = Path("/usr/share/datasets")
DOWNLOAD_TIMEOUT = 10.0  # seconds: short, so that an offline machine fails quickly
_GZIP_MAGIC = b"\x1f\x8b"
_IDX_MAGIC = {0x00000801: "labels", 0x00000803: "images"}
_VERIFIED: set[tuple[str, int, int, str]] = set()  # (path, size, mtime_ns, md5) that matched


def default_cache_dir() -> Path:
    """Where downloads go; a function so that tests can point it elsewhere."""
    return Path(platformdirs.user_cache_dir("sgan"))


def _spec(name: str) -> dict:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e


def _content(data: bytes, path: Path) -> bytes:
    """The file's uncompressed bytes: gzip is told by its magic, since names lie."""
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: corrupt gzip data ({e})") from e


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
    return _parse_idx(_content(_read(path), path), path)


def _dataset_files(directory: Path, name: str) -> dict[str, Path] | None:
    """The four files in `directory` itself (raw preferred over .gz), or None if any is missing."""
    found = {}
    for key, filename in _spec(name)["files"].items():
        for candidate in (directory / filename, directory / f"{filename}.gz"):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def _check_file(path: Path, filename: str, spec: dict) -> None:
    try:
        st = path.stat()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e
    want = spec["md5"][filename]
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, want)
    if key in _VERIFIED:
        return
    data = _read(path)
    if data[:2] == _GZIP_MAGIC and _md5(data) in spec["gz_md5"].get(filename, ()):
        _VERIFIED.add(key)
        return
    got = _md5(_content(data, path))
    if got != want:
        raise DataError(
            f"{path}: checksum mismatch: md5 of the uncompressed content is {got}, "
            f"expected {want} (corrupt, truncated or not {filename}; replace the file)"
        )
    _VERIFIED.add(key)


def verify_checksums(directory: str | Path, name: str = "mnist") -> None:
    """Check the files in `directory` by the md5 of their content, once per file per process.

    Checking the content, not the .gz, lets recompressed copies pass and catches a wrong file
    that happens to parse (Fashion-MNIST under MNIST's names, say).
    """
    _verify(Path(directory), name, tuple(_spec(name)["files"]))


def _verify(directory: Path, name: str, keys: tuple[str, ...]) -> None:
    spec = _spec(name)
    files = spec["files"]
    for key in keys:
        filename = files[key]
        path = directory / filename
        if not path.is_file():
            path = directory / f"{filename}.gz"
        if not path.is_file():
            raise DataError(f"{directory / filename}: missing (neither it nor .gz exists)")
        _check_file(path, filename, spec)


def _candidates(name: str, data_dir: str | Path | None) -> list[Path]:
    places = []
    if data_dir is not None:
        places.append(Path(data_dir))
    if os.environ.get("SGAN_DATA_DIR"):
        places.append(Path(os.environ["SGAN_DATA_DIR"]))
    places += [default_cache_dir() / name, SYSTEM_DATA_DIR / name]
    return places


def find_dataset(
    name: str = "mnist", data_dir: str | Path | None = None, download: bool = True
) -> Path:
    """The directory holding the dataset's four files, downloading them to the cache if need be.

    Each place may hold the files directly or in a `<name>/` folder, so that both
    ``SGAN_DATA_DIR=../shared/datasets`` and ``.../datasets/mnist`` work.
    """
    spec = _spec(name)
    searched = []
    for place in _candidates(name, data_dir):
        for directory in (place, place / name):
            searched.append(str(directory))
            if _dataset_files(directory, name) is not None:
                return directory.resolve()
    hint = (
        f"searched {', '.join(dict.fromkeys(searched))}; put the four files "
        f"({', '.join(f + '[.gz]' for f in spec['files'].values())}) in a folder and pass "
        "--data-dir DIR or set SGAN_DATA_DIR=DIR"
    )
    if not download:
        raise DataError(f"{name} not found: {hint}")
    target = default_cache_dir() / name
    try:
        _download(name, target)
    except DataError as e:
        raise DataError(f"{name} not found and the download failed ({e}): {hint}") from e
    return target


def _download(name: str, target: Path) -> None:
    spec = _spec(name)
    target.mkdir(parents=True, exist_ok=True)
    for filename in spec["files"].values():
        final = target / f"{filename}.gz"
        if final.is_file():
            try:
                _check_file(final, filename, spec)
                continue
            except DataError:
                pass  # a bad leftover: fetch it again
        errors = []
        for mirror in spec["mirrors"]:
            url = f"{mirror}{filename}.gz"
            tmp = tempfile.NamedTemporaryFile(dir=target, prefix=f".{filename}.", delete=False)
            try:
                with (
                    tmp,
                    urlopen(
                        Request(url, headers={"User-Agent": "sgan"}), timeout=DOWNLOAD_TIMEOUT
                    ) as response,
                ):
                    shutil.copyfileobj(response, tmp)
                _check_file(Path(tmp.name), filename, spec)
                os.replace(tmp.name, final)  # only a verified file gets the real name
                break
            except (OSError, HTTPException, ValueError, DataError) as e:
                reason = getattr(e, "reason", None) or e
                errors.append(f"{url}: {reason}")
            finally:
                if os.path.exists(tmp.name):
                    os.unlink(tmp.name)
        else:
            raise DataError("; ".join(errors))


class MNIST:
    """MNIST or Fashion-MNIST as uint8 arrays, in the spirit of torchvision's dataset classes.

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
        spec = _spec(name)
        self.name, self.train, self.classes = name, train, list(spec["classes"])
        self.root = find_dataset(name, root, download)
        split = "train" if train else "test"
        keys = (f"{split}_images", f"{split}_labels")
        if verify:
            _verify(self.root, name, keys)
        files = _dataset_files(self.root, name)
        images_path, labels_path = files[keys[0]], files[keys[1]]
        self.images = read_idx(images_path)
        self.targets = read_idx(labels_path).astype(np.int64)
        if self.images.ndim != 3 or self.images.shape[1:] != (28, 28):
            raise DataError(f"{images_path}: expected 28x28 images, got shape {self.images.shape}")
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

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.images[i], int(self.targets[i])

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"MNIST(name={self.name!r}, {split}, {len(self)} examples, root={self.root})"


@functools.lru_cache(maxsize=4)
def _load(name: str, root: str, train: bool) -> MNIST:
    """One parse per (dataset, place, split) per process; the arrays are frozen as shared."""
    ds = MNIST(root, train=train, name=name, download=False, verify=False)
    ds.images.flags.writeable = False
    ds.targets.flags.writeable = False
    return ds


def _load_verified(name: str, root: Path, train: bool, verify: bool) -> MNIST:
    if verify:
        split = "train" if train else "test"
        _verify(root, name, (f"{split}_images", f"{split}_labels"))
    return _load(name, str(root), train)


def select_labeled(
    targets: np.ndarray, n: int, num_classes: int = 10, mode: str = "balanced", seed: int = 0
) -> np.ndarray:
    """The training indices whose labels the classifier may see.

    "balanced" draws n/K distinct examples per class (the stacked-discriminator tutorial's
    scheme, without its duplicate draws); "first" takes the first n (GANs in Action's
    ``x_train[:100]``), which is not balanced.
    """
    targets = np.asarray(targets)
    if mode not in ("balanced", "first"):
        raise ValueError(f"unknown label selection {mode!r}; use 'balanced' or 'first'")
    if n <= 0:
        raise ValueError(f"the number of labeled examples must be positive, got {n}")
    if n > len(targets):
        raise ValueError(f"{n} labeled examples requested but the training set has {len(targets)}")
    if mode == "first":
        return np.arange(n, dtype=np.int64)
    if n % num_classes:
        raise ValueError(f"balanced selection needs a multiple of {num_classes} labels, got {n}")
    per_class = n // num_classes
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(num_classes):
        pool = np.flatnonzero(targets == c)
        if len(pool) < per_class:
            raise ValueError(
                f"balanced selection needs {per_class} examples per class but class {c} "
                f"has only {len(pool)}"
            )
        chosen.append(np.sort(rng.choice(pool, size=per_class, replace=False)))
    return np.concatenate(chosen).astype(np.int64)


def indices_sha256(indices: np.ndarray) -> str:
    """A fingerprint of the labeled set, so that two runs can be shown to have used the same."""
    return hashlib.sha256(np.asarray(indices, dtype="<i8").tobytes()).hexdigest()


def scale_pixels(images: np.ndarray, pixel_range: str = "tanh") -> torch.Tensor:
    """uint8 [N, 28, 28] to float32 [N, 1, 28, 28] in the range the generator's output uses.

    "tanh" ([-1, 1]) matches a tanh generator, as in both tutorials; "unit" is [0, 1].
    """
    if pixel_range not in ("tanh", "unit"):
        raise ValueError(f"unknown pixel range {pixel_range!r}; use 'tanh' or 'unit'")
    x = torch.from_numpy(np.array(images, dtype=np.float32)).unsqueeze(1)
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


def synthetic_split(labels: int = 20, unlabeled: int = 64, test: int = 40, pixel_range: str = "tanh",
                    num_classes: int = 10, seed: int = 0) -> SemiSupervisedSplit:
    """Random images of MNIST's shape with balanced labels: a split for tests and speed
    measurements, which need the shapes and the API but not the digits."""
    g = torch.Generator().manual_seed(seed)
    low = -1.0 if pixel_range == "tanh" else 0.0

    def images(n: int) -> torch.Tensor:
        return low + (1 - low) * torch.rand(n, 1, 28, 28, generator=g)

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
    if pixel_range not in ("tanh", "unit"):
        raise ValueError(f"unknown pixel range {pixel_range!r}; use 'tanh' or 'unit'")
    root = find_dataset(dataset, data_dir, download)
    train = _load_verified(dataset, root, True, verify)
    test = _load_verified(dataset, root, False, verify)
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
    )


def data_summary(
    dataset: str = "mnist",
    data_dir: str | Path | None = None,
    out_png: str | Path | None = None,
    per_class: int = 10,
    download: bool = True,
    verify: bool = True,
) -> dict:
    """Facts to check a dataset against its published figures before training on it."""
    root = find_dataset(dataset, data_dir, download)
    train = _load_verified(dataset, root, True, verify)
    test = _load_verified(dataset, root, False, verify)
    k = len(train.classes)
    # Exact mean and std from the pixel histogram, without a float copy of 47M pixels.
    counts = np.bincount(train.images.ravel(), minlength=256).astype(np.float64)
    values = np.arange(256) / 255.0
    mean = float(counts @ values / counts.sum())
    std = float(math.sqrt(max(counts @ values**2 / counts.sum() - mean**2, 0.0)))
    summary = {
        "dataset": dataset,
        "source": str(root),
        "train_size": len(train),
        "test_size": len(test),
        "image_shape": list(train.images.shape[1:]),
        "train_class_counts": np.bincount(train.targets, minlength=k).tolist(),
        "test_class_counts": np.bincount(test.targets, minlength=k).tolist(),
        "pixel_mean": mean,
        "pixel_std": std,
    }
    if out_png is not None:
        summary["grid"] = str(_write_grid(train, Path(out_png), per_class))
    return summary


def _write_grid(ds: MNIST, out_png: Path, per_class: int) -> Path:
    # The object API with an explicit Agg canvas: no pyplot, no global backend switch.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k, h, w, gap = len(ds.classes), 28, 28, 2
    grid = np.zeros((k * (h + gap) - gap, per_class * (w + gap) - gap), dtype=np.uint8)  # white
    for c in range(k):
        y = c * (h + gap)
        for j, i in enumerate(np.flatnonzero(ds.targets == c)[:per_class]):
            x = j * (w + gap)
            grid[y : y + h, x : x + w] = ds.images[i]
    fig = Figure(figsize=(max(per_class * 0.45, 2.0) + 1.2, k * 0.45 + 0.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(grid, cmap="gray_r", interpolation="nearest")
    ax.set_yticks([c * (h + gap) + h / 2 for c in range(k)], ds.classes)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(f"{ds.name}: first {per_class} training images per class", fontsize=9)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    return out_png


def format_summary(summary: dict) -> str:
    """The summary as a terminal table, figures placed where they can be compared by eye."""
    classes = DATASETS.get(summary["dataset"], {}).get("classes") or [
        str(c) for c in range(len(summary["train_class_counts"]))
    ]
    width = max(len("class"), *(len(c) for c in classes))
    h, w = summary["image_shape"]
    lines = [
        f"dataset     {summary['dataset']}",
        f"source      {summary['source']}",
        f"images      {summary['train_size']} train, {summary['test_size']} test, {h}x{w}",
        f"pixels      mean {summary['pixel_mean']:.4f}, std {summary['pixel_std']:.4f} "
        "(train, [0, 1] scale)",
        "",
        f"{'class':<{width}}  {'train':>6}  {'test':>6}",
    ]
    for name, a, b in zip(
        classes, summary["train_class_counts"], summary["test_class_counts"], strict=True
    ):
        lines.append(f"{name:<{width}}  {a:>6}  {b:>6}")
    if "grid" in summary:
        lines += ["", f"grid        {summary['grid']}"]
    return "\n".join(lines)
