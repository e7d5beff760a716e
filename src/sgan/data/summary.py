"""A dataset's facts and an example grid, to check it against its published figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sgan.data.idx import load
from sgan.data.sources import DATASETS, find_dataset
from sgan.files import save_figure


def data_summary(
    dataset: str = "mnist",
    data_dir: str | Path | None = None,
    out_png: str | Path | None = None,
    per_class: int = 10,
    download: bool = True,
    verify: bool = True,
) -> dict:
    """Facts to check a dataset against its published figures before training on it."""
    root = find_dataset(dataset, data_dir, download)
    train = load(dataset, root, True, verify)
    test = load(dataset, root, False, verify)
    k = len(train.classes)
    # Exact mean and std from the pixel histogram, without a float copy of 47M pixels.
    counts = np.bincount(train.images.ravel(), minlength=256).astype(np.float64)
    values = np.arange(256) / 255.0
    mean = float(counts @ values / counts.sum())
    std = float(math.sqrt(max(counts @ values**2 / counts.sum() - mean**2, 0.0)))
    summary = {
        "dataset": dataset,
        "source": str(root),
        "train_size": len(train),
        "test_size": len(test),
        "image_shape": list(train.images.shape[1:]),
        "train_class_counts": np.bincount(train.targets, minlength=k).tolist(),
        "test_class_counts": np.bincount(test.targets, minlength=k).tolist(),
        "pixel_mean": mean,
        "pixel_std": std,
    }
    if out_png is not None:
        summary["grid"] = str(_write_grid(train, Path(out_png), per_class))
    return summary


def _write_grid(ds: object, out_png: Path, per_class: int) -> Path:
    # The object API with an explicit Agg canvas: no pyplot, no global backend switch.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k, (h, w), gap = len(ds.classes), ds.images.shape[1:3], 2
    colour = ds.images.ndim == 4
    # greyscale: 0 is white under gray_r; colour: a white background
    grid = np.full((k * (h + gap) - gap, per_class * (w + gap) - gap, *ds.images.shape[3:]), 255 if colour else 0,
                   dtype=np.uint8)
    for c in range(k):
        y = c * (h + gap)
        for j, i in enumerate(np.flatnonzero(ds.targets == c)[:per_class]):
            x = j * (w + gap)
            grid[y : y + h, x : x + w] = ds.images[i]
    fig = Figure(figsize=(max(per_class * 0.45, 2.0) + 1.2, k * 0.45 + 0.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(grid, interpolation="nearest", **({} if colour else {"cmap": "gray_r"}))
    ax.set_yticks([c * (h + gap) + h / 2 for c in range(k)], ds.classes)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(f"{ds.name}: first {per_class} training images per class", fontsize=9)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out_png, dpi=100)
    return out_png


def format_summary(summary: dict) -> str:
    """The summary as a terminal table, figures placed where they can be compared by eye."""
    classes = DATASETS.get(summary["dataset"], {}).get("classes") or [
        str(c) for c in range(len(summary["train_class_counts"]))
    ]
    width = max(len("class"), *(len(c) for c in classes))
    h, w = summary["image_shape"][:2]
    lines = [
        f"dataset     {summary['dataset']}",
        f"source      {summary['source']}",
        f"images      {summary['train_size']} train, {summary['test_size']} test, {h}x{w}",
        f"pixels      mean {summary['pixel_mean']:.4f}, std {summary['pixel_std']:.4f} "
        "(train, [0, 1] scale)",
        "",
        f"{'class':<{width}}  {'train':>6}  {'test':>6}",
    ]
    for name, a, b in zip(
        classes, summary["train_class_counts"], summary["test_class_counts"], strict=True
    ):
        lines.append(f"{name:<{width}}  {a:>6}  {b:>6}")
    if "grid" in summary:
        lines += ["", f"grid        {summary['grid']}"]
    return "\n".join(lines)
