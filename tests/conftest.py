"""Shared fixtures: the real MNIST files beside the checkout, and tiny IDX datasets made on the fly."""

from __future__ import annotations

import gzip
import importlib.util
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def write_idx(path: Path, array: np.ndarray, gz: bool = False, magic: int | None = None) -> Path:
    """Write a uint8 array as an IDX file (the format's header: magic, then big-endian dims)."""
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else 0x0800 | array.ndim
    data = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path = Path(path)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def make_tiny_dataset(root: Path, n_train: int = 200, n_test: int = 50, gz: bool = True) -> Path:
    """A fake four-file dataset: balanced labels, images whose pixels encode their label."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
        images[:, 0, 0] = labels * 20  # recoverable, so tests can see which example went where
        write_idx(root / f"{prefix}-images-idx3-ubyte", images, gz=gz)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", labels, gz=gz)
    return root


@pytest.fixture(name="write_idx")
def write_idx_fixture():
    """`write_idx` as a fixture, for test files that would rather not import from conftest."""
    return write_idx


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Where the real MNIST files are: SGAN_DATA_DIR, else ../shared/datasets beside the repo."""
    # absolute: some tests change directory (a relative SGAN_DATA_DIR would then point elsewhere)
    candidates = [Path(os.environ["SGAN_DATA_DIR"]).resolve()] if os.environ.get("SGAN_DATA_DIR") else []
    candidates.append(REPO.parent / "shared" / "datasets")
    for place in candidates:
        for d in (place, place / "mnist"):
            if all((d / f).is_file() or (d / f"{f}.gz").is_file() for f in FILES):
                return d
    pytest.skip("real MNIST files not found (set SGAN_DATA_DIR)")


@pytest.fixture
def tiny_mnist_dir(tmp_path: Path) -> Path:
    """200 train / 50 test gzipped images, 20 / 5 per class. Its checksums are not MNIST's: load it with
    verify=False (MNIST, make_split, data_summary)."""
    return make_tiny_dataset(tmp_path / "tiny")


@pytest.fixture
def load_benchmark():
    """Import a script of benchmarks/ (not a package) by name, e.g. load_benchmark("speed")."""

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def sigterm_at_step(monkeypatch):
    """`sigterm_at_step(trainer, n)`: the process gets SIGTERM as the trainer begins step n (0-based),
    as a user's `kill` mid-run; the trainer finishes that step, saves and stops."""
    import signal

    def arm(trainer, n: int) -> None:
        original = trainer.step

        def step(batch=None):
            if trainer.step_count == n:
                os.kill(os.getpid(), signal.SIGTERM)
            return original(batch)

        monkeypatch.setattr(trainer, "step", step)

    return arm
