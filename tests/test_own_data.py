"""The user's own images: folders and .npz files to a split, a run and its report; the cache; and
every bad input's one-line message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cli import assert_one_line_error

from sgan.config import get_config
from sgan.data import DataError, sources
from sgan.data import folders as folders_module
from sgan.data.arrays import load_arrays
from sgan.data.folders import load_folder
from sgan.data.split import own_split
from sgan.engine import Trainer, TrainingInterrupted

CLI = [sys.executable, "-m", "sgan.cli"]
CLASSES = ["cat", "dog", "eel"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "default_cache_dir", lambda: tmp_path / "cache")


def picture(label: int, k: int, size=(24, 24), mode="RGB") -> Image.Image:
    """An image whose class shows in its pixels: a bright band at a class-specific row."""
    a = np.full((*size, 3), 10 + k % 7, dtype=np.uint8)
    a[4 + 6 * label : 8 + 6 * label] = 220
    return Image.fromarray(a).convert(mode)


def make_folder(root: Path, per_class: int = 4, unlabeled: int = 12, test: int | None = 2, mode="RGB",
                classes=CLASSES) -> Path:
    for c, name in enumerate(classes):
        for k in range(per_class):
            (root / "labeled" / name).mkdir(parents=True, exist_ok=True)
            picture(c, k, mode=mode).save(root / "labeled" / name / f"{k}.png")
        for k in range(test or 0):
            (root / "test" / name).mkdir(parents=True, exist_ok=True)
            picture(c, k + 50, mode=mode).save(root / "test" / name / f"t{k}.png")
    for k in range(unlabeled):
        sub = root / "unlabeled" / f"batch{k % 2}" / "deeper"  # any nesting
        sub.mkdir(parents=True, exist_ok=True)
        picture(k % len(classes), k + 100, mode=mode).save(sub / f"u{k}.jpg" if k % 3 == 0 else sub / f"u{k}.png")
    return root


def small(out: Path, **kw):
    base = dict(labeled_batch_size=4, unlabeled_batch_size=4, fake_batch_size=4, gen_batch_size=4,
                baseline_batch_size=4, steps=2, sample_interval=1, precision="fp32")
    return get_config("gia", out=str(out), **{**base, **kw})


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300)


# ------------------------------------------------------------------------------ folders
def test_a_folder_becomes_a_split_with_its_class_names(tmp_path):
    root = make_folder(tmp_path / "pets")
    split = own_split(root, progress=False)
    assert split.classes == CLASSES and split.num_classes == 3
    assert split.image_shape == (3, 24, 24)  # colour and size from the data
    assert split.labeled_targets.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert len(split.unlabeled_images) == 12 + 12  # unlabeled="all": the labeled images join the pool
    assert len(own_split(root, unlabeled="rest", progress=False).unlabeled_images) == 12
    assert split.test_targets.tolist() == [0, 0, 1, 1, 2, 2]
    # the pixels survive: the bright band sits at the class's rows (tanh range: 220 -> 0.725)
    for image, label in zip(split.labeled_images, split.labeled_targets, strict=True):
        rows = image[0, :, 0]
        assert rows[4 + 6 * label] > 0.7 and (rows > 0.7).sum() == 4


def test_channels_and_size_can_be_chosen(tmp_path):
    root = make_folder(tmp_path / "pets")
    split = own_split(root, channels=1, image_size=32, progress=False)
    assert split.image_shape == (1, 32, 32)
    assert any("converted to 32x32 greyscale" in n for n in split.notes)


def test_a_run_on_a_folder_reports_class_names_and_its_test_accuracy(tmp_path):
    root = make_folder(tmp_path / "pets")
    result = Trainer(small(tmp_path / "run", data=str(root)), progress=False).fit()
    assert result["classes"] == CLASSES and result["test_size"] == 6 and result["test_accuracy"] is not None
    report = (tmp_path / "run" / "report.md").read_text()
    assert "| class | cat | dog | eel |" in report and (tmp_path / "run" / "confusion.png").exists()


def test_without_test_images_the_report_says_there_is_no_held_out_accuracy(tmp_path):
    root = make_folder(tmp_path / "pets", test=None)
    result = Trainer(small(tmp_path / "run", data=str(root)), progress=False).fit()
    assert result["test_accuracy"] is None and result["test_size"] == 0
    report = (tmp_path / "run" / "report.md").read_text()
    assert "no held-out accuracy" in report and "confusion.png" not in report
    assert not (tmp_path / "run" / "confusion.png").exists()


def test_the_second_load_comes_from_the_cache_and_an_edit_invalidates_it(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "pets")
    first = load_folder(root, progress=False)
    decode = folders_module.decode_all
    monkeypatch.setattr(folders_module, "decode_all", lambda *a, **k: pytest.fail("decoded again"))
    second = load_folder(root, progress=False)
    np.testing.assert_array_equal(first["unlabeled"], second["unlabeled"])
    picture(0, 99).save(root / "unlabeled" / "new.png")  # a new file: a new key
    monkeypatch.setattr(folders_module, "decode_all", decode)
    assert len(load_folder(root, progress=False)["unlabeled"]) == 13


def test_parallel_decoding_gives_the_serial_result(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "pets", unlabeled=40)
    monkeypatch.setattr(folders_module, "CHUNK", 7)  # several tasks
    paths = folders_module.list_files(root / "unlabeled")
    serial = folders_module.decode_all(paths, 3, (24, 24), progress=False, workers=1)
    parallel = folders_module.decode_all(paths, 3, (24, 24), progress=False, workers=2)
    np.testing.assert_array_equal(serial[0], parallel[0])


# ------------------------------------------------------------------------------ arrays
def npz(path: Path, **arrays) -> Path:
    rng = np.random.default_rng(0)
    base = dict(x_labeled=rng.integers(0, 255, (6, 28, 28), dtype=np.uint8), y_labeled=np.array([0, 1, 2] * 2),
                x_unlabeled=rng.integers(0, 255, (10, 28, 28), dtype=np.uint8))
    np.savez(path, **{**base, **arrays})
    return path


def test_an_npz_becomes_a_split(tmp_path):
    rng = np.random.default_rng(1)
    path = npz(tmp_path / "d.npz", x_test=rng.integers(0, 255, (4, 28, 28), dtype=np.uint8),
               y_test=np.array([2, 1, 0, 0]), classes=np.array(["a", "b", "c"]))
    split = own_split(path, progress=False)
    assert split.image_shape == (1, 28, 28) and split.classes == ["a", "b", "c"]
    assert split.test_targets.tolist() == [2, 1, 0, 0]
    x = np.load(path)["x_labeled"]
    np.testing.assert_allclose(split.labeled_images[:, 0].numpy(), x / 127.5 - 1, atol=1e-6)


def test_an_npz_in_colour_without_class_names(tmp_path):
    x = np.zeros((6, 30, 30, 3), dtype=np.uint8)
    data = load_arrays(npz(tmp_path / "c.npz", x_labeled=x, x_unlabeled=x))
    assert data["labeled"][0].shape == (6, 32, 32, 3)  # 30 -> 32: a size the networks take
    assert data["classes"] == ["0", "1", "2"] and data["test"] is None


# ------------------------------------------------------------------------------ bad input, one line each
def test_a_corrupt_file_is_skipped_with_a_count_or_refused_under_strict(tmp_path):
    root = make_folder(tmp_path / "pets")
    (root / "unlabeled" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "unlabeled" / "notes.txt").write_text("not an image")
    split = own_split(root, progress=False)
    assert len(split.unlabeled_images) == 24
    assert split.notes[0].startswith("skipped 2 unreadable files") and "--strict" in split.notes[0]
    with pytest.raises(DataError, match=r"broken.png: not a readable image .*--strict refuses"):
        own_split(root, strict=True, progress=False)
    run = run_cli("train", "--data", str(root), "--steps", "1", "--out", str(tmp_path / "r"), "--threads", "1",
                  "--no-progress", "--strict", cache=tmp_path / "xdg")
    assert_one_line_error(run, "broken.png", "not a readable image")


@pytest.mark.parametrize("breakage, fragments", [
    ("empty class", ("labeled/eel", "empty class folder")),
    ("test class unknown", ("test classes missing from the labeled ones: fox",)),
    ("no unlabeled", ("unlabeled: no images",)),
    ("single class", ("only one class (cat)",)),
    ("loose labeled file", ("directly in labeled/", "labeled/<class>/")),
    ("no labeled folder", ("no labeled/ folder",)),
])
def test_bad_folders_get_one_line(tmp_path, breakage, fragments):
    root = make_folder(tmp_path / "pets", classes=["cat"] if breakage == "single class" else CLASSES)
    if breakage == "empty class":
        for f in (root / "labeled" / "eel").iterdir():
            f.unlink()
    elif breakage == "test class unknown":
        (root / "test" / "fox").mkdir()
        picture(0, 1).save(root / "test" / "fox" / "f.png")
    elif breakage == "no unlabeled":
        for f in folders_module.list_files(root / "unlabeled"):
            f.unlink()
    elif breakage == "loose labeled file":
        picture(0, 1).save(root / "labeled" / "stray.png")
    elif breakage == "no labeled folder":
        (root / "labeled").rename(root / "labelled")
    run = run_cli("train", "--data", str(root), "--steps", "1", "--out", str(tmp_path / "r"), "--threads", "1",
                  cache=tmp_path / "xdg")
    assert_one_line_error(run, *fragments)


def test_mixed_sizes_and_modes_are_converted_and_said_once(tmp_path):
    root = make_folder(tmp_path / "pets")
    picture(1, 3, size=(40, 30), mode="L").save(root / "unlabeled" / "odd.png")
    picture(2, 4, mode="P").save(root / "unlabeled" / "palette.gif")
    split = own_split(root, progress=False)
    assert split.image_shape == (3, 24, 24) and len(split.unlabeled_images) == 26
    assert split.notes == ["2 images converted to 24x24 RGB"]


@pytest.mark.parametrize("arrays, fragments", [
    (dict(y_labeled=np.array([0, 1, 2, 0, 1, 12]), classes=np.array(["a", "b", "c"])),
     ("y_labeled holds label 12, outside 0..2",)),
    (dict(y_labeled=np.array([0, 1, 2, 0, 1])), ("x_labeled has 6 images but y_labeled has 5 labels",)),
    (dict(x_test=np.zeros((3, 28, 28), np.uint8), y_test=np.array([0, 5, 1])), ("y_test holds label 5",)),
    (dict(x_unlabeled=np.zeros((4, 28, 28), np.float32)), ("x_unlabeled is float32", "uint8")),
    (dict(y_labeled=np.zeros(6, dtype=int)), ("one class only",)),
])
def test_bad_npz_files_get_one_line(tmp_path, arrays, fragments):
    path = npz(tmp_path / "bad.npz", **arrays)
    run = run_cli("train", "--data", str(path), "--steps", "1", "--out", str(tmp_path / "r"), "--threads", "1",
                  cache=tmp_path / "xdg")
    assert_one_line_error(run, "bad.npz", *fragments)


def test_an_npz_missing_its_arrays_or_not_an_npz(tmp_path):
    np.savez(tmp_path / "few.npz", x_labeled=np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(DataError, match="no array y_labeled, x_unlabeled"):
        load_arrays(tmp_path / "few.npz")
    (tmp_path / "junk.npz").write_text("hello")
    with pytest.raises(DataError, match="junk.npz: not a readable .npz archive"):
        load_arrays(tmp_path / "junk.npz")


# ------------------------------------------------------------------------------ an interrupted run
def test_an_interrupted_run_still_writes_its_report(tmp_path, sigterm_at_step):
    root = make_folder(tmp_path / "pets")
    t = Trainer(small(tmp_path / "run", data=str(root), steps=6, sample_interval=2), progress=False)
    sigterm_at_step(t, 2)
    with pytest.raises(TrainingInterrupted):
        t.fit()
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["stopped"] == "signal SIGTERM" and report["steps"] == 3 and report["planned_steps"] == 6
    assert "Stopped at step 3 of 6" in (tmp_path / "run" / "report.md").read_text()
    assert (tmp_path / "run" / "curves.png").exists() and (tmp_path / "run" / "confusion.png").exists()


# ------------------------------------------------------------------------------ watching a run
def test_tensorboard_events_hold_losses_accuracy_and_samples(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = make_folder(tmp_path / "pets")
    Trainer(small(tmp_path / "run", data=str(root), tensorboard=True), progress=False).fit()
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"loss/d_sup", "loss/d_unsup", "loss/g", "accuracy/test_accuracy"} <= scalars
    assert [e.step for e in events.Scalars("accuracy/test_accuracy")] == [1, 2]
    assert events.Tags()["images"] == ["samples"]


def test_tensorboard_missing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    from sgan.engine import TrainingError

    split = own_split(make_folder(tmp_path / "p"), progress=False)
    with pytest.raises(TrainingError, match=r"needs the tensorboard package: pip install 'sgan\[tensorboard\]'"):
        Trainer(small(tmp_path / "run", tensorboard=True), split=split, progress=False)


def test_own_data_options_are_refused_where_they_do_not_belong(tmp_path):
    root = make_folder(tmp_path / "pets")
    run = run_cli("train", "--data", str(root), "--labels", "20", "--out", str(tmp_path / "r"), cache=tmp_path / "x")
    assert_one_line_error(run, "--labels", "--data uses every image")
    run = run_cli("train", "--channels", "3", "--out", str(tmp_path / "r"), cache=tmp_path / "x")
    assert_one_line_error(run, "give them with --data")


def test_a_sweep_leaves_interrupted_reports_out_and_needs_test_images(tmp_path):
    from sgan.sweep import collect_reports

    for name, stopped in (("a", None), ("b", "signal SIGINT")):
        (tmp_path / "sw" / name).mkdir(parents=True)
        (tmp_path / "sw" / name / "report.json").write_text(json.dumps({"steps": 5, "test_accuracy": 0.5,
                                                                         "stopped": stopped}))
    assert [r["stopped"] for r in collect_reports(tmp_path / "sw")] == [None]
    root = make_folder(tmp_path / "pets", test=None)
    run = run_cli("sweep", "--data", str(root), "--out", str(tmp_path / "s"), cache=tmp_path / "x")
    assert_one_line_error(run, "a sweep compares test accuracies", "has no test images")


# ------------------------------------------------------------------------------ found by trying it as a user
@pytest.mark.parametrize("arrays, fragments", [
    (dict(y_labeled=np.array([0, 1, 2, 0, 1, -1])), ("y_labeled holds label -1", "class indices 0..K-1")),
    (dict(classes=np.array(["a", "a", "b"])), ("classes names a more than once",)),
])
def test_more_npz_mistakes(tmp_path, arrays, fragments):
    with pytest.raises(DataError, match=".*".join(fragments)):
        load_arrays(npz(tmp_path / "bad.npz", **arrays))


def test_a_single_npy_array_is_refused_in_one_line(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 8, 8), np.uint8))
    run = run_cli("train", "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "r"), cache=tmp_path / "x")
    assert_one_line_error(run, "x.npy: a single .npy array", "np.savez")


def test_a_dangling_link_is_skipped_as_unreadable(tmp_path):
    root = make_folder(tmp_path / "pets")
    (root / "unlabeled" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    split = own_split(root, progress=False)
    assert len(split.unlabeled_images) == 24 and "gone.png" in split.notes[0]


def test_a_class_without_test_images_has_no_test_accuracy_rather_than_zero(tmp_path):
    root = make_folder(tmp_path / "pets")
    for f in (root / "test" / "dog").iterdir():
        f.unlink()
    result = Trainer(small(tmp_path / "run", data=str(root)), progress=False).fit()
    assert result["per_class_accuracy"][1] is None and result["per_class_accuracy"][0] is not None
    assert "n/a (no test images)" in (tmp_path / "run" / "report.md").read_text()


def test_sgan_data_summarises_own_images(tmp_path):
    root = make_folder(tmp_path / "pets")
    run = run_cli("data", "--data", str(root), "--out", str(tmp_path / "d"), cache=tmp_path / "x")
    assert run.returncode == 0, run.stderr
    assert "12 labeled, 12 unlabeled, 6 test; 24x24, RGB" in run.stdout and "eel" in run.stdout
    assert (tmp_path / "d" / "pets-labeled.png").exists()


def test_config_reruns_refuse_other_options_and_an_early_stop_is_restarted_not_resumed(tmp_path):
    root = make_folder(tmp_path / "pets")
    config = small(tmp_path / "run", data=str(root))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps(config.to_dict()))
    run = run_cli("train", "--config", str(tmp_path / "run" / "config.json"), "--seed", "5", "--out",
                  str(tmp_path / "r2"), cache=tmp_path / "x")
    assert_one_line_error(run, "--seed cannot change it")
    run = run_cli("train", "--resume", str(tmp_path / "run"), cache=tmp_path / "x")
    assert_one_line_error(run, "stopped before its first checkpoint", "sgan train --config")


def test_a_run_whose_images_moved_says_so(tmp_path):
    root = make_folder(tmp_path / "pets")
    Trainer(small(tmp_path / "run", data=str(root)), progress=False).fit()
    root.rename(tmp_path / "elsewhere")
    run = run_cli("evaluate", str(tmp_path / "run" / "checkpoint.pt"), cache=tmp_path / "x")
    assert_one_line_error(run, "the run's images are not there")


def test_sixteen_bit_images_keep_their_range_and_links_back_up_are_listed_once(tmp_path):
    from sgan.data.images import read_image

    ramp = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0..65472
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    image, changed = read_image(tmp_path / "deep.png", 1, (32, 32))
    assert changed and image[0, 0, 0] == 0 and image[-1, -1, 0] == 255 and 120 < image[16, 0, 0] < 136
    root = make_folder(tmp_path / "pets")
    (root / "unlabeled" / "loop").symlink_to(root / "unlabeled", target_is_directory=True)
    assert len(folders_module.list_files(root / "unlabeled")) == 12


def test_set_refuses_options_with_their_own_flag(tmp_path):
    run = run_cli("train", "--set", "steps=10", "--out", str(tmp_path / "r"), cache=tmp_path / "x")
    assert_one_line_error(run, "--set steps: it has its own option, --steps")


def test_the_reference_adam_needs_the_reference_epsilon():
    with pytest.raises(ValueError, match="give the reference's epsilon with it: adam_eps=1e-8"):
        get_config("improved", adam_eps_inside_sqrt=True)
    assert get_config("improved", adam_eps_inside_sqrt=True, adam_eps=1e-8).adam_eps == 1e-8
