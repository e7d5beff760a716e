"""A folder of the user's images: labeled by class folder, unlabeled in any nesting, an optional test set.

    DIR/labeled/<class>/...   images whose class is the folder's name (any nesting below it)
    DIR/unlabeled/...         images without labels (any nesting; nothing but pixels is read)
    DIR/test/<class>/...      optional: held-out images for the test accuracy

Every non-hidden file counts: one that Pillow cannot read is skipped with a count (or refused with
`strict`). Decoding runs in parallel processes with a progress bar, and the decoded uint8 arrays
are cached under the user cache, keyed by the files' paths, sizes and modification times and the
target channels and size, so that a second run starts at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from sgan.data import sources
from sgan.data.images import is_colour, network_size, probe, read_image
from sgan.data.sources import DataError

ROLES = ("labeled", "unlabeled", "test")
CACHE_FORMAT = "sgan-folder-cache-1"
CHUNK = 512  # files per task: large enough that a task's overhead is small, small enough for the bar


def list_files(folder: Path) -> list[Path]:
    """Every non-hidden file below `folder`, sorted, hidden folders skipped."""
    found, seen = [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link back up the tree: its files are listed once already
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in sorted(files) if not f.startswith(".")]
    return found


def class_folders(folder: Path) -> dict[str, list[Path]]:
    """{class name: its files} for a labeled or test folder; files outside a class folder are refused."""
    if not folder.is_dir():
        raise DataError(f"{folder}: missing; expected {folder}/<class>/... (one folder per class)")
    loose = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    if loose:
        raise DataError(f"{loose[0]}: a file directly in {folder.name}/, where only class folders belong; move an "
                        f"image into its class's folder ({folder.name}/<class>/{loose[0].name}), or remove the file")
    return {d.name: list_files(d) for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")}


def scan(root: Path) -> dict[str, dict[str, list[Path]]]:
    """{role: {class: files}} (unlabeled under the class ""), with the layout's problems refused."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    if not (root / "labeled").is_dir():
        raise DataError(f"{root}: no labeled/ folder; expected {root}/labeled/<class>/..., {root}/unlabeled/... "
                        f"and optionally {root}/test/<class>/...")
    layout = {"labeled": class_folders(root / "labeled")}
    classes = list(layout["labeled"])
    if not classes:
        raise DataError(f"{root / 'labeled'}: no class folders; put each class's images in labeled/<class>/")
    for name, files in layout["labeled"].items():
        if not files:
            raise DataError(f"{root / 'labeled' / name}: empty class folder; every class needs labeled images")
    if len(classes) < 2:
        raise DataError(f"{root / 'labeled'}: only one class ({classes[0]}); a classifier needs at least two "
                        "class folders")
    if not (root / "unlabeled").is_dir():
        raise DataError(f"{root / 'unlabeled'}: missing; a semi-supervised run learns from unlabeled images there "
                        "(any nesting)")
    layout["unlabeled"] = {"": list_files(root / "unlabeled")}
    if not layout["unlabeled"][""]:
        raise DataError(f"{root / 'unlabeled'}: no images; a semi-supervised run learns from unlabeled images")
    if (root / "test").exists():
        layout["test"] = class_folders(root / "test")
        unknown = [c for c in layout["test"] if c not in classes]
        if unknown:
            raise DataError(f"{root / 'test'}: test classes missing from the labeled ones: {', '.join(unknown)}; "
                            f"every test class needs labeled examples (labeled: {', '.join(classes)})")
    return layout


def default_shape(layout: dict, channels: int | None, image_size: int | None,
                  strict: bool) -> tuple[int, tuple[int, int]]:
    """Channels and (H, W) from the labeled images' headers where not given: colour if any is,
    the commonest size rounded up to what the networks take."""
    if channels is not None and image_size is not None:
        return channels, (image_size, image_size)
    sizes: Counter = Counter()
    colour = False
    for files in layout["labeled"].values():
        for path in files:
            try:
                size, mode = probe(path)
            except DataError:
                if strict:
                    raise
                continue
            sizes[size] += 1
            colour |= is_colour(mode)
    if not sizes:
        first = next(iter(layout["labeled"].values()))[0]
        raise DataError(f"{first.parent.parent}: no labeled image could be read")
    c = channels if channels is not None else (3 if colour else 1)
    return c, (image_size, image_size) if image_size is not None else network_size(*sizes.most_common(1)[0][0])


def _decode_chunk(paths: list[str], channels: int, size: tuple[int, int]) -> tuple[np.ndarray, list, int]:
    """Worker: decoded images [n, H, W, C], (position, reason) for each unreadable file, count converted."""
    out = np.zeros((len(paths), *size, channels), dtype=np.uint8)
    bad, changed = [], 0
    for i, path in enumerate(paths):
        try:
            out[i], was_changed = read_image(path, channels, size)
            changed += was_changed
        except DataError as e:
            bad.append((i, str(e)))
    return out, bad, changed


def decode_all(paths: list[Path], channels: int, size: tuple[int, int], progress: bool,
               workers: int | None = None) -> tuple[np.ndarray, list[tuple[int, str]], int]:
    """Every file decoded, in order, in parallel processes: (images, [(index, reason)], converted)."""
    from tqdm import tqdm

    chunks = [[str(p) for p in paths[i : i + CHUNK]] for i in range(0, len(paths), CHUNK)]
    workers = workers or min(len(chunks), os.cpu_count() or 1, 8)
    images = np.zeros((len(paths), *size, channels), dtype=np.uint8)
    bad: list[tuple[int, str]] = []
    changed = 0
    bar = tqdm(total=len(paths), desc="decoding images", unit="img", disable=not progress, leave=False)
    with bar:
        if workers <= 1:
            results = (_decode_chunk(c, channels, size) for c in chunks)
            for k, (arr, errs, n) in enumerate(results):
                images[k * CHUNK : k * CHUNK + len(arr)] = arr
                bad += [(k * CHUNK + i, r) for i, r in errs]
                changed += n
                bar.update(len(arr))
        else:
            # fork where there is one: the workers need no fresh interpreter or torch import
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
            with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
                futures = {pool.submit(_decode_chunk, c, channels, size): k for k, c in enumerate(chunks)}
                for future in cf.as_completed(futures):
                    k = futures[future]
                    arr, errs, n = future.result()
                    images[k * CHUNK : k * CHUNK + len(arr)] = arr
                    bad += [(k * CHUNK + i, r) for i, r in errs]
                    changed += n
                    bar.update(len(arr))
    return images, sorted(bad), changed


def cache_key(root: Path, layout: dict, channels: int, size: tuple[int, int]) -> str:
    h = hashlib.sha256(f"{CACHE_FORMAT}|{root.resolve()}|{channels}|{size}".encode())
    for role in ROLES:
        for cls, files in layout.get(role, {}).items():
            for path in files:
                try:
                    st = path.stat()
                    stamp = f"{st.st_size}|{st.st_mtime_ns}"
                except OSError:  # a dangling link: decoding skips it as unreadable
                    stamp = "missing"
                h.update(f"{role}|{cls}|{path.relative_to(root)}|{stamp}\n".encode())
    return h.hexdigest()


def load_folder(root: str | Path, channels: int | None = None, image_size: int | None = None,
                strict: bool = False, progress: bool = True, cache: bool = True) -> dict:
    """The folder's images as {"labeled": (x, y), "unlabeled": x, "test": (x, y) or None, "classes",
    "notes"}: uint8 [N, H, W, C] arrays, labels by the labeled class folders' sorted names."""
    root = Path(root)
    layout = scan(root)
    channels, size = default_shape(layout, channels, image_size, strict)
    classes = list(layout["labeled"])
    key = cache_key(root, layout, channels, size)
    cache_file = sources.default_cache_dir() / "folders" / f"{key[:32]}.npz"
    if cache and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
            return _from_arrays(data, classes, root, strict)
        except (OSError, ValueError, KeyError, EOFError):
            pass  # a damaged cache is rebuilt

    paths, roles, labels = [], [], []
    for role in ROLES:
        for cls, files in layout.get(role, {}).items():
            paths += files
            roles += [ROLES.index(role)] * len(files)
            labels += [classes.index(cls) if cls else -1] * len(files)
    images, bad, changed = decode_all(paths, channels, size, progress)
    data = {"images": images, "roles": np.array(roles, dtype=np.int8), "labels": np.array(labels, dtype=np.int64),
            "bad_index": np.array([i for i, _ in bad], dtype=np.int64),
            "bad": np.array(json.dumps([r for _, r in bad])), "has_test": np.array("test" in layout),
            "converted": np.array(changed), "channels": np.array(channels), "size": np.array(size)}
    if cache:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.savez(f, **data)
            os.replace(tmp, cache_file)
        except OSError as e:  # a cache that cannot be written costs the next run time, not this one
            print(f"sgan: note: cannot cache the decoded images in {cache_file.parent} ({e.strerror or e})",
                  file=sys.stderr)
    return _from_arrays(data, classes, root, strict)


def _from_arrays(data: dict, classes: list[str], root: Path, strict: bool) -> dict:
    bad = json.loads(str(data["bad"]))
    if bad and strict:
        raise DataError(f"{bad[0]} (--strict refuses unreadable files; {len(bad)} under {root})")
    keep = np.ones(len(data["roles"]), dtype=bool)
    keep[data["bad_index"]] = False
    roles, labels, images = data["roles"][keep], data["labels"][keep], data["images"][keep]
    notes = []
    if bad:
        notes.append(f"skipped {len(bad)} unreadable file{'s' * (len(bad) > 1)} under {root} (first: {bad[0]}); "
                     "--strict refuses them")
    h, w = (int(v) for v in data["size"])
    if int(data["converted"]):
        n = int(data["converted"])
        notes.append(f"{n} image{'s' * (n > 1)} converted to {h}x{w} "
                     f"{'RGB' if int(data['channels']) == 3 else 'greyscale'}")
    out = {"classes": classes, "notes": notes, "source": root}
    for k, role in enumerate(ROLES):
        sel = roles == k
        out[role] = images[sel] if role == "unlabeled" else (images[sel], labels[sel])
    for cls_index, name in enumerate(classes):
        if not (out["labeled"][1] == cls_index).any():
            raise DataError(f"{root / 'labeled' / name}: no readable images; every class needs labeled images")
    if not len(out["unlabeled"]):
        raise DataError(f"{root / 'unlabeled'}: no readable images; a semi-supervised run learns from them")
    if not bool(data["has_test"]):
        out["test"] = None
    return out
