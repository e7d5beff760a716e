"""A Keras-style summary of a preset's networks: layers, output shapes, parameter counts."""

from __future__ import annotations

import torch
from torch import nn

from sgan.config import Config
from sgan.data.sources import description
from sgan.models import build_discriminator, build_generator


def layer_table(model: nn.Module, example: torch.Tensor, title: str) -> str:
    rows: list[tuple[str, str, str, int]] = []
    hooks = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue  # leaves only: containers would repeat their children's parameters

        def hook(m: nn.Module, inputs: tuple, output: torch.Tensor, name: str = name) -> None:
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else "?"
            rows.append((name, type(m).__name__, str(shape), sum(p.numel() for p in m.parameters(recurse=False))))

        hooks.append(module.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        model(example)
    for h in hooks:
        h.remove()
    total = sum(p.numel() for p in model.parameters())
    width = max(len(r[0]) + len(r[1]) + 3 for r in rows)
    lines = [title, f"{'layer (type)':<{width}} {'output shape':<22} {'params':>10}", "-" * (width + 34)]
    lines += [f"{f'{n} ({t})':<{width}} {s:<22} {p:>10,}" for n, t, s, p in rows]
    lines += ["-" * (width + 34), f"total parameters: {total:,}", ""]
    return "\n".join(lines)


def summarize(config: Config) -> str:
    """Both networks as they are built for the config's dataset."""
    if config.data is not None:  # own images: their shape and classes, as the run will see them
        from sgan.engine import run_split

        split = run_split(config, progress=False)
        shape, num_classes = split.image_shape, split.num_classes
    else:
        shape, num_classes = tuple(description(config.dataset)["image_shape"]), config.num_classes
    g = build_generator(config.model, shape, config.z_dim)
    d = build_discriminator(config.model, shape, num_classes)
    z = torch.zeros(2, config.z_dim)
    x = torch.zeros(2, *shape)
    return "\n".join([
        layer_table(g, z, f"Generator ({config.preset}), input z: {tuple(z.shape)}"),
        layer_table(d, x, f"Discriminator ({config.preset}), input: {tuple(x.shape)}, "
                          f"outputs {num_classes} logits"),
    ])
