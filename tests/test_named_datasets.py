"""CIFAR-10 and SVHN as named datasets: their readers on small files written in their exact formats,
the search layouts (CIFAR-10's folder and archive), verification, refusals by name, and downloads."""

import io
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from sgan import data
from sgan.data import CIFAR10, SVHN, DataError, find_dataset, idx, make_split, read_cifar, read_mat, read_svhn, sources

scipy_io = pytest.importorskip("scipy.io")

BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
FOLDER = "cifar-10-batches-bin"


@pytest.fixture(autouse=True)
def isolated_places(tmp_path, monkeypatch):
    """No test may find data in the machine's real cache or /usr/share/datasets by accident."""
    monkeypatch.setattr(sources, "default_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIR", tmp_path / "system")
    monkeypatch.delenv("SGAN_DATA_DIR", raising=False)


# --- CIFAR-10 ------------------------------------------------------------------------------------

def pixel(seed: int, channel: int, row: int, col: int) -> int:
    """The value the fake records hold: differs by record, channel, row and column (no symmetry)."""
    return (seed * 7 + channel * 50 + row * 3 + col) % 256


def cifar_record(label: int, seed: int) -> bytes:
    """One record, byte by byte: the label, then the red plane, the green, the blue, each row-major."""
    record = bytearray([label])
    for channel in range(3):
        for row in range(32):
            for col in range(32):
                record.append(pixel(seed, channel, row, col))
    return bytes(record)


def write_cifar(folder: Path, per_file: int = 10) -> Path:
    """Six batches of `per_file` records, labels 0..9 cycling, record k of batch b seeded 100 * b + k."""
    folder.mkdir(parents=True, exist_ok=True)
    for b, name in enumerate(BATCHES):
        (folder / name).write_bytes(b"".join(cifar_record(k % 10, 100 * b + k) for k in range(per_file)))
    return folder


def cifar_tar(path: Path, folder: Path, extra: list[tarfile.TarInfo] | None = None,
              names: list[str] | None = None) -> Path:
    """The archive's layout: `cifar-10-batches-bin/<batch>`, plus any hostile members given first."""
    with tarfile.open(path, "w:gz") as tar:
        for member in extra or []:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isreg() else None)
        for name in names or BATCHES:
            tar.add(folder / name, arcname=f"{FOLDER}/{name}")
    return path


def declare_cifar(monkeypatch, archive: Path | None = None, per_file: int = 10) -> None:
    """The small files' own archive md5 and batch size as CIFAR-10's, in a copy of the description."""
    spec = data.DATASETS["cifar10"]
    about = {**spec["archive"], "md5": sources._file_md5(archive)} if archive else spec["archive"]
    monkeypatch.setitem(data.DATASETS, "cifar10", {
        **spec, "archive": about, "sizes": dict.fromkeys(BATCHES, per_file * 3073)})


def test_registry_describes_every_dataset():
    for name, spec in data.DATASETS.items():
        assert spec["reader"] in ("idx", "cifar", "svhn") and len(spec["classes"]) == 10, name
        assert sources.split_keys(name, True) and sources.split_keys(name, False), name
    assert data.DATASETS["cifar10"]["image_shape"] == data.DATASETS["svhn"]["image_shape"] == (3, 32, 32)
    assert data.DATASETS["cifar10"]["classes"][0] == "airplane" and data.DATASETS["cifar10"]["classes"][9] == "truck"
    assert sources.split_keys("mnist", False) == ("test_images", "test_labels")
    assert [data.DATASETS["cifar10"]["files"][k] for k in sources.split_keys("cifar10", True)] == BATCHES[:5]


def test_read_cifar_puts_each_channel_where_it_belongs(tmp_path):
    path = tmp_path / "b.bin"
    path.write_bytes(cifar_record(3, 0) + cifar_record(9, 1) + cifar_record(0, 2))
    images, labels = read_cifar(path)
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8 and images.flags.c_contiguous
    assert labels.dtype == np.int64 and labels.tolist() == [3, 9, 0]
    for k, (row, col) in enumerate([(0, 1), (5, 9), (31, 2)]):
        for channel in range(3):
            assert images[k, row, col, channel] == pixel(k, channel, row, col)
    # the red plane's second value is row 0, column 1 (row-major), not row 1, column 0
    assert images[0, 0, 1, 0] == pixel(0, 0, 0, 1) != images[0, 1, 0, 0]


def test_cifar_split_is_nchw_with_the_class_names(tmp_path):
    root = write_cifar(tmp_path / "c")
    split = make_split(dataset="cifar10", data_dir=root, labels=20, verify=False)
    assert split.labeled_images.shape == (20, 3, 32, 32) and split.image_shape == (3, 32, 32)
    assert split.unlabeled_images.shape == (50, 3, 32, 32) and split.test_images.shape == (10, 3, 32, 32)
    assert split.classes[:3] == ["airplane", "automobile", "bird"] and split.num_classes == 10
    # test record 4 (batch 5, seed 504): its green value at row 7, column 20, on the tanh scale
    want = pixel(504, 1, 7, 20) / 127.5 - 1
    assert split.test_images[4, 1, 7, 20].item() == pytest.approx(want)
    assert split.test_targets.tolist() == list(range(10)) and split.test_targets.dtype == torch.int64
    ds = CIFAR10(root, train=True, download=False, verify=False)
    assert len(ds) == 50 and ds[13][1] == 3 and ds[13][0].shape == (32, 32, 3)
    cached = idx.load("cifar10", root.resolve(), True, verify=False)
    assert isinstance(cached, CIFAR10) and not cached.images.flags.writeable


def test_cifar_summary_and_its_colour_grid(tmp_path):
    from PIL import Image

    from sgan.data import data_summary, format_summary

    root = write_cifar(tmp_path / "c")
    summary = data_summary("cifar10", root, out_png=tmp_path / "grid.png", per_class=3, verify=False)
    assert summary["image_shape"] == [32, 32, 3] and summary["train_class_counts"] == [5] * 10
    assert "50 train, 10 test, 32x32" in format_summary(summary) and "airplane" in format_summary(summary)
    assert Image.open(tmp_path / "grid.png").mode == "RGBA"


@pytest.mark.parametrize("layout", ["", "cifar10", FOLDER, f"cifar10/{FOLDER}"])
def test_cifar_is_found_in_each_layout(tmp_path, monkeypatch, layout):
    place = tmp_path / "place"
    folder = write_cifar(place / layout if layout else place)
    assert find_dataset("cifar10", place, download=False) == folder.resolve()
    assert sources.holds_dataset("cifar10", place)
    monkeypatch.setenv("SGAN_DATA_DIR", str(place))
    assert find_dataset("cifar10", None, download=False) == folder.resolve()


def test_cifar_batches_are_verified_by_their_size(tmp_path, monkeypatch):
    root = write_cifar(tmp_path / "c")
    with pytest.raises(DataError, match=r"data_batch_1.bin: wrong size: 30,730 bytes of content, "
                                        r"expected exactly 30,730,000") as e:
        CIFAR10(root, download=False)
    assert "\n" not in str(e.value)
    declare_cifar(monkeypatch)
    assert len(CIFAR10(root, train=False, download=False)) == 10


def test_cifar_archive_is_checked_then_extracted_into_the_cache(tmp_path, monkeypatch):
    source = write_cifar(tmp_path / "src")
    place = tmp_path / "place"
    place.mkdir()
    archive = cifar_tar(place / "cifar-10-binary.tar.gz", source)
    with pytest.raises(DataError, match=r"cifar-10-binary.tar.gz: checksum mismatch: md5 is [0-9a-f]{32}, "
                                        r"expected c32a1d4ab5d03f1284b67883e8d87530") as e:
        find_dataset("cifar10", place, download=False)
    assert "\n" not in str(e.value) and not (tmp_path / "cache").exists()
    declare_cifar(monkeypatch, archive)
    assert sources.holds_dataset("cifar10", place)
    root = find_dataset("cifar10", place, download=False)
    assert root == (tmp_path / "cache" / "cifar10" / FOLDER).resolve()
    assert sorted(p.name for p in root.iterdir()) == sorted(BATCHES)
    for name in BATCHES:
        assert (root / name).read_bytes() == (source / name).read_bytes()
    split = make_split(dataset="cifar10", data_dir=place, labels=20)  # verified: archive md5, batch sizes
    assert split.source == root and split.labeled_images.shape == (20, 3, 32, 32)
    # the archive in a `cifar10/` folder of a place on the search path, the extraction reused
    (place / "cifar10").mkdir()
    archive.rename(place / "cifar10" / archive.name)
    before = (root / "test_batch.bin").stat().st_mtime_ns
    monkeypatch.setenv("SGAN_DATA_DIR", str(place))
    assert find_dataset("cifar10", None, download=False) == root
    assert (root / "test_batch.bin").stat().st_mtime_ns == before


def test_archive_extraction_keeps_to_the_expected_regular_files(tmp_path, monkeypatch):
    source = write_cifar(tmp_path / "src")
    hostile = []
    for name in ("../escaped.bin", "/tmp/absolute.bin", f"{FOLDER}/../../up.bin", f"{FOLDER}/extra.bin"):
        member = tarfile.TarInfo(name)
        member.size = 4
        hostile.append(member)
    link = tarfile.TarInfo(f"{FOLDER}/data_batch_1.bin")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hostile.append(link)
    (tmp_path / "place").mkdir()
    archive = cifar_tar(tmp_path / "place" / "cifar-10-binary.tar.gz", source, hostile)
    declare_cifar(monkeypatch, archive)
    root = find_dataset("cifar10", tmp_path / "place", download=False)
    extracted = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file() or p.is_symlink())
    expected = sorted(
        [Path("place/cifar-10-binary.tar.gz")] + [Path("src") / n for n in BATCHES]
        + [Path("cache/cifar10") / FOLDER / n for n in BATCHES]
    )
    assert extracted == expected
    assert not any(p.is_symlink() for p in root.iterdir())
    assert (root / "data_batch_1.bin").read_bytes() == (source / "data_batch_1.bin").read_bytes()


def test_an_archive_without_a_batch_is_refused(tmp_path, monkeypatch):
    source = write_cifar(tmp_path / "src")
    (tmp_path / "place").mkdir()
    archive = cifar_tar(tmp_path / "place" / "cifar-10-binary.tar.gz", source, names=BATCHES[:5])
    declare_cifar(monkeypatch, archive)
    with pytest.raises(DataError, match=rf"cifar-10-binary.tar.gz: lacks {FOLDER}/test_batch.bin$"):
        find_dataset("cifar10", tmp_path / "place", download=False)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b + b"\x00" * 5, r"30,735 bytes, not a whole number of 3,073-byte CIFAR-10 records"),
    (lambda b: b[:-1], r"30,729 bytes, not a whole number"),
    (lambda b: b[:3073] + bytes([10]) + b[3074:], r"label 10 in record 1 is outside 0-9"),
])
def test_a_damaged_cifar_batch_is_refused_by_name(tmp_path, damage, message):
    root = write_cifar(tmp_path / "c")
    path = root / "data_batch_3.bin"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError, match=r"data_batch_3.bin: " + message) as e:
        CIFAR10(root, download=False, verify=False)
    assert "\n" not in str(e.value)


def test_cifar_not_found_names_the_archive_too(tmp_path):
    with pytest.raises(DataError) as e:
        find_dataset("cifar10", tmp_path / "empty", download=False)
    message = str(e.value)
    assert "\n" not in message and "six files data_batch_1.bin" in message
    assert f"{FOLDER}" in message and "the archive cifar-10-binary.tar.gz" in message


# --- SVHN ----------------------------------------------------------------------------------------

def svhn_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (32, 32, 3, n) uint8 in MATLAB's layout; y (n, 1), labels 1..10 cycling (10 is the digit 0)."""
    x = np.random.default_rng(seed).integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
    y = (np.arange(n) % 10 + 1).reshape(n, 1)
    return x, y


def write_svhn(path: Path, n: int, compress: bool = True, y_dtype=np.uint8, seed: int = 0) -> tuple:
    x, y = svhn_arrays(n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy_io.savemat(path, {"X": x, "y": y.astype(y_dtype)}, do_compression=compress)
    return x, y


def write_svhn_dir(root: Path, n_train: int = 30, n_test: int = 10, compress: bool = True) -> Path:
    write_svhn(root / "train_32x32.mat", n_train, compress, seed=1)
    write_svhn(root / "test_32x32.mat", n_test, compress, np.float64, seed=2)
    return root


def declare_svhn(monkeypatch, root: Path) -> None:
    md5 = {f: sources._md5((root / f).read_bytes()) for f in ("train_32x32.mat", "test_32x32.mat")}
    monkeypatch.setitem(data.DATASETS, "svhn", {**data.DATASETS["svhn"], "md5": md5})


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("y_dtype", [np.uint8, np.float64])
@pytest.mark.parametrize("n", [3, 12])  # 3 uint8 labels fit a packed (small) data element
def test_read_svhn_pixels_and_the_ten_that_is_zero(tmp_path, compress, y_dtype, n):
    path = tmp_path / "s.mat"
    x, y = write_svhn(path, n, compress, y_dtype)
    images, labels = read_svhn(path)
    assert images.shape == (n, 32, 32, 3) and images.dtype == np.uint8 and images.flags.c_contiguous
    assert labels.dtype == np.int64 and labels.tolist() == [(k % 10 + 1) % 10 for k in range(n)]
    for k, (row, col) in enumerate([(0, 1), (4, 30), (31, 0)]):
        for channel in range(3):
            assert images[k, row, col, channel] == x[row, col, channel, k]
    if n > 9:
        assert labels[9] == 0 and y[9, 0] == 10
    raw = read_mat(path, ("X", "y"))
    assert raw["X"].shape == (32, 32, 3, n) and np.array_equal(raw["X"], x)
    assert raw["y"].shape == (n, 1) and raw["y"].dtype == y_dtype


def mat_element(order: str, mtype: int, payload: bytes) -> bytes:
    """A data element as MATLAB writes one: packed with its tag if at most 4 bytes, else padded to 8."""
    if len(payload) <= 4:
        return struct.pack(f"{order}I", (len(payload) << 16) | mtype) + payload.ljust(4, b"\0")
    return struct.pack(f"{order}II", mtype, len(payload)) + payload + b"\0" * (-len(payload) % 8)


def mat_matrix(order: str, name: str, klass: int, array: np.ndarray, mtype: int, dtype: str) -> bytes:
    body = (mat_element(order, 6, struct.pack(f"{order}II", klass, 0))
            + mat_element(order, 5, struct.pack(f"{order}{array.ndim}i", *array.shape))
            + mat_element(order, 1, name.encode())
            + mat_element(order, mtype, array.astype(order + dtype).tobytes(order="F")))
    return struct.pack(f"{order}II", 14, len(body)) + body


def mat_file(order: str, elements: bytes, version: int = 0x0100) -> bytes:
    text = b"MATLAB 5.0 MAT-file, written by sgan's tests".ljust(116, b" ")
    indicator = b"IM" if order == "<" else b"MI"
    return text + b"\0" * 8 + struct.pack(f"{order}H", version) + indicator + elements


@pytest.mark.parametrize("order", ["<", ">"])
def test_mat_reader_follows_the_file_s_byte_order(tmp_path, order):
    """Written here, not by scipy: a big-endian file, a double y, and a variable the reader must skip."""
    x, y = svhn_arrays(2)
    note = mat_matrix(order, "note", 6, np.arange(6.0).reshape(2, 3), 9, "f8")
    images = mat_matrix(order, "X", 9, x, 2, "u1")
    labels = mat_matrix(order, "y", 6, y, 9, "f8")  # a double array stored as doubles
    compressed = zlib.compress(labels)
    for body in (note + images + labels,
                 note + images + struct.pack(f"{order}II", 15, len(compressed)) + compressed):
        path = tmp_path / "hand.mat"
        path.write_bytes(mat_file(order, body))
        images, labels = read_svhn(path)
        assert labels.tolist() == [1, 2] and images[1, 3, 17, 2] == x[3, 17, 2, 1]


def test_svhn_split_is_nchw_with_digit_classes(tmp_path):
    root = write_svhn_dir(tmp_path / "svhn-files")
    split = make_split(dataset="svhn", data_dir=root, labels=20, verify=False)
    assert split.labeled_images.shape == (20, 3, 32, 32) and split.image_shape == (3, 32, 32)
    assert split.unlabeled_images.shape == (30, 3, 32, 32) and split.test_images.shape == (10, 3, 32, 32)
    assert split.classes == [str(d) for d in range(10)]
    assert split.test_targets.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    x, _ = svhn_arrays(10, seed=2)
    assert split.test_images[6, 2, 11, 5].item() == pytest.approx(x[11, 5, 2, 6] / 127.5 - 1)
    named = write_svhn_dir(tmp_path / "place" / "svhn")
    assert find_dataset("svhn", tmp_path / "place", download=False) == named.resolve()
    assert isinstance(idx.load("svhn", named.resolve(), False, verify=False), SVHN)


def test_svhn_checksums_are_checked_once_per_file(tmp_path, monkeypatch):
    root = write_svhn_dir(tmp_path / "s")
    with pytest.raises(DataError, match=r"train_32x32.mat: checksum mismatch: md5 of the uncompressed content is "
                                        r"[0-9a-f]{32}, expected e26dedcc434d2e4c54c9b2d4a06d8373") as e:
        SVHN(root, download=False)
    assert "\n" not in str(e.value)
    declare_svhn(monkeypatch, root)
    monkeypatch.setattr(sources, "_VERIFIED", set())
    hashed = []
    real_md5 = sources._md5
    monkeypatch.setattr(sources, "_md5", lambda b: hashed.append(len(b)) or real_md5(b))
    assert len(SVHN(root, train=False, download=False)) == 10
    first = len(hashed)
    split = make_split(dataset="svhn", data_dir=root, labels=10)
    assert len(hashed) == first + 1  # the training file only: the test file was checked already
    assert len(split.labeled_targets) == 10


def test_svhn_truncated_file_is_refused_by_name(tmp_path):
    for compress in (True, False):
        path = tmp_path / f"train_{compress}.mat"
        write_svhn(path, 12, compress)
        path.write_bytes(path.read_bytes()[:-700])
        with pytest.raises(DataError, match=rf"train_{compress}.mat: truncated: the variable at byte \d+ "
                                            r"declares [\d,]+ bytes, only [\d,]+ follow$") as e:
            read_svhn(path)
        assert "\n" not in str(e.value)
    cut = tmp_path / "header.mat"
    cut.write_bytes(b"MATLAB 5.0 MAT-file")
    with pytest.raises(DataError, match=r"header.mat: 19 bytes, too short for a MAT-file header"):
        read_svhn(cut)


def test_svhn_corrupt_stream_and_missing_variable_are_refused_by_name(tmp_path):
    path = tmp_path / "test_32x32.mat"
    write_svhn(path, 12, compress=True)
    raw = bytearray(path.read_bytes())
    raw[200:240] = bytes(40)  # inside the first compressed variable
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"test_32x32.mat: corrupt compressed variable at byte 128"):
        read_svhn(path)
    only_x = tmp_path / "only_x.mat"
    scipy_io.savemat(only_x, {"X": svhn_arrays(2)[0]})
    with pytest.raises(DataError, match=r"only_x.mat: no numeric variable 'y'$"):
        read_svhn(only_x)
    text = tmp_path / "text_y.mat"
    scipy_io.savemat(text, {"X": svhn_arrays(2)[0], "y": "ab"})
    with pytest.raises(DataError, match=r"text_y.mat: no numeric variable 'y' \('y' is of MATLAB class 4"):
        read_svhn(text)
    bad = tmp_path / "labels.mat"
    scipy_io.savemat(bad, {"X": svhn_arrays(2)[0], "y": np.array([[3], [11]], np.uint8)})
    with pytest.raises(DataError, match=r"labels.mat: label 11 of image 1 is outside 1-10"):
        read_svhn(bad)


def test_a_v73_hdf5_file_is_refused_by_name(tmp_path):
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    v73 = header.ljust(116, b" ") + b"\0" * 8 + struct.pack("<H", 0x0200) + b"IM"
    path = tmp_path / "train_32x32.mat"
    path.write_bytes(v73.ljust(512, b"\0") + b"\x89HDF\r\n\x1a\n" + bytes(64))
    with pytest.raises(DataError, match=r"train_32x32.mat: a MATLAB v7.3 \(HDF5\) MAT-file") as e:
        read_svhn(path)
    assert "\n" not in str(e.value)
    bare = tmp_path / "bare.mat"
    bare.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(600))
    with pytest.raises(DataError, match=r"bare.mat: a MATLAB v7.3 \(HDF5\)"):
        read_svhn(bare)


# --- downloads -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cifar10", "svhn"])
def test_offline_download_is_one_clear_line(tmp_path, monkeypatch, name):
    monkeypatch.setattr(sources, "DOWNLOAD_TIMEOUT", 0.5)
    monkeypatch.setitem(data.DATASETS, name, {**data.DATASETS[name], "mirrors": ("http://127.0.0.1:9/",)})
    with pytest.raises(DataError) as e:
        find_dataset(name, None, download=True)
    message = str(e.value)
    assert "\n" not in message and f"{name} not found and the download failed" in message
    assert "http://127.0.0.1:9/" in message and "--data-dir DIR or set SGAN_DATA_DIR=DIR" in message
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # no partial file left


def test_cifar_download_is_verified_then_extracted(tmp_path, monkeypatch):
    source = write_cifar(tmp_path / "src")
    archive = cifar_tar(tmp_path / "served.tar.gz", source)
    served = []

    def fake_urlopen(request, timeout):
        served.append(request.full_url)
        return io.BytesIO(archive.read_bytes())

    monkeypatch.setattr(sources, "urlopen", fake_urlopen)
    with pytest.raises(DataError, match=r"download failed .*cifar-10-binary\.tar\.gz.*checksum mismatch"):
        find_dataset("cifar10", None, download=True)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    declare_cifar(monkeypatch, archive)
    root = find_dataset("cifar10", None, download=True)
    assert served[-1] == "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    assert root == tmp_path / "cache" / "cifar10" / FOLDER
    assert sorted(p.name for p in root.iterdir()) == sorted(BATCHES)
    assert len(CIFAR10(download=False)) == 50  # now found in the cache, and verified


def test_svhn_download_fetches_both_files(tmp_path, monkeypatch):
    source = write_svhn_dir(tmp_path / "mirror")
    declare_svhn(monkeypatch, source)
    served = []

    def fake_urlopen(request, timeout):
        served.append(request.full_url)
        return io.BytesIO((source / request.full_url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(sources, "urlopen", fake_urlopen)
    root = find_dataset("svhn", None, download=True)
    assert served == [f"http://ufldl.stanford.edu/housenumbers/{f}" for f in ("train_32x32.mat", "test_32x32.mat")]
    assert root == tmp_path / "cache" / "svhn"
    assert len(SVHN(download=False)) == 30
