"""The data layer: IDX parsing, bad files refused by name, the search order, downloads, and the
semi-supervised split that never hands the trainer a label it was not given."""

import dataclasses
import gzip
import io
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from conftest import FILES, make_tiny_dataset, write_idx

from sgan import data
from sgan.data import MNIST, DataError, find_dataset, idx, make_split, read_idx, scale_pixels, select_labeled, sources


@pytest.fixture(autouse=True)
def isolated_places(tmp_path, monkeypatch):
    """No test may find data in the machine's real cache or /usr/share/datasets by accident."""
    monkeypatch.setattr(sources, "default_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIR", tmp_path / "system")
    monkeypatch.delenv("SGAN_DATA_DIR", raising=False)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    assert np.array_equal(read_idx(write_idx(tmp_path / "img", images, gz=gz)), images)
    assert np.array_equal(read_idx(write_idx(tmp_path / "lab", labels, gz=gz)), labels)


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    labels = np.array([1, 2, 3], dtype=np.uint8)
    raw = write_idx(tmp_path / "lab", labels, gz=True)
    renamed = raw.rename(tmp_path / "no-suffix")
    assert np.array_equal(read_idx(renamed), labels)


def test_truncated_file_is_refused(tmp_path):
    path = write_idx(tmp_path / "img", np.zeros((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"img: truncated"):
        read_idx(path)


def test_trailing_bytes_are_refused(tmp_path):
    path = write_idx(tmp_path / "img", np.zeros((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DataError, match="trailing bytes"):
        read_idx(path)


def test_wrong_magic_number_is_refused(tmp_path):
    path = write_idx(tmp_path / "img", np.zeros((2, 28, 28), np.uint8), magic=0x00000D03)
    with pytest.raises(DataError, match=r"img: bad IDX magic number 0x00000d03"):
        read_idx(path)


def test_corrupt_gzip_is_refused(tmp_path):
    good = write_idx(tmp_path / "img", np.arange(4 * 784, dtype=np.uint8).reshape(4, 28, 28), gz=True)
    path = good.rename(tmp_path / "img.gz")
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # cut mid-stream
    with pytest.raises(DataError, match=r"img.gz: corrupt gzip"):
        read_idx(path)


def test_label_count_must_match_image_count(tmp_path):
    root = make_tiny_dataset(tmp_path / "d")
    write_idx(root / "train-labels-idx1-ubyte", np.zeros(150, np.uint8), gz=True)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz has 150 labels but .*train-images"):
        MNIST(root, verify=False)


def test_checksum_mismatch_names_the_file(tiny_mnist_dir):
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: checksum mismatch"):
        MNIST(tiny_mnist_dir)


def test_search_order_explicit_dir_then_env_then_cache_then_system(tmp_path, monkeypatch):
    explicit = make_tiny_dataset(tmp_path / "explicit")
    env = make_tiny_dataset(tmp_path / "env")
    cache = make_tiny_dataset(tmp_path / "cache" / "mnist")
    system = make_tiny_dataset(tmp_path / "system" / "mnist")
    monkeypatch.setenv("SGAN_DATA_DIR", str(env))
    assert find_dataset("mnist", explicit, download=False) == explicit.resolve()
    assert find_dataset("mnist", None, download=False) == env.resolve()
    monkeypatch.delenv("SGAN_DATA_DIR")
    assert find_dataset("mnist", None, download=False) == cache.resolve()
    for f in cache.iterdir():
        f.unlink()
    assert find_dataset("mnist", None, download=False) == system.resolve()


def test_a_folder_of_datasets_is_searched_by_name(tmp_path):
    inner = make_tiny_dataset(tmp_path / "datasets" / "mnist")
    assert find_dataset("mnist", tmp_path / "datasets", download=False) == inner.resolve()


def test_nothing_found_offline_names_every_place(tmp_path, monkeypatch):
    monkeypatch.setenv("SGAN_DATA_DIR", str(tmp_path / "envdir"))
    with pytest.raises(DataError) as e:
        find_dataset("mnist", None, download=False)
    message = str(e.value)
    assert "\n" not in message
    for place in ("envdir", "cache", "system", "--data-dir", "SGAN_DATA_DIR"):
        assert place in message
    # an explicit folder without the files is an error of its own, with no fallback
    make_tiny_dataset(tmp_path / "envdir")
    with pytest.raises(DataError, match=r"mnist not found in --data-dir .*given"):
        find_dataset("mnist", tmp_path / "given", download=False)


def test_download_failure_is_one_clear_line(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(sources, "urlopen", offline)
    with pytest.raises(DataError) as e:
        find_dataset("mnist", None, download=True)
    assert "\n" not in str(e.value) and "download failed" in str(e.value) and "no network" in str(e.value)


def test_download_lands_in_the_cache_and_is_verified(tmp_path, monkeypatch):
    source = make_tiny_dataset(tmp_path / "mirror")
    served = []

    def fake_urlopen(request, timeout):
        name = request.full_url.rsplit("/", 1)[1]
        served.append(name)
        return io.BytesIO((source / name).read_bytes())

    monkeypatch.setattr(sources, "urlopen", fake_urlopen)
    # the fake files are not MNIST: verification must reject them and leave nothing behind
    with pytest.raises(DataError, match="checksum mismatch"):
        find_dataset("mnist", None, download=True)
    assert not any((tmp_path / "cache" / "mnist").glob("*.gz"))
    # with the fake files' own checksums declared, the download is accepted
    spec = {**data.DATASETS["mnist"], "gz_md5": {}, "md5": {
        f: sources._md5(gzip.decompress((source / f"{f}.gz").read_bytes())) for f in FILES}}
    monkeypatch.setitem(data.DATASETS, "mnist", spec)
    root = find_dataset("mnist", None, download=True)
    assert root == tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in root.iterdir()) == sorted(f"{f}.gz" for f in FILES)
    assert len(MNIST(root)) == 200


def test_balanced_selection_counts_and_determinism():
    targets = np.repeat(np.arange(10), 50)
    a = select_labeled(targets, 100, mode="balanced", seed=3)
    assert len(a) == len(set(a.tolist())) == 100
    assert np.bincount(targets[a], minlength=10).tolist() == [10] * 10
    assert np.array_equal(a, select_labeled(targets, 100, mode="balanced", seed=3))
    assert not np.array_equal(a, select_labeled(targets, 100, mode="balanced", seed=4))


def test_first_selection_takes_the_first_n():
    targets = np.repeat(np.arange(10), 5)
    assert select_labeled(targets, 7, mode="first").tolist() == list(range(7))


@pytest.mark.parametrize("n, mode, message", [
    (0, "balanced", "must be positive"),
    (-5, "first", "must be positive"),
    (15, "balanced", "multiple of 10"),
    (51, "first", "training set has 50"),
    (10, "stratified", "unknown label selection"),
])
def test_impossible_selections_are_refused(n, mode, message):
    with pytest.raises(ValueError, match=message):
        select_labeled(np.repeat(np.arange(10), 5), n, mode=mode)


def test_split_unlabeled_side_carries_no_labels(tiny_mnist_dir):
    split = make_split(data_dir=tiny_mnist_dir, labels=20, label_selection="balanced", unlabeled="rest",
                       verify=False)
    label_fields = [f.name for f in dataclasses.fields(split) if "target" in f.name]
    assert label_fields == ["labeled_targets", "test_targets"]
    assert split.unlabeled_images.is_floating_point() and split.unlabeled_images.shape == (180, 1, 28, 28)
    assert len(split.labeled_targets) == 20
    # "rest": no labeled image is in the pool
    pool = {tuple(x.flatten()[:40].tolist()) for x in split.unlabeled_images}
    assert not any(tuple(x.flatten()[:40].tolist()) in pool for x in split.labeled_images)
    everything = make_split(data_dir=tiny_mnist_dir, labels=20, unlabeled="all", verify=False)
    assert len(everything.unlabeled_images) == 200
    assert everything.labeled_sha256 == data.indices_sha256(everything.labeled_indices)


def test_too_many_per_class_names_the_class():
    targets = np.concatenate([np.zeros(5), np.repeat(np.arange(1, 10), 20)]).astype(np.int64)
    with pytest.raises(ValueError, match="class 0 has only 5"):
        select_labeled(targets, 60, mode="balanced")


def test_scale_pixels_ranges():
    x = np.array([[[0, 255]]], dtype=np.uint8).repeat(28, 1).repeat(14, 2)
    tanh, unit = scale_pixels(x, "tanh"), scale_pixels(x, "unit")
    assert tanh.shape == (1, 1, 28, 28) and tanh.dtype == torch.float32
    assert (tanh.min(), tanh.max()) == (-1.0, 1.0) and (unit.min(), unit.max()) == (0.0, 1.0)
    with pytest.raises(ValueError):
        scale_pixels(x, "imagenet")


@pytest.mark.mnist
def test_real_mnist(mnist_dir):
    train, test = MNIST(mnist_dir, train=True), MNIST(mnist_dir, train=False)
    assert (len(train), len(test)) == (60000, 10000)
    x = train.images / 255.0
    assert x.mean() == pytest.approx(0.1307, abs=1e-4) and x.std() == pytest.approx(0.3081, abs=1e-4)
    assert np.bincount(train.targets).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.mark.mnist
def test_data_summary_writes_a_grid(mnist_dir, tmp_path):
    summary = data.data_summary("mnist", mnist_dir, out_png=tmp_path / "grid.png")
    assert summary["train_size"] == 60000 and Path(summary["grid"]).stat().st_size > 1000
    text = data.format_summary(summary)
    assert "60000" in text and "0.1307" in text


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debians_location(monkeypatch):
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIR", Path("/usr/share/datasets"))
    test = MNIST(name="fashion-mnist", train=False, download=False)
    assert test.root == Path("/usr/share/datasets/fashion-mnist")
    assert len(test) == 10000 and test.classes[0] == "T-shirt/top"
    assert np.bincount(test.targets).tolist() == [1000] * 10


def _declare(monkeypatch, name, root):
    """Declare the tiny files' own md5s as dataset `name`, so verification can pass on them."""
    md5 = {f: sources._md5(gzip.decompress((root / f"{f}.gz").read_bytes())) for f in FILES}
    monkeypatch.setitem(data.DATASETS, name, {**data.DATASETS["mnist"], "gz_md5": {}, "md5": md5})


def test_labels_out_of_range_are_refused(tiny_mnist_dir):
    labels = np.arange(50) % 10
    labels[7] = 10
    write_idx(tiny_mnist_dir / "t10k-labels-idx1-ubyte", labels, gz=True)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: label 10 out of range for 10 classes"):
        MNIST(tiny_mnist_dir, train=False, verify=False)


def test_verification_runs_once_per_file_and_per_expected_checksum(tiny_mnist_dir, monkeypatch):
    _declare(monkeypatch, "tiny", tiny_mnist_dir)
    monkeypatch.setattr(sources, "_VERIFIED", set())
    hashed = []
    real_md5 = sources._md5
    monkeypatch.setattr(sources, "_md5", lambda b: hashed.append(len(b)) or real_md5(b))
    data.verify_checksums(tiny_mnist_dir, "tiny")
    first = len(hashed)
    data.verify_checksums(tiny_mnist_dir, "tiny")
    assert first > 0 and len(hashed) == first  # the second check is free
    # passing as one dataset says nothing about another: the same files are not MNIST
    with pytest.raises(DataError, match="checksum mismatch"):
        data.verify_checksums(tiny_mnist_dir, "mnist")
    # a file replaced after its check is checked again
    write_idx(tiny_mnist_dir / "train-labels-idx1-ubyte", (np.arange(200) + 1) % 10, gz=True)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: checksum mismatch"):
        data.verify_checksums(tiny_mnist_dir, "tiny")


def test_download_falls_back_to_the_next_mirror_and_leaves_no_temp_files(tmp_path, monkeypatch):
    source = make_tiny_dataset(tmp_path / "mirror")
    _declare(monkeypatch, "mnist", source)
    monkeypatch.setitem(data.DATASETS["mnist"], "mirrors", ("http://bad.invalid/", "http://good.invalid/"))

    def fake_urlopen(request, timeout):
        assert timeout <= 10  # an offline machine must fail quickly
        if request.full_url.startswith("http://bad."):
            return io.BytesIO(b"<html>not the file</html>")
        return io.BytesIO((source / request.full_url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(sources, "urlopen", fake_urlopen)
    root = find_dataset("mnist", None, download=True)
    assert sorted(p.name for p in root.iterdir()) == sorted(f"{f}.gz" for f in FILES)


def test_make_split_parses_each_file_once_per_process(tiny_mnist_dir, monkeypatch):
    parsed = []
    real_read_idx = data.read_idx
    monkeypatch.setattr(idx, "read_idx", lambda p: parsed.append(Path(p).name) or real_read_idx(p))
    a = make_split(data_dir=tiny_mnist_dir, labels=10, verify=False)
    b = make_split(data_dir=tiny_mnist_dir, labels=20, label_selection="first", verify=False)
    assert len(parsed) == 4 and len(a.labeled_targets) == 10 and len(b.labeled_targets) == 20
    # the shared arrays are read-only, so no caller can corrupt another's data
    cached = idx._load("mnist", str(tiny_mnist_dir.resolve()), True)
    assert not cached.images.flags.writeable and not cached.targets.flags.writeable


def test_data_summary_on_tiny_files(tiny_mnist_dir, tmp_path):
    summary = data.data_summary("mnist", tiny_mnist_dir, out_png=tmp_path / "g.png", per_class=3, verify=False)
    assert (summary["train_size"], summary["test_size"], summary["image_shape"]) == (200, 50, [28, 28])
    assert summary["train_class_counts"] == [20] * 10 and summary["test_class_counts"] == [5] * 10
    assert Path(summary["grid"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data.format_summary(summary).splitlines()) > 10


def test_reference_selection_is_improved_gans_draw():
    targets = np.random.default_rng(5).integers(0, 10, size=3000)
    chosen = select_labeled(targets, 30, 10, "reference", seed=7)
    # openai/improved-gan: inds = RandomState(seed_data).permutation(n), then the first `count` of each class
    inds = np.random.RandomState(7).permutation(len(targets))
    expected = np.concatenate([inds[targets[inds] == j][:3] for j in range(10)])
    np.testing.assert_array_equal(chosen, expected)
    assert not np.array_equal(chosen, select_labeled(targets, 30, 10, "reference", seed=8))
