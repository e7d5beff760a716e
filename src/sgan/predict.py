"""Classifying image files with a trained run's classifier: the engine of `sgan predict`.

`load_classifier` rebuilds a checkpoint's classifier (the EMA weights where kept) with what its
inputs need: the image shape [C, H, W], the pixel range and the class names. `predict_files`
reads each image exactly as training read image files (`sgan.data.images.read_image`: converted
to C channels, resized to H x W, uint8 [H, W, C] with values 0-255, C=1 for greyscale), scales it
as training did (`sgan.data.split.scale_pixels`) and returns one row per file: the top-k classes
with their softmax probabilities, or the reason the file could not be read. `write_csv` writes
those rows as a CSV file, atomically.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sgan.data.folders import list_files
from sgan.data.images import read_image
from sgan.data.sources import DataError
from sgan.data.split import scale_pixels
from sgan.files import write_text

__all__ = ["LoadedClassifier", "find_images", "format_row", "load_classifier", "predict_files", "write_csv"]


@dataclass
class LoadedClassifier:
    """A checkpoint's classifier in eval mode on the CPU, and what its inputs and outputs mean."""

    classifier: nn.Module
    classes: list[str]  # class names, by label
    image_shape: tuple[int, int, int]  # (C, H, W) of the network's input
    pixel_range: str  # "tanh": uint8 0-255 scaled to [-1, 1]; "unit": to [0, 1]
    model: str  # the networks' family: "gia", "stacked", "improved"
    step: int  # the training step the checkpoint was saved at
    weights: str  # "EMA" where the run kept an exponential moving average, else "trained"
    path: Path  # the checkpoint file

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @torch.inference_mode()
    def logits(self, images: np.ndarray) -> torch.Tensor:
        """Class logits [N, K] float32 for uint8 images [N, H, W, C] (or [N, H, W] greyscale)."""
        self.classifier.eval()
        return self.classifier(scale_pixels(images, self.pixel_range)).float()

    def probabilities(self, images: np.ndarray) -> torch.Tensor:
        """Softmax probabilities [N, K] for uint8 images [N, H, W, C] (or [N, H, W] greyscale)."""
        return torch.softmax(self.logits(images), dim=1)


def load_classifier(checkpoint: str | Path) -> LoadedClassifier:
    """A run's classifier from RUN/checkpoint.pt or a checkpoint file; CheckpointError if unreadable.

    Checkpoints from before class names were saved get the names "0", "1", ... by label.
    """
    from sgan.inference import load_networks

    path = Path(checkpoint)
    path = path / "checkpoint.pt" if path.is_dir() else path
    config, state, _, classifier = load_networks(path)
    classes = [str(name) for name in state.get("classes", ())] or [str(k) for k in range(config.num_classes)]
    c, h, w = (int(n) for n in state.get("image_shape", (1, 28, 28)))
    return LoadedClassifier(classifier=classifier.eval(), classes=classes, image_shape=(c, h, w),
                            pixel_range=config.pixel_range, model=config.model, step=int(state["step"]),
                            weights="EMA" if "ema" in state else "trained", path=path)


def find_images(paths: Iterable[str | Path]) -> list[Path]:
    """The files to classify: each PATH that is a file, and every non-hidden file below each folder
    (recursively, sorted, hidden folders skipped), in the order given. A PATH that does not exist
    is kept, so that it is reported as an error in its place."""
    found: list[Path] = []
    for p in map(Path, paths):
        found += list_files(p) if p.is_dir() else [p]
    return found


def predict_files(checkpoint: str | Path | LoadedClassifier, paths: Iterable[str | Path], top_k: int = 1,
                  batch_size: int = 256) -> list[dict[str, Any]]:
    """Classify the image files in `paths` (files, or folders searched recursively): one row per file.

    A row is {"path": str, "class": the most probable class's name, "probability": its softmax
    probability, "top": [(name, probability), ...] the `top_k` most probable classes in
    descending order, "error": None}; for a file that cannot be read, "class" and "probability"
    are None, "top" is empty and "error" says why. Unreadable files never stop the rest.
    `checkpoint` is a run directory, a checkpoint file, or a `load_classifier` result.
    """
    model = checkpoint if isinstance(checkpoint, LoadedClassifier) else load_classifier(checkpoint)
    if not 1 <= top_k <= model.num_classes:
        raise ValueError(f"--top-k must be between 1 and {model.num_classes} (the checkpoint's number of classes), "
                         f"got {top_k}")
    if batch_size <= 0:
        raise ValueError(f"--batch-size must be positive, got {batch_size}")
    files = find_images(paths)
    rows: list[dict[str, Any]] = []
    for batch in _batches(files, batch_size):
        images, good = [], []
        for path in batch:
            row: dict[str, Any] = {"path": str(path), "class": None, "probability": None, "top": [], "error": None}
            rows.append(row)
            try:
                if not path.exists():
                    raise DataError(f"{path}: no such file or directory")
                image, _ = read_image(path, model.image_shape[0], model.image_shape[1:])
            except DataError as e:
                row["error"] = str(e)
                continue
            images.append(image)
            good.append(row)
        if not images:
            continue
        probs, labels = model.probabilities(np.stack(images)).topk(top_k, dim=1)
        for row, p, k in zip(good, probs.tolist(), labels.tolist(), strict=True):
            row["top"] = [(model.classes[label], prob) for label, prob in zip(k, p, strict=True)]
            row["class"], row["probability"] = row["top"][0]
    return rows


def _batches(items: Sequence[Path], size: int) -> Iterator[Sequence[Path]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def format_row(row: dict[str, Any]) -> str:
    """One classified row as a line: path, then the class and its probability (top 1), or
    name:probability pairs (top k > 1), tab-separated."""
    if len(row["top"]) == 1:
        return f"{row['path']}\t{row['class']}\t{row['probability']:.4f}"
    return "\t".join([row["path"], *(f"{name}:{prob:.4f}" for name, prob in row["top"])])


def write_csv(rows: list[dict[str, Any]], path: str | Path, top_k: int) -> Path:
    """The rows as CSV, atomically: path, class_1, prob_1, ..., class_K, prob_K, error (empty for
    a classified file; the class and probability cells are empty for an unreadable one)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", *(f"{what}_{i}" for i in range(1, top_k + 1) for what in ("class", "prob")), "error"])
    for row in rows:
        cells = [c for name, prob in row["top"] for c in (name, f"{prob:.6f}")]
        writer.writerow([row["path"], *cells, *[""] * (2 * top_k - len(cells)), row["error"] or ""])
    return write_text(path, buffer.getvalue())
