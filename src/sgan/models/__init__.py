"""Generator and discriminator networks, built from (image shape, number of classes, z size).

Every discriminator returns K logits from `forward(x)` and (features, logits) from
`features_and_logits(x)`; a network that needs data-dependent initialisation has
`initialize(batch)`, which the training loop calls once before the first step. A new network is
one file and one line in NETWORKS.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

ImageShape = tuple[int, int, int]  # (channels, height, width)


# model name -> {role: "module:Class"}; modules load on first use, so that the command line
# can list the names without importing torch.
NETWORKS: dict[str, dict[str, str]] = {
    "gia": {"generator": "sgan.models.gia:GiaGenerator", "discriminator": "sgan.models.gia:GiaDiscriminator"},
    "stacked": {"generator": "sgan.models.stacked:StackedGenerator",
                "discriminator": "sgan.models.stacked:StackedDiscriminator"},
    "improved": {"generator": "sgan.models.improved:ImprovedGenerator",
                 "discriminator": "sgan.models.improved:ImprovedDiscriminator"},
}


def _network_class(model: str, role: str) -> type[nn.Module]:
    if model not in NETWORKS:
        raise ValueError(f"unknown model {model!r}; choose {', '.join(NETWORKS)}")
    module, name = NETWORKS[model][role].split(":")
    return getattr(importlib.import_module(module), name)


def build_generator(model: str, image_shape: ImageShape = (1, 28, 28), z_dim: int = 100) -> nn.Module:
    """The generator of `model`: z [N, z_dim] -> images [N, *image_shape]."""
    return _network_class(model, "generator")(image_shape, z_dim)


def build_discriminator(model: str, image_shape: ImageShape = (1, 28, 28), num_classes: int = 10) -> nn.Module:
    """The discriminator (the classifier) of `model`: images [N, *image_shape] -> logits [N, num_classes]."""
    return _network_class(model, "discriminator")(image_shape, num_classes)
