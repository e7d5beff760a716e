"""`sgan predict` and `sgan export` on a short real-MNIST run: image files classified exactly as the
in-memory test set is, unreadable files reported without stopping the rest, and the exported
TorchScript and ONNX classifiers taking uint8 NHWC images to the checkpoint's logits."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sgan.cli import main
from sgan.data import MNIST, scale_pixels
from sgan.evaluation import evaluate
from sgan.inference import load_networks

N_IMAGES = 200
# torch 2.10+ deprecates TorchScript, which is still how a TorchScript file is loaded
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sgan: error:"), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tests share a machine; training with --threads 1 sets it too
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run_dir(mnist_dir, tmp_path_factory, one_thread) -> Path:
    """A 30-step gia run on real MNIST (about 10 s on one thread): good enough to tell digits apart."""
    out = tmp_path_factory.mktemp("predict") / "run"
    code = main(["train", "--preset", "gia", "--steps", "30", "--sample-interval", "30", "--data-dir", str(mnist_dir),
                 "--out", str(out), "--threads", "1", "--no-progress"])
    assert code == 0 and (out / "checkpoint.pt").is_file()
    return out


@pytest.fixture(scope="module")
def mnist_test(mnist_dir) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The first N_IMAGES MNIST test images, uint8 [N, 28, 28], their labels and the class names."""
    test = MNIST(mnist_dir, train=False, download=False)
    return np.asarray(test.images[:N_IMAGES]), np.asarray(test.targets[:N_IMAGES]), list(test.classes)


@pytest.fixture(scope="module")
def image_folder(mnist_test, tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """The test images as PNG files in class folders, and each file's index in the array."""
    images, labels, classes = mnist_test
    root = tmp_path_factory.mktemp("images")
    index = {}
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        path = root / classes[label] / f"{i:04d}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(image).save(path)
        index[str(path)] = i
    return root, index


def reference_logits(run: Path, images: np.ndarray) -> torch.Tensor:
    """The checkpoint's classifier on uint8 images [N, H, W(, C)], scaled as training scales them."""
    config, _, _, classifier = load_networks(run / "checkpoint.pt")
    with torch.inference_mode():
        return classifier.eval()(scale_pixels(images, config.pixel_range))


@pytest.mark.mnist
def test_predict_classifies_files_exactly_as_the_in_memory_images(run_dir, mnist_test, image_folder, capsys,
                                                                  tmp_path):
    from sgan.predict import predict_files

    images, labels, classes = mnist_test
    root, index = image_folder
    csv_path = tmp_path / "predictions.csv"
    code, out, err = run_cli(capsys, "predict", run_dir, root, "--out", csv_path)
    assert code == 0, err

    lines = out.splitlines()
    assert len(lines) == N_IMAGES
    predicted = np.full(N_IMAGES, -1)
    for line in lines:
        path, name, prob = line.split("\t")
        assert 0.0 < float(prob) <= 1.0 and len(prob.split(".")[1]) == 4
        predicted[index[path]] = classes.index(name)
    assert (predicted >= 0).all()

    config, _, _, classifier = load_networks(run_dir)
    direct = evaluate(classifier, scale_pixels(images, config.pixel_range), torch.from_numpy(labels))
    assert float((predicted == labels).mean()) == direct["accuracy"]  # same pixels, same preprocessing
    np.testing.assert_array_equal(predicted, reference_logits(run_dir, images).argmax(1).numpy())
    assert direct["accuracy"] > 0.3  # a trained classifier, not chance

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["path", "class_1", "prob_1", "error"]
    assert [r["path"] for r in rows] == [line.split("\t")[0] for line in lines]
    assert all(r["error"] == "" and classes.index(r["class_1"]) == predicted[index[r["path"]]] for r in rows)

    code, out, err = run_cli(capsys, "predict", run_dir, root, "--top-k", "3", "--out", csv_path)
    assert code == 0, err
    for line in out.splitlines():
        pairs = [pair.rsplit(":", 1) for pair in line.split("\t")[1:]]
        assert len(pairs) == 3 and all(name in classes for name, _ in pairs)
    with open(csv_path, newline="") as f:
        header = next(csv.reader(f))
    assert header == ["path", "class_1", "prob_1", "class_2", "prob_2", "class_3", "prob_3", "error"]

    rows = predict_files(run_dir, [root], top_k=3)
    assert len(rows) == N_IMAGES
    for row in rows:
        probs = [p for _, p in row["top"]]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
        assert len({name for name, _ in row["top"]}) == 3 and row["class"] == row["top"][0][0]


@pytest.mark.mnist
def test_unreadable_files_are_listed_and_the_rest_classified(run_dir, mnist_test, capsys, tmp_path):
    images, _, _ = mnist_test
    folder = tmp_path / "mixed"
    (folder / "nested").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(images[i]).save(folder / "nested" / f"good{i}.png")
    good = (folder / "nested" / "good0.png").read_bytes()
    (folder / "corrupt.png").write_bytes(good[: len(good) // 2])
    (folder / "notes.txt").write_text("not an image\n")
    (folder / ".DS_Store").write_bytes(b"\0\1hidden")  # hidden: not even listed
    csv_path = tmp_path / "mixed.csv"

    code, out, err = run_cli(capsys, "predict", run_dir, folder, "--out", csv_path)
    assert code == 0, err
    assert len(out.splitlines()) == 3 and all("good" in line for line in out.splitlines())
    assert "corrupt.png" in err and "notes.txt" in err and ".DS_Store" not in err + out
    with open(csv_path, newline="") as f:
        rows = {Path(r["path"]).name: r for r in csv.DictReader(f)}
    assert set(rows) == {"corrupt.png", "notes.txt", "good0.png", "good1.png", "good2.png"}
    assert "not a readable image" in rows["corrupt.png"]["error"] and rows["corrupt.png"]["class_1"] == ""
    assert "not a readable image" in rows["notes.txt"]["error"]
    assert rows["good0.png"]["error"] == "" and rows["good0.png"]["class_1"] != ""

    code, _, err = run_cli(capsys, "predict", run_dir, folder / "corrupt.png", folder / "notes.txt")
    assert_one_line_error(code, err, "none of the 2 files could be classified", "corrupt.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(capsys, "predict", run_dir, empty)
    assert_one_line_error(code, err, "no image files found")


@pytest.mark.mnist
def test_bad_predict_and_export_arguments_get_one_line_errors(run_dir, image_folder, capsys, tmp_path):
    root, _ = image_folder
    code, _, err = run_cli(capsys, "predict", tmp_path / "no-such-run", root)
    assert_one_line_error(code, err, "no such checkpoint file")
    for k in ("0", "11"):
        code, _, err = run_cli(capsys, "predict", run_dir, root, "--top-k", k)
        assert_one_line_error(code, err, "--top-k must be between 1 and 10", f"got {k}")
    code, _, err = run_cli(capsys, "predict", run_dir, root, "--batch-size", "0")
    assert_one_line_error(code, err, "--batch-size must be positive")
    code, _, err = run_cli(capsys, "export", tmp_path / "no-such-run", "--format", "torchscript", "--out",
                           tmp_path / "m.pt")
    assert_one_line_error(code, err, "no such checkpoint file")
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.mnist
def test_predict_names_classes_by_label_for_checkpoints_without_class_names(run_dir, image_folder, tmp_path):
    from sgan.predict import predict_files

    root, _ = image_folder
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    del state["classes"]
    old = tmp_path / "old.pt"
    torch.save(state, old)
    rows = predict_files(old, [root / "7"], top_k=2)
    assert rows and all(row["class"] in [str(k) for k in range(10)] for row in rows)


def export(capsys, run: Path, fmt: str, out: Path) -> Path:
    code, stdout, err = run_cli(capsys, "export", run, "--format", fmt, "--out", out)
    assert code == 0, err
    assert str(out) in stdout and out.is_file()
    return out


def check_metadata(info: dict, run: Path) -> None:
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert info["classes"] == state["classes"] and info["image_shape"] == state["image_shape"]
    assert info["pixel_range"] == state["config"]["pixel_range"] and info["input"] == "uint8 NHWC"
    assert info["step"] == state["step"]


@pytest.mark.mnist
def test_torchscript_export_takes_uint8_nhwc_to_the_checkpoint_logits(run_dir, mnist_test, capsys, tmp_path):
    images, _, _ = mnist_test
    path = export(capsys, run_dir, "torchscript", tmp_path / "classifier.pt")
    extra = {"sgan.json": ""}
    module = torch.jit.load(str(path), _extra_files=extra)
    check_metadata(json.loads(extra["sgan.json"]), run_dir)
    nhwc = images[:, :, :, None]  # [N, 28, 28, 1]
    for n in (1, 7, N_IMAGES):
        logits = module(torch.from_numpy(nhwc[:n]))
        assert logits.dtype == torch.float32 and logits.shape == (n, 10)
        assert (logits - reference_logits(run_dir, images[:n])).abs().max().item() < 1e-4
    again = module(torch.from_numpy(nhwc[:7]))  # dropout off: the same output every call
    assert torch.equal(again, module(torch.from_numpy(nhwc[:7])))


@pytest.mark.mnist
def test_onnx_export_runs_in_onnxruntime_with_any_batch_size(run_dir, mnist_test, capsys, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    images, _, _ = mnist_test
    path = export(capsys, run_dir, "onnx", tmp_path / "classifier.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    check_metadata(json.loads(session.get_modelmeta().custom_metadata_map["sgan.json"]), run_dir)
    (inp,) = session.get_inputs()
    assert inp.name == "images" and inp.type == "tensor(uint8)" and inp.shape[1:] == [28, 28, 1]
    for n in (1, 7):
        (logits,) = session.run(["logits"], {"images": images[:n, :, :, None]})
        assert logits.dtype == np.float32 and logits.shape == (n, 10)
        assert np.abs(logits - reference_logits(run_dir, images[:n]).numpy()).max() < 1e-4


@pytest.mark.mnist
def test_onnx_export_without_onnx_says_how_to_install_it(run_dir, capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails, as where it is not installed
    code, _, err = run_cli(capsys, "export", run_dir, "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert_one_line_error(code, err, "pip install 'sgan[onnx]'")
    assert not (tmp_path / "m.onnx").exists()


def test_rgb_improved_export_and_predict_keep_the_layout_and_turn_the_noise_off(tmp_path, capsys, one_thread):
    """A 3-channel 16x12 run of the `improved` MLP (input and hidden Gaussian noise while training) on
    synthetic images: the export must take [N, 16, 12, 3] uint8 in NHWC order and give the same
    logits on every call, and predict must resize other files to 16x12 and use the class names."""
    from sgan.config import get_config
    from sgan.data import synthetic_split
    from sgan.engine import Trainer

    split = synthetic_split(labels=12, unlabeled=24, test=6, pixel_range="unit", num_classes=3,
                            image_shape=(3, 16, 12))
    split.classes = ["cat", "dog", "eel"]
    config = get_config("improved", labels=12, steps=2, sample_interval=2, out=str(tmp_path / "run"), num_classes=3,
                        labeled_batch_size=6, unlabeled_batch_size=6, fake_batch_size=6, gen_batch_size=6,
                        threads=1)
    Trainer(config, split=split, progress=False).fit()
    run = tmp_path / "run"

    images = np.random.default_rng(0).integers(0, 256, (5, 16, 12, 3), dtype=np.uint8)
    expected = reference_logits(run, images)
    path = export(capsys, run, "torchscript", tmp_path / "rgb.pt")
    extra = {"sgan.json": ""}
    module = torch.jit.load(str(path), _extra_files=extra)
    info = json.loads(extra["sgan.json"])
    assert info["classes"] == ["cat", "dog", "eel"] and info["input_shape"] == ["N", 16, 12, 3]
    assert info["pixel_range"] == "unit" and info["model"] == "improved"
    for _ in range(2):  # noise would change the logits from call to call
        assert (module(torch.from_numpy(images)) - expected).abs().max().item() < 1e-4

    folder = tmp_path / "rgb"
    folder.mkdir()
    Image.fromarray(images[0]).save(folder / "a.png")
    Image.fromarray(images[1]).resize((24, 32)).convert("L").save(folder / "b.png")  # resized, greyscale
    code, out, err = run_cli(capsys, "predict", run, folder, "--top-k", "3")
    assert code == 0, err
    first, second = out.splitlines()
    assert first.startswith(f"{folder / 'a.png'}\t") and second.startswith(f"{folder / 'b.png'}\t")
    probs = torch.softmax(expected[0], 0)
    assert first.split("\t")[1:] == [f"{['cat', 'dog', 'eel'][k]}:{probs[k]:.4f}" for k in probs.argsort(
        descending=True).tolist()]
