"""The user's images as arrays in one .npz file.

    x_labeled    uint8 [N, H, W] (greyscale) or [N, H, W, C] (C = 1 or 3), 0-255
    y_labeled    integers [N], class indices 0..K-1
    x_unlabeled  uint8 [M, H, W] or [M, H, W, C]
    x_test       optional, as x_labeled
    y_test       optional, as y_labeled (given with x_test)
    classes      optional, K names (strings); default "0".."K-1" with K = max(y_labeled) + 1

    np.savez("mine.npz", x_labeled=x, y_labeled=y, x_unlabeled=u, classes=np.array(["cat", "dog"]))
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from sgan.data.images import MODES, network_size
from sgan.data.sources import DataError

REQUIRED = ("x_labeled", "y_labeled", "x_unlabeled")


def _images(z: dict, name: str, path: Path) -> np.ndarray:
    x = z[name]
    if x.dtype != np.uint8:
        raise DataError(f"{path}: {name} is {x.dtype}; images must be uint8 (0-255), [N, H, W] or [N, H, W, C]")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DataError(f"{path}: {name} has shape {tuple(z[name].shape)}; expected [N, H, W] or [N, H, W, C] "
                        "with C = 1 or 3")
    return x


def _labels(z: dict, name: str, images: np.ndarray, path: Path, images_name: str) -> np.ndarray:
    y = z[name]
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: {name} must be a 1-D array of integer class indices; got {y.dtype} {y.shape}")
    if len(y) != len(images):
        raise DataError(f"{path}: {images_name} has {len(images)} images but {name} has {len(y)} labels")
    return y.astype(np.int64)


def convert(x: np.ndarray, channels: int, size: tuple[int, int]) -> tuple[np.ndarray, int]:
    """Images [N, H, W, C] in `channels` at `size`, through Pillow as image files go; and how many changed."""
    from PIL import Image

    if x.shape[1:] == (*size, channels):
        return x, 0
    out = np.empty((len(x), *size, channels), dtype=np.uint8)
    for i, image in enumerate(x):
        im = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image, mode=MODES[image.shape[-1]])
        im = im.convert(MODES[channels])
        if im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.BILINEAR)
        out[i] = np.asarray(im).reshape(*size, channels)
    return out, len(x)


def load_arrays(path: str | Path, channels: int | None = None, image_size: int | None = None) -> dict:
    """The file's images as load_folder returns them: {"labeled": (x, y), "unlabeled": x,
    "test": (x, y) or None, "classes", "notes", "source"}, uint8 [N, H, W, C]."""
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz archive ({e})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: a single .npy array; --data needs an .npz holding x_labeled, y_labeled and "
                        "x_unlabeled (np.savez)")
    try:
        with loaded as npz:
            z = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        reason = "object arrays are not read: classes must be strings" if "allow_pickle" in str(e) else str(e)
        raise DataError(f"{path}: not a readable .npz archive ({reason})") from None
    missing = [k for k in REQUIRED if k not in z]
    if missing:
        raise DataError(f"{path}: no array {', '.join(missing)}; an .npz needs x_labeled, y_labeled and x_unlabeled "
                        "(x_test, y_test and classes optional)")
    if ("x_test" in z) != ("y_test" in z):
        raise DataError(f"{path}: x_test and y_test go together; the file has only one of them")
    x_lab, x_unl = _images(z, "x_labeled", path), _images(z, "x_unlabeled", path)
    y_lab = _labels(z, "y_labeled", x_lab, path, "x_labeled")
    test = None
    if "x_test" in z:
        x_test = _images(z, "x_test", path)
        test = (x_test, _labels(z, "y_test", x_test, path, "x_test"))
    if not len(x_lab):
        raise DataError(f"{path}: x_labeled holds no images")
    if not len(x_unl):
        raise DataError(f"{path}: x_unlabeled holds no images; a semi-supervised run learns from them")
    for name, y in (("y_labeled", y_lab), ("y_test", None if test is None else test[1])):
        if y is not None and len(y) and y.min() < 0:
            raise DataError(f"{path}: {name} holds label {y.min()}; labels are class indices 0..K-1")
    if "classes" in z:
        classes = [str(c) for c in np.atleast_1d(z["classes"])]
        repeated = sorted({c for c in classes if classes.count(c) > 1})
        if repeated:
            raise DataError(f"{path}: classes names {', '.join(repeated)} more than once; each class needs its own "
                            "name")
    else:
        classes = [str(k) for k in range(int(y_lab.max()) + 1)]
    for name, y in (("y_labeled", y_lab), ("y_test", None if test is None else test[1])):
        if y is not None and len(y) and y.max() >= len(classes):
            raise DataError(f"{path}: {name} holds label {y.max()}, outside 0..{len(classes) - 1} "
                            f"({len(classes)} classes)")
    present = np.unique(y_lab)
    if len(present) < 2:
        raise DataError(f"{path}: y_labeled holds one class only ({classes[present[0]]}); a classifier needs two")
    absent = [classes[k] for k in range(len(classes)) if k not in present]
    if absent:
        raise DataError(f"{path}: no labeled images of class {', '.join(absent)}; every class needs some")
    c = channels or (3 if x_lab.shape[-1] == 3 else 1)
    size = (image_size, image_size) if image_size else network_size(*x_lab.shape[1:3])
    notes, out = [], {}
    changed = 0
    x_lab, n = convert(x_lab, c, size)
    changed += n
    x_unl, n = convert(x_unl, c, size)
    changed += n
    if test is not None:
        x_test, n = convert(test[0], c, size)
        changed += n
        test = (x_test, test[1])
    if changed:
        notes.append(f"{changed} image{'s' * (changed > 1)} converted to {size[0]}x{size[1]} "
                     f"{'RGB' if c == 3 else 'greyscale'}")
    out.update(labeled=(x_lab, y_lab), unlabeled=x_unl, test=test, classes=classes, notes=notes, source=path)
    return out
