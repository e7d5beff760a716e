"""Where datasets come from: one registry of descriptions, the search path, downloads and checksums.

A dataset is described by plain data (its reader, its files, their checksums or sizes, mirrors,
class names and image shape); the command line's `--dataset` choices are this registry's keys.
A split's files are the keys starting with "train_" or "test_". A dataset published as an
archive (CIFAR-10) is also found as that archive, which is checked by its md5 and extracted into
the cache. Every problem with a file is a `DataError` whose message is one line naming the file,
so that the command line can print it as is. Nothing here trusts a file's name: gzip is
recognised by its magic bytes and content by its md5, because mirrors recompress.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from http.client import HTTPException
from pathlib import Path
from urllib.request import Request, urlopen


class DataError(Exception):
    """A dataset file is missing, unreadable, corrupt or not the expected one."""


_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_CIFAR_BATCH = 10_000 * 3_073  # bytes of one CIFAR-10 batch: 10,000 records of a label byte and 3,072 pixels

# "reader": the format, hence the class that reads it (`sgan.data.idx.load` dispatches on it).
# "files": key -> file name; a split's files are the keys starting with "train_" / "test_".
# "md5": of the uncompressed content, the one checksum that survives recompression.
# "gz_md5": known good .gz files, only a shortcut that spares decompressing to check them.
# "sizes": for files whose md5 is not published, the exact size of the content (a check of structure).
# "remote_suffix": what the mirrors append to a file's name (".gz" for MNIST's), where files are downloaded.
# "folder", "archive": a dataset published as one archive of a folder: the folder may also be found under
#   each place, and the archive itself, verified by its md5, is extracted into the cache.
DATASETS: dict[str, dict] = {
    "mnist": {
        "reader": "idx",
        "files": _IDX_FILES,
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
        "remote_suffix": ".gz",
        "mirrors": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        "classes": [str(d) for d in range(10)],
        "image_shape": (1, 28, 28),
    },
    "fashion-mnist": {
        "reader": "idx",
        "files": _IDX_FILES,
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
        "remote_suffix": ".gz",
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
    "cifar10": {
        # The binary version (Krizhevsky 2009): sgan.data.cifar reads its batches.
        "reader": "cifar",
        "files": {
            **{f"train_{i}": f"data_batch_{i}.bin" for i in range(1, 6)},
            "test_1": "test_batch.bin",
        },
        # Only the archive's md5 is published, not the batches': an extracted batch is checked by its
        # structure instead (its exact size here; the reader refuses any label outside 0-9).
        "md5": {},
        "sizes": {**{f"data_batch_{i}.bin": _CIFAR_BATCH for i in range(1, 6)}, "test_batch.bin": _CIFAR_BATCH},
        "folder": "cifar-10-batches-bin",
        "archive": {
            "filename": "cifar-10-binary.tar.gz",
            "md5": "c32a1d4ab5d03f1284b67883e8d87530",
            "size": 170_052_171,
        },
        "mirrors": ("https://www.cs.toronto.edu/~kriz/",),
        "classes": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        "image_shape": (3, 32, 32),
    },
    "svhn": {
        # The cropped digits (Netzer et al. 2011), MATLAB 5 files: sgan.data.svhn reads them.
        "reader": "svhn",
        "files": {"train_data": "train_32x32.mat", "test_data": "test_32x32.mat"},
        "md5": {
            "train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",  # 182,040,794 bytes
            "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3",  # 64,275,384 bytes
        },
        "remote_suffix": "",
        "mirrors": ("http://ufldl.stanford.edu/housenumbers/",),
        "classes": [str(d) for d in range(10)],
        "image_shape": (3, 32, 32),
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


def split_keys(name: str, train: bool) -> tuple[str, ...]:
    """The file keys of the training or the test split: those starting with "train_" or "test_"."""
    prefix = "train_" if train else "test_"
    return tuple(key for key in description(name)["files"] if key.startswith(prefix))


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
    """The dataset's files in `directory` itself (raw preferred over .gz), or None if any is missing."""
    found = {}
    for key, filename in description(name)["files"].items():
        for candidate in (directory / filename, directory / f"{filename}.gz"):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def _layouts(place: Path, name: str) -> list[Path]:
    """The folders of `place` that may hold the files: itself, `<name>/`, and the archive's folder under both."""
    folders = [place, place / name]
    folder = description(name).get("folder")
    return folders + [f / folder for f in folders] if folder else folders


def _archives(place: Path, name: str) -> list[Path]:
    """Where in `place` the dataset's archive may lie, if it is published as one."""
    archive = description(name).get("archive")
    return [place / archive["filename"], place / name / archive["filename"]] if archive else []


def _file_list(spec: dict) -> str:
    return ", ".join(f + "[.gz]" for f in spec["files"].values())


def _count(spec: dict) -> str:
    n = len(spec["files"])
    return {2: "two", 4: "four", 6: "six"}.get(n, str(n))


def _content_size(path: Path, size: int) -> int:
    """The size of the file's content: its own, or that of its uncompressed data if it is gzip."""
    try:
        with path.open("rb") as f:
            magic = f.read(2)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e
    return len(content(read_bytes(path), path)) if magic == _GZIP_MAGIC else size


def _check_file(path: Path, filename: str, spec: dict) -> None:
    """The file is the expected one: by the md5 of its content, or where none is published, by its exact size."""
    try:
        st = path.stat()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e
    want = spec["md5"].get(filename)
    size = spec.get("sizes", {}).get(filename) if want is None else None
    if want is None and size is None:
        raise DataError(f"{path}: no checksum or size is known for {filename}, so it cannot be verified")
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, want or f"{size} bytes")
    if key in _VERIFIED:
        return
    if size is not None:
        got_size = _content_size(path, st.st_size)
        if got_size != size:
            raise DataError(
                f"{path}: wrong size: {got_size:,} bytes of content, expected exactly {size:,} "
                f"(truncated, padded or not {filename}; replace the file)"
            )
        _VERIFIED.add(key)
        return
    data = read_bytes(path)
    if data[:2] == _GZIP_MAGIC and _md5(data) in spec.get("gz_md5", {}).get(filename, ()):
        _VERIFIED.add(key)
        return
    got = _md5(content(data, path))
    if got != want:
        raise DataError(
            f"{path}: checksum mismatch: md5 of the uncompressed content is {got}, "
            f"expected {want} (corrupt, truncated or not {filename}; replace the file)"
        )
    _VERIFIED.add(key)


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e
    return digest.hexdigest()


def _check_archive(path: Path, spec: dict) -> None:
    """The archive is the published one, by its md5, once per file per process."""
    about = spec["archive"]
    try:
        st = path.stat()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, about["md5"])
    if key in _VERIFIED:
        return
    got = _file_md5(path)
    if got != about["md5"]:
        raise DataError(
            f"{path}: checksum mismatch: md5 is {got}, expected {about['md5']} (the file has {st.st_size:,} bytes, "
            f"the published archive {about['size']:,}: corrupt, truncated or not {about['filename']}; replace it)"
        )
    _VERIFIED.add(key)


def _extract(archive: Path, target: Path, spec: dict) -> None:
    """Copy the dataset's files out of a verified archive into `target`.

    Only regular members named exactly `<folder>/<file>` for the dataset's files are read, and each
    is written under a name chosen here, never the member's: no link, device, absolute path or `..`
    in the archive can place anything elsewhere. Each file appears under its name only once complete.
    """
    folder, wanted = spec["folder"], set(spec["files"].values())
    target.mkdir(parents=True, exist_ok=True)
    done: set[str] = set()
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = member.name[2:] if member.name.startswith("./") else member.name
                head, _, filename = name.rpartition("/")
                if head != folder or filename not in wanted or not member.isreg():
                    continue
                source = tar.extractfile(member)
                tmp = tempfile.NamedTemporaryFile(dir=target, prefix=f".{filename}.", delete=False)
                try:
                    with tmp, source:
                        shutil.copyfileobj(source, tmp)
                    os.replace(tmp.name, target / filename)
                finally:
                    if os.path.exists(tmp.name):
                        os.unlink(tmp.name)
                done.add(filename)
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise DataError(f"{archive}: corrupt archive ({e})") from e
    except OSError as e:
        raise DataError(f"{archive}: cannot extract into {target} ({e.strerror or e})") from e
    missing = sorted(wanted - done)
    if missing:
        raise DataError(f"{archive}: lacks {', '.join(f'{folder}/{f}' for f in missing)}")


def _from_archive(archive: Path, name: str) -> Path:
    """The folder of the archive's files, extracted into the cache from the verified archive (once)."""
    spec = description(name)
    _check_archive(archive, spec)
    target = default_cache_dir() / name / spec["folder"]
    if dataset_files(target, name) is None:
        _extract(archive, target, spec)
    return target.resolve()


def verify_checksums(directory: str | Path, name: str = "mnist") -> None:
    """Check the files in `directory` by the md5 of their content, once per file per process.

    Checking the content, not the .gz, lets recompressed copies pass and catches a wrong file
    that happens to parse (Fashion-MNIST under MNIST's names, say). Files whose md5 is not
    published (CIFAR-10's batches) are checked by their exact size.
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
    """Whether `data_dir` (or its `<name>/` folder) holds the dataset's files or its archive."""
    place = Path(data_dir)
    return any(dataset_files(d, name) is not None for d in _layouts(place, name)) or any(
        a.is_file() for a in _archives(place, name)
    )


def _find_in(place: Path, name: str, searched: list[str]) -> Path | None:
    """The folder holding the files in one place: a folder layout first, else the place's archive."""
    for directory in _layouts(place, name):
        searched.append(str(directory))
        if dataset_files(directory, name) is not None:
            return directory.resolve()
    for archive in _archives(place, name):
        if archive.is_file():
            return _from_archive(archive, name)
    return None


def find_dataset(
    name: str = "mnist", data_dir: str | Path | None = None, download: bool = True
) -> Path:
    """The directory holding the dataset's files, downloading them to the cache if need be.

    Each place may hold the files directly or in a `<name>/` folder, so that both
    ``SGAN_DATA_DIR=../shared/datasets`` and ``.../datasets/mnist`` work; a dataset published as
    an archive may also be in the archive's folder there, or be the archive itself (extracted
    into the cache).
    """
    spec = description(name)
    archive = spec.get("archive")
    if data_dir is not None:  # an explicit folder is where the user says the data are: no fallback
        found = _find_in(Path(data_dir), name, [])
        if found is not None:
            return found
        others = ", ".join(str(d) for d in _layouts(Path(data_dir), name)[1:])
        also = f" or the archive {archive['filename']}" if archive else ""
        raise DataError(f"{name} not found in --data-dir {data_dir} (nor in {others}): it needs the "
                        f"{_count(spec)} files {_file_list(spec)}{also}")
    searched: list[str] = []
    for place in _candidates(name):
        found = _find_in(place, name, searched)
        if found is not None:
            return found
    also = f" or {archive['filename']}" if archive else ""
    hint = (
        f"searched {', '.join(dict.fromkeys(searched))}; put the {_count(spec)} files "
        f"({_file_list(spec)}){also} in a folder and pass "
        "--data-dir DIR or set SGAN_DATA_DIR=DIR"
    )
    if not download:
        raise DataError(f"{name} not found: {hint}")
    try:
        return _download(name, default_cache_dir() / name)
    except DataError as e:
        raise DataError(f"{name} not found and the download failed ({e}): {hint}") from e


def _download(name: str, target: Path) -> Path:
    """Fetch the dataset into `target`, each file verified before it gets its name; the files' folder."""
    spec = description(name)
    target.mkdir(parents=True, exist_ok=True)
    if "archive" in spec:
        archive = target / spec["archive"]["filename"]
        _fetch(spec["mirrors"], archive, lambda path: _check_archive(path, spec))
        _extract(archive, target / spec["folder"], spec)
        return target / spec["folder"]
    suffix = spec.get("remote_suffix", "")
    for filename in spec["files"].values():
        _fetch(spec["mirrors"], target / f"{filename}{suffix}",
               lambda path, filename=filename: _check_file(path, filename, spec))
    return target


def _fetch(mirrors: tuple[str, ...], final: Path, check: Callable[[Path], None]) -> None:
    """`final`, from the first mirror that serves a file passing `check`, unless a good copy is there."""
    if final.is_file():
        try:
            check(final)
            return
        except DataError:
            pass  # a bad leftover: fetch it again
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{final.name}"
        tmp = tempfile.NamedTemporaryFile(dir=final.parent, prefix=f".{final.name}.", delete=False)
        try:
            with (
                tmp,
                urlopen(
                    Request(url, headers={"User-Agent": "sgan"}), timeout=DOWNLOAD_TIMEOUT
                ) as response,
            ):
                shutil.copyfileobj(response, tmp)
            check(Path(tmp.name))
            os.replace(tmp.name, final)  # only a verified file gets the real name
            return
        except (OSError, HTTPException, ValueError, DataError) as e:
            reason = getattr(e, "reason", None) or e
            errors.append(f"{url}: {reason}")
        finally:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
    raise DataError("; ".join(errors))
