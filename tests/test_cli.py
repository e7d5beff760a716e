"""The command line as a user runs it: a short real-MNIST workflow, and bad input refused with
one clear line and a non-zero exit."""

import json
import subprocess
import sys

import pytest
import torch


def sgan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sgan.cli", *args], capture_output=True, text=True, timeout=600)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sgan: error:"), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.mnist
def test_train_evaluate_sample_resume_workflow(mnist_dir, tmp_path):
    run = tmp_path / "run"
    proc = sgan("train", "--preset", "gia", "--steps", "30", "--sample-interval", "15", "--batch-size", "16",
                "--data-dir", str(mnist_dir), "--out", str(run), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy" in proc.stdout
    for name in ("config.json", "report.json", "history.csv", "samples.png", "curves.png", "confusion.png",
                 "checkpoint.pt", "report.md"):
        assert (run / name).is_file(), name
    report = json.loads((run / "report.json").read_text())
    config = json.loads((run / "config.json").read_text())
    assert report["steps"] == 30 and config["gen_batch_size"] == 16 and report["labels"] == 100
    assert len((run / "history.csv").read_text().splitlines()) == 3  # header + 2 intervals

    proc = sgan("evaluate", str(run / "checkpoint.pt"), "--data-dir", str(mnist_dir))
    assert proc.returncode == 0, proc.stderr
    assert f"{100 * report['test_accuracy']:.2f}%" in proc.stdout

    proc = sgan("sample", str(run / "checkpoint.pt"), "--n", "100", "--out", str(tmp_path / "grid.png"))
    assert proc.returncode == 0 and (tmp_path / "grid.png").stat().st_size > 1000

    proc = sgan("train", "--preset", "gia", "--steps", "30", "--data-dir", str(mnist_dir), "--out", str(run))
    assert_one_line_error(proc, "already holds a run", "--resume")

    proc = sgan("train", "--resume", str(run), "--steps", "40", "--threads", "1", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    resumed = json.loads((run / "report.json").read_text())
    assert resumed["steps"] == 40 and resumed["machine"]["torch_threads"] == 1

    proc = sgan("train", "--config", str(run / "config.json"), "--out", str(tmp_path / "rerun"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rerun = json.loads((tmp_path / "rerun" / "report.json").read_text())
    assert rerun["steps"] == 40 and rerun["labeled_indices_sha256"] == report["labeled_indices_sha256"]


@pytest.mark.mnist
def test_compare_prints_both_methods(mnist_dir, tmp_path):
    proc = sgan("compare", "--preset", "gia", "--steps", "10", "--sample-interval", "10", "--data-dir",
                str(mnist_dir), "--out", str(tmp_path / "cmp"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "| sgan | 100 | 10 |" in proc.stdout and "| supervised | 100 | 10 |" in proc.stdout
    assert (tmp_path / "cmp" / "compare.md").is_file()
    baseline = json.loads((tmp_path / "cmp" / "supervised" / "report.json").read_text())
    assert baseline["method"] == "supervised"
    assert not (tmp_path / "cmp" / "supervised" / "samples.png").exists()


def test_summary_prints_layers():
    proc = sgan("train", "--preset", "gia", "--summary")
    assert proc.returncode == 0
    assert "Generator (gia)" in proc.stdout and "total parameters: 113,546" in proc.stdout


@pytest.mark.parametrize("args, fragments", [
    (["train", "--steps", "0"], ["steps must be positive"]),
    (["train", "--batch-size", "-4"], ["batch size must be positive"]),
    (["evaluate", "missing.pt"], ["missing.pt", "no such checkpoint"]),
    (["sample", "missing.pt"], ["no such checkpoint"]),
    (["train", "--resume", "no/such/run"], ["no such checkpoint"]),
    (["train", "--resume", "run", "--labels", "50", "--precision", "bf16"], ["--labels", "cannot change it"]),
    (["train", "--resume", "run", "--preset", "gia"], ["--preset cannot change"]),
    (["sweep", "--presets", "nope", "--out", "x"], ["unknown preset 'nope'"]),
    (["sweep", "--labels", "ten", "--out", "x"], ["--labels must be comma-separated"]),
])
def test_bad_arguments_get_one_line_errors(args, fragments, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sgan.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert_one_line_error(proc, *fragments)


@pytest.mark.mnist
@pytest.mark.parametrize("preset, labels, fragment", [
    ("stacked", "7", "multiple of 10"),
    ("gia", "0", "must be positive"),
    ("stacked", "60000", "class"),
])
def test_impossible_label_requests_are_refused(mnist_dir, preset, labels, fragment, tmp_path):
    proc = sgan("train", "--preset", preset, "--labels", labels, "--data-dir", str(mnist_dir),
                "--out", str(tmp_path / "r"))
    assert_one_line_error(proc, fragment)


def test_corrupt_checkpoint_is_refused(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"\x00garbage")
    assert_one_line_error(sgan("evaluate", str(bad)), "not a readable checkpoint")
    torch.save({"format": "something-else"}, bad)
    assert_one_line_error(sgan("evaluate", str(bad)), "not an sgan checkpoint")


def test_missing_dataset_names_places_searched(tmp_path):
    # a proxy on a closed local port makes the download fail at once, with or without a network
    dead = "http://127.0.0.1:9"
    env = {"SGAN_DATA_DIR": str(tmp_path / "empty"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "http_proxy": dead, "https_proxy": dead}
    proc = subprocess.run([sys.executable, "-m", "sgan.cli", "data", "--dataset", "mnist",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env, timeout=120)
    assert_one_line_error(proc, "empty", "cache", "SGAN_DATA_DIR", "download failed")
    # an explicit --data-dir is where the data must be: no fallback to SGAN_DATA_DIR or a download
    proc = subprocess.run([sys.executable, "-m", "sgan.cli", "data", "--dataset", "mnist", "--out", str(tmp_path / "o"),
                           "--data-dir", str(tmp_path / "nowhere")], capture_output=True, text=True,
                          env={**env, "SGAN_DATA_DIR": "/work/shared/datasets"}, timeout=120)
    assert_one_line_error(proc, "mnist not found in --data-dir", "nowhere")


def test_precision_and_memory_format_options_reach_the_config():
    """gia defaults to a bf16 generator and a float32 classifier, with the memory layout chosen
    by the device (channels-last on a CPU); float32, bf16 and the book's NCHW layout are options."""
    from sgan.cli import build_parser, config_from_args

    def config(*flags):
        return config_from_args(build_parser().parse_args(["train", "--preset", "gia", *flags]))

    default = config()
    assert (default.precision, default.channels_last, default.compile) == ("bf16-generator", None, False)
    book = config("--no-channels-last", "--precision", "fp32")
    assert (book.precision, book.channels_last) == ("fp32", False)
    assert config("--precision", "bf16").precision == "bf16"
    assert config("--precision", "bf16-generator").precision == "bf16-generator"
    assert config("--compile").compile is True
    stacked = config_from_args(build_parser().parse_args(["train", "--preset", "stacked"]))
    assert (stacked.precision, stacked.channels_last) == ("bf16-generator", None)
    assert config("--channels-last").channels_last is True


def test_label_seed_reaches_the_config_apart_from_the_seed():
    from sgan.cli import build_parser, config_from_args

    def config(*flags):
        return config_from_args(build_parser().parse_args(["train", "--preset", "improved", *flags]))

    both = config("--seed", "13", "--label-seed", "3")
    assert (both.seed, both.label_seed) == (13, 3)
    assert config("--seed", "13").label_seed is None  # the labeled subset follows --seed
