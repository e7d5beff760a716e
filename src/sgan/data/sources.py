"""Where datasets come from: one registry of descriptions, the search path, downloads and checksums.

A dataset is described by plain data (its files, their checksums, mirrors, class names and
image shape); the command line's `--dataset` choices are this registry's keys. Every problem
with a file is a `DataError` whose message is one line naming the file, so that the command line
can print it as is. Nothing here trusts a file's name: gzip is recognised by its magic bytes and
content by its md5, because mirrors recompress.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import zlib
from http.client import HTTPException
from pathlib import Path
from urllib.request import Request, urlopen


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
        "image_shape": (1, 28, 28),
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
        "image_shape": (1, 28, 28),
    },
}

# Debian's place for packaged datasets (`apt-get install dataset-fashion-mnist`).
SYSTEM_DATA_DIR = Path("/usr/share/datasets")
DOWNLOAD_TIMEOUT = 10.0  # seconds: short, so that an offline machine fails quickly
_GZIP_MAGIC = b"\x1f\x8b"
_VERIFIED: set[tuple[str, int, int, str]] = set()  # (path, size, mtime_ns, md5) that matched


def default_cache_dir() -> Path:
    """Where downloads go; a function so that tests can point it elsewhere."""
    import platformdirs  # here, so that the rest of sgan imports where it is not installed

    return Path(platformdirs.user_cache_dir("sgan"))


def description(name: str) -> dict:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e


def content(data: bytes, path: Path) -> bytes:
    """The file's uncompressed bytes: gzip is told by its magic, since names lie."""
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: corrupt gzip data ({e})") from e


def dataset_files(directory: Path, name: str) -> dict[str, Path] | None:
    """The four files in `directory` itself (raw preferred over .gz), or None if any is missing."""
    found = {}
    for key, filename in description(name)["files"].items():
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
    data = read_bytes(path)
    if data[:2] == _GZIP_MAGIC and _md5(data) in spec["gz_md5"].get(filename, ()):
        _VERIFIED.add(key)
        return
    got = _md5(content(data, path))
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
    verify(Path(directory), name, tuple(description(name)["files"]))


def verify(directory: Path, name: str, keys: tuple[str, ...]) -> None:
    spec = description(name)
    files = spec["files"]
    for key in keys:
        filename = files[key]
        path = directory / filename
        if not path.is_file():
            path = directory / f"{filename}.gz"
        if not path.is_file():
            raise DataError(f"{directory / filename}: missing (neither it nor .gz exists)")
        _check_file(path, filename, spec)


def _candidates(name: str) -> list[Path]:
    places = []
    if os.environ.get("SGAN_DATA_DIR"):
        places.append(Path(os.environ["SGAN_DATA_DIR"]))
    places += [default_cache_dir() / name, SYSTEM_DATA_DIR / name]
    return places


def holds_dataset(name: str, data_dir: str | Path) -> bool:
    """Whether `data_dir` (or its `<name>/` folder) holds the dataset's files."""
    return any(dataset_files(d, name) is not None for d in (Path(data_dir), Path(data_dir) / name))


def find_dataset(
    name: str = "mnist", data_dir: str | Path | None = None, download: bool = True
) -> Path:
    """The directory holding the dataset's four files, downloading them to the cache if need be.

    Each place may hold the files directly or in a `<name>/` folder, so that both
    ``SGAN_DATA_DIR=../shared/datasets`` and ``.../datasets/mnist`` work.
    """
    spec = description(name)
    if data_dir is not None:  # an explicit folder is where the user says the data are: no fallback
        for directory in (Path(data_dir), Path(data_dir) / name):
            if dataset_files(directory, name) is not None:
                return directory.resolve()
        raise DataError(f"{name} not found in --data-dir {data_dir} (nor in {Path(data_dir) / name}): it needs the "
                        f"four files {', '.join(f + '[.gz]' for f in spec['files'].values())}")
    searched = []
    for place in _candidates(name):
        for directory in (place, place / name):
            searched.append(str(directory))
            if dataset_files(directory, name) is not None:
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
    spec = description(name)
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
