"""Using a trained run: rebuild its networks from a checkpoint, classify, generate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgan.checkpoint import CheckpointError, checkpoint_config, load_checkpoint, load_state
from sgan.config import Config
from sgan.models import build_discriminator, build_generator


def load_networks(path: str | Path) -> tuple[Config, dict[str, Any], nn.Module | None, nn.Module]:
    """(config, checkpoint, generator or None, classifier) on the CPU, whatever device trained
    them; the classifier is the EMA where kept."""
    path = Path(path)
    state = load_checkpoint(path)
    config = checkpoint_config(state, path)
    shape = tuple(state.get("image_shape", (1, 28, 28)))  # sgan 0.1 trained 28x28 greyscale only
    classifier = build_discriminator(config.model, shape, len(state.get("classes", ())) or config.num_classes)
    if "ema" in state:  # AveragedModel keeps the averaged network under `module.`
        weights = {k.removeprefix("module."): v for k, v in state["ema"].items() if k.startswith("module.")}
        load_state(classifier, weights, "EMA discriminator", path)
    else:
        load_state(classifier, state["discriminator"], "discriminator", path)
    generator = None
    if "generator" in state:
        generator = build_generator(config.model, shape, config.z_dim)
        load_state(generator, state["generator"], "generator", path)
    return config, state, generator, classifier.eval()


def evaluate_checkpoint(path: str | Path, data_dir: str | None = None) -> dict[str, Any]:
    """The checkpoint's classifier on its run's test set (a named dataset's, or the own data's test images)."""
    from sgan.config import on_this_machine
    from sgan.engine import run_split
    from sgan.evaluation import evaluate

    config, state, _, classifier = load_networks(path)
    config = on_this_machine(config, data_dir=data_dir)  # where it trained, if this machine has that folder
    split = run_split(config, progress=False)
    if not len(split.test_images):
        raise CheckpointError(f"{path}: its data ({config.data}) has no test images to evaluate on")
    result = evaluate(classifier, split.test_images, split.test_targets, split.num_classes)
    return {**result, "size": len(split.test_targets), "step": int(state["step"]), "classes": split.classes,
            "evaluated_with": "EMA weights" if "ema" in state else "weights"}


@torch.inference_mode()
def sample_checkpoint(path: str | Path, n: int = 100, out: str | Path = "samples.png", seed: int = 0) -> Path:
    from sgan.report import save_grid

    if n <= 0:
        raise ValueError(f"--n must be positive, got {n}")
    config, _, generator, _ = load_networks(path)
    if generator is None:
        raise CheckpointError(f"{path}: a supervised-baseline checkpoint has no generator to sample from")
    z_gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, config.z_dim, generator=z_gen) if config.z_dist == "normal" else torch.rand(
        n, config.z_dim, generator=z_gen)
    return save_grid(generator.eval()(z), out, config.pixel_range, nrow=10)
