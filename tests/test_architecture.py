"""The package's design as a user relies on it: networks for any image shape, algorithms from a
registry, devices chosen and refused clearly, checkpoints that move between devices and versions."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import sgan
from sgan.algorithms import ALGORITHMS, algorithm_class
from sgan.checkpoint import CheckpointError, load_checkpoint
from sgan.config import CHOICES, get_config
from sgan.data import DATASETS, scale_pixels, synthetic_split
from sgan.devices import DeviceError, resolve_device
from sgan.engine import Trainer, resume
from sgan.inference import load_networks
from sgan.models import NETWORKS, build_discriminator, build_generator

SHAPES = [(1, 28, 28), (1, 32, 32), (3, 32, 32)]


def small(preset: str, out, **kw):
    batch = dict(labeled_batch_size=8, unlabeled_batch_size=8, fake_batch_size=8, gen_batch_size=8,
                 baseline_batch_size=8)
    return get_config(preset, out=str(out), steps=2, sample_interval=1, precision="fp32", **{**batch, **kw})


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("model", list(NETWORKS))
def test_networks_build_for_each_image_shape(model, shape):
    g, d = build_generator(model, shape, z_dim=16), build_discriminator(model, shape, num_classes=7)
    images = g(torch.randn(4, 16))
    assert images.shape == (4, *shape)
    assert d(images).shape == (4, 7)
    features, logits = d.features_and_logits(images)
    assert features.shape[0] == 4 and logits.shape == (4, 7)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("preset", ["gia", "stacked", "improved", "improved-fast"])
def test_every_preset_takes_a_training_step_at_each_shape(preset, shape, tmp_path):
    config = small(preset, tmp_path)
    split = synthetic_split(20, 32, 10, config.pixel_range, image_shape=shape)
    trainer = Trainer(config, split=split, progress=False)
    stats = trainer.step()
    terms = {"consistency"} if config.consistency_weight else set()  # the preset's own extra term
    assert set(stats) == {"d_sup", "d_unsup", "g", "acc"} | terms and all(np.isfinite(v) for v in stats.values())
    assert trainer.generated(trainer.sample_z[:4]).shape == (4, *shape)


def test_conv_networks_refuse_sizes_they_cannot_double_back_to():
    with pytest.raises(ValueError, match="gia networks need a height and width divisible by 4"):
        build_generator("gia", (1, 30, 30))


def test_registries_are_where_the_choices_come_from():
    assert CHOICES["dataset"] == tuple(DATASETS)
    assert CHOICES["model"] == tuple(NETWORKS)
    assert set(CHOICES["algorithm"]) | {"supervised"} == set(ALGORITHMS)
    for name in ALGORITHMS:
        cls = algorithm_class(name)
        assert cls.name == name and cls.batches[0] == "labeled"
        assert set(cls.batches) <= {"labeled", "unlabeled", "matching"}
    from sgan.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    dataset = next(a for a in train._actions if a.dest == "dataset")
    assert tuple(dataset.choices) == tuple(DATASETS)


def test_the_split_carries_image_shape_and_class_names(tiny_mnist_dir):
    from sgan.data import make_split

    split = make_split(data_dir=tiny_mnist_dir, labels=10, verify=False)
    assert split.image_shape == (1, 28, 28) and split.classes == [str(c) for c in range(10)]
    rgb = scale_pixels(np.full((2, 4, 6, 3), 255, dtype=np.uint8))
    assert rgb.shape == (2, 3, 4, 6) and float(rgb.min()) == 1.0


def test_device_selection_and_its_errors(monkeypatch):
    assert resolve_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(DeviceError, match=r"^--device cuda: no CUDA device is available here .* use --device cpu"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda, cuda:N or mps"):
        get_config("gia", device="gpu").validate()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cli_refuses_a_missing_device_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sgan.cli", "train", "--device", "cuda", "--steps", "1",
                           "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "no CUDA device is available" in proc.stderr


def test_a_checkpoint_records_its_device_and_loads_anywhere(tmp_path, monkeypatch):
    split = synthetic_split(20, 32, 10)
    monkeypatch.setattr("sgan.engine.make_split", lambda **kw: split)
    Trainer(small("gia", tmp_path / "run"), split=split, progress=False).fit()
    state = load_checkpoint(tmp_path / "run")
    assert state["device"] == "cpu" and set(state["rng"]) == {"cpu"} and state["image_shape"] == [1, 28, 28]
    assert state["sgan_version"] == sgan.__version__
    # everything in it is on the CPU, so a machine without the training device can read it
    assert all(t.device.type == "cpu" for t in state["discriminator"].values())
    _, _, generator, classifier = load_networks(tmp_path / "run")
    assert classifier(split.test_images).shape == (10, 10) and generator is not None
    assert resume(tmp_path / "run", steps=3, device="cpu", progress=False)["device"] == "cpu"


def as_written_by_0_1(path):
    """Rewrite a checkpoint in sgan 0.1's layout: format 1, the algorithm as two flags, the CPU's
    random state alone, no device or image shape."""
    state = torch.load(path, weights_only=True)
    config = state["config"]
    algorithm = config.pop("algorithm")
    config.pop("device")
    config["d_update"], config["g_loss"] = (("joint", "feature_matching") if algorithm == "feature-matching"
                                            else ("separate", "bce"))
    state.update(format="sgan-checkpoint-1", rng=state["rng"]["cpu"])
    for key in ("device", "image_shape", "sgan_version"):
        state.pop(key)
    torch.save(state, path)


def test_checkpoints_of_the_previous_version_load_and_resume(tmp_path, monkeypatch):
    split = synthetic_split(20, 32, 10, "unit")
    monkeypatch.setattr("sgan.engine.make_split", lambda **kw: split)
    Trainer(small("improved", tmp_path / "run"), split=split, progress=False).fit()
    as_written_by_0_1(tmp_path / "run" / "checkpoint.pt")
    config, state, _, _ = load_networks(tmp_path / "run")
    assert config.algorithm == "feature-matching" and state["format"] == "sgan-checkpoint-1"
    assert resume(tmp_path / "run", steps=3, progress=False)["steps"] == 3


def test_checkpoints_of_another_version_are_refused_in_one_line(tmp_path):
    state = {"format": "sgan-checkpoint-9", "sgan_version": "9.0", "config": {}, "discriminator": {}, "step": 0}
    torch.save(state, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match=r"written by sgan 9.0 in sgan-checkpoint-9, which sgan 0.2.0 cannot"):
        load_checkpoint(tmp_path / "future.pt")
    old = {"d_update": "joint", "g_loss": "bce"}
    from sgan.config import config_from_dict

    with pytest.raises(ValueError, match="written by sgan 0.1 with d_update='joint' and g_loss='bce'"):
        config_from_dict(old)


def test_the_ema_works_on_a_preset_with_batchnorm(tmp_path):
    """gia's BatchNorm counts batches in an integer buffer, which the EMA copies, not averages."""
    config = small("gia", tmp_path, ema_decay=0.999)
    result = Trainer(config, split=synthetic_split(20, 32, 10), progress=False).fit()
    assert result["evaluated_with"] == "ema"
    state = load_checkpoint(tmp_path)
    assert int(state["ema"]["module.body.3.num_batches_tracked"]) == 6  # 3 discriminator passes a step


def test_report_names_algorithm_device_shape_and_classes(tmp_path):
    result = sgan.train(small("stacked", tmp_path), progress=False, split=synthetic_split(20, 32, 10))
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["algorithm"] == "keras-sgan" and saved["device"] == "cpu"
    assert saved["image_shape"] == [1, 28, 28] and saved["classes"][:2] == ["0", "1"]
    assert result["test_size"] == 10


def test_a_run_resumed_in_another_memory_layout_trains_on_as_it_would_have(tmp_path):
    """A run saved in NCHW (as on a GPU) and resumed channels-last (as on a CPU): Adam's moments
    follow their weights into the new layout."""
    split = synthetic_split(20, 32, 10)
    nchw = Trainer(small("stacked", tmp_path / "a", channels_last=False), split=split, progress=False)
    for _ in range(2):
        nchw.step()
    buffer = io.BytesIO()  # through a checkpoint's bytes: nothing shared with the running trainer
    torch.save(nchw.state_dict(), buffer)
    buffer.seek(0)
    moved = Trainer(small("stacked", tmp_path / "b", channels_last=True), split=split, progress=False)
    moved.load_state_dict(torch.load(buffer, weights_only=True), tmp_path / "a")
    rng = torch.get_rng_state()  # one process: both draw the next step's noise from the same state
    nchw.step()
    torch.set_rng_state(rng)
    moved.step()
    lr = nchw.config.lr
    for (k, a), b in zip(nchw.discriminator.state_dict().items(), moved.discriminator.state_dict().values(),
                         strict=True):
        assert float((a - b).abs().max()) < lr / 4, k  # rounding moves a fraction of a step, a mix-up whole ones


def test_options_an_algorithm_does_not_have_are_refused():
    with pytest.raises(ValueError, match="fake_mode='eval' is an option the feature-matching algorithm does not"):
        get_config("improved", fake_mode="eval")
    with pytest.raises(ValueError, match="unlabeled_weight=0.5 is an option the keras-sgan algorithm does not"):
        get_config("gia", unlabeled_weight=0.5)


def test_random_states_of_other_devices_are_kept(tmp_path):
    from sgan.devices import set_rng_state

    others = set_rng_state({"cpu": torch.get_rng_state(), "cuda": torch.zeros(16, dtype=torch.uint8)},
                           torch.device("cpu"))
    assert set(others) == {"cuda"}
    split = synthetic_split(20, 32, 10)
    t = Trainer(small("gia", tmp_path), split=split, progress=False)
    t.other_rng = others
    assert set(t.state_dict()["rng"]) == {"cpu", "cuda"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_sweep_on_a_missing_device_is_one_line_before_any_run(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sgan.cli", "sweep", "--device", "cuda", "--steps", "1",
                           "--out", str(tmp_path / "sweep")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "no CUDA device" in proc.stderr
    assert not (tmp_path / "sweep").exists()
