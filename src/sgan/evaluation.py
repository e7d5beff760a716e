"""Classifying images with a trained classifier: predictions, accuracy, confusion matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class predictions in inference mode (BatchNorm moving averages, no dropout or noise).

    Batches of 256 keep a convolutional network's activations in cache on a CPU
    (benchmarks/results/microbench.md); the images stay on whatever device they are on.
    """
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(images[i : i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, num_classes: int = 10) -> dict[str, Any]:
    """Accuracy, error count, per-class accuracy and confusion matrix (rows: true class); with no
    images (own data without a test set) accuracy and errors are None."""
    if not len(images):
        return {"accuracy": None, "errors": None, "per_class_accuracy": [],
                "confusion": np.zeros((num_classes, num_classes), dtype=np.int64).tolist()}
    pred = predict(model, images).cpu().numpy()
    true = targets.cpu().numpy()
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (true, pred), 1)
    counts = confusion.sum(1)
    # None for a class without test images: no accuracy to report, rather than 0%
    per_class = [round(float(d / n), 6) if n else None for d, n in zip(confusion.diagonal(), counts, strict=True)]
    return {
        "accuracy": float((pred == true).mean()),
        "errors": int((pred != true).sum()),
        "per_class_accuracy": per_class,
        "confusion": confusion.tolist(),
    }
