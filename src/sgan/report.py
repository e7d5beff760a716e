"""What a run leaves for its reader: pictures, JSON, CSV and a Markdown page tying them together."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from sgan.files import save_figure, write_bytes, write_text  # noqa: E402


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def to_unit(images: torch.Tensor, pixel_range: str) -> np.ndarray:
    """Images [N, C, H, W] in the model's pixel range as floats in [0, 1] for display: [N, H, W]
    for greyscale, [N, H, W, C] for colour."""
    x = images.detach().float().cpu().numpy()
    x = x[:, 0] if x.shape[1] == 1 else x.transpose(0, 2, 3, 1)
    if pixel_range == "tanh":
        x = (x + 1.0) / 2.0
    return np.clip(x, 0.0, 1.0)


def save_grid(images: torch.Tensor, path: str | Path, pixel_range: str, nrow: int = 10) -> Path:
    """A grid of images: greyscale ink dark on white as the tutorials plot them (cmap gray_r),
    colour as it is, on black."""
    x = to_unit(images, pixel_range)
    n, h, w = x.shape[:3]
    ncol = nrow
    rows = -(-n // ncol)
    grid = np.zeros((rows * (h + 2) + 2, ncol * (w + 2) + 2, *x.shape[3:]), dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, ncol)
        grid[2 + r * (h + 2) : 2 + r * (h + 2) + h, 2 + c * (w + 2) : 2 + c * (w + 2) + w] = x[i]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    if grid.ndim == 3:
        plt.imsave(buffer, grid, format="png")
    else:
        plt.imsave(buffer, grid, cmap="gray_r", vmin=0.0, vmax=1.0, format="png")
    write_bytes(path, buffer.getbuffer())
    return path


def plot_curves(history: list[dict[str, float]], path: Path, title: str = "") -> None:
    """Losses (left) and accuracies (right) against training step."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    steps = [row["step"] for row in history]
    for key in [k for k in history[0] if k.endswith("_loss")] if history else []:
        ax_loss.plot(steps, [row.get(key, np.nan) for row in history], label=key.removesuffix("_loss"))
    ax_loss.set(xlabel="step", ylabel="loss (mean over interval)", title="losses")
    ax_loss.legend()
    for key, label in (("test_accuracy", "test"), ("labeled_batch_acc", "labeled batches")):
        if history and key in history[0] and history[0][key] is not None:
            ax_acc.plot(steps, [100 * row[key] for row in history], marker=".", label=label)
    ax_acc.set(xlabel="step", ylabel="accuracy (%)", title="accuracy")
    ax_acc.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)


def plot_confusion(confusion: list[list[int]], path: Path, title: str = "", classes: list[str] | None = None) -> None:
    c = np.asarray(confusion)
    side = max(6.0, 0.45 * c.shape[0] + 2)
    fig, ax = plt.subplots(figsize=(side, side * 0.92))
    ax.imshow(np.log1p(c), cmap="Blues")
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            ax.text(j, i, str(c[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if i == j else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title or "test confusion matrix",
           xticks=range(c.shape[1]), yticks=range(c.shape[0]))
    if classes and any(name != str(k) for k, name in enumerate(classes)):
        ax.set_xticklabels(classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticklabels(classes, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)


def write_run_report(run_dir: Path, result: dict[str, Any], history: list[dict[str, float]]) -> None:
    """report.json, curves.png, confusion.png and report.md, which shows them together; also for
    a run stopped before its end (`result["stopped"]`), so that what it learned is on record."""
    write_json(run_dir / "report.json", result)
    title = f"{result['preset']} {result['method']}, {result['labels']} labels, seed {result['seed']}"
    classes = result.get("classes") or [str(k) for k in range(len(result["per_class_accuracy"]))]
    has_test = result["test_accuracy"] is not None
    if history:
        plot_curves(history, run_dir / "curves.png", title)
    if has_test:
        plot_confusion(result["confusion"], run_dir / "confusion.png", classes=classes)
    lines = [f"# {title}", ""]
    if result.get("stopped"):
        lines += [f"**Stopped at step {result['steps']} of {result['planned_steps']}** ({result['stopped']}); "
                  f"these are that step's figures. Resume with `sgan train --resume {result['run_dir']}`.", ""]
    if has_test:
        lines.append(f"- test accuracy: **{100 * result['test_accuracy']:.2f}%** ({result['test_errors']} errors in "
                     f"{result['test_size']}; evaluated with {result['evaluated_with']})")
    else:
        lines.append("- test accuracy: none: the data has no test images (a `test/<class>/` folder or x_test), so "
                     "there is no held-out accuracy")
    lines += [
        f"- accuracy on the labeled training examples: {100 * result['labeled_train_accuracy']:.2f}%",
        f"- steps: {result['steps']}, wall time: {result['wall_seconds']:.1f} s "
        f"({1000 * result['seconds_per_step']:.1f} ms/step) on {result['machine']['cpu']}, "
        f"torch {result['torch_version']}",
        f"- labeled set: {result['labels']} examples, per class {result['labeled_class_counts']}, "
        f"sha256 `{result['labeled_indices_sha256'][:16]}…`; unlabeled pool {result['unlabeled_pool']}",
        f"- data: {result.get('data') or result['dataset']} ({'x'.join(str(v) for v in result['image_shape'])})",
        *(f"- note: {n}" for n in result.get("data_notes", [])),
        "",
    ]
    if has_test:
        per_class = " | ".join("n/a (no test images)" if a is None else f"{100 * a:.1f}"
                               for a in result["per_class_accuracy"])
        lines += ["| class | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|",
                  f"| test accuracy (%) | {per_class} |", ""]
    if result.get("warnings"):
        lines += ["## Warnings", "", *(f"- {w}" for w in result["warnings"]), ""]
    if (run_dir / "samples.png").exists():
        lines += ["## Generated samples", "", "![samples](samples.png)", ""]
    if history:
        lines += ["## Training curves", "", "![curves](curves.png)", ""]
    if has_test:
        lines += ["## Confusion matrix (test)", "", "![confusion](confusion.png)", ""]
    files = [f"`{name}`" for name in ("history.csv", "checkpoint.pt") if (run_dir / name).exists()]
    lines += ["Files: `config.json` (rerun with `sgan train --config config.json --out NEW_DIR`), "
              + ", ".join([*files, "`report.json`"]) + ".", ""]
    write_text(run_dir / "report.md", "\n".join(lines))
