"""Generator and discriminator networks, chosen by `config.model`.

Every discriminator returns K logits from `forward(x)` and (features, logits) from
`features_and_logits(x)`; a network that needs data-dependent initialisation has
`initialize(batch)`, which the trainer calls once before the first step.
"""

from __future__ import annotations

import importlib

from torch import nn

from sgan.config import Config

# model name -> (module, generator class, discriminator class); modules load on first use
NETWORKS = {
    "gia": ("sgan.models.gia", "GiaGenerator", "GiaDiscriminator"),
    "stacked": ("sgan.models.stacked", "StackedGenerator", "StackedDiscriminator"),
    "improved": ("sgan.models.improved", "ImprovedGenerator", "ImprovedDiscriminator"),
}


def _network_class(model: str, which: int) -> type[nn.Module]:
    if model not in NETWORKS:
        raise ValueError(f"unknown model {model!r}; choose {', '.join(NETWORKS)}")
    module, *classes = NETWORKS[model]
    return getattr(importlib.import_module(module), classes[which])


def build_generator(config: Config) -> nn.Module:
    return _network_class(config.model, 0)(config.z_dim)


def build_discriminator(config: Config) -> nn.Module:
    return _network_class(config.model, 1)(num_classes=config.num_classes)


class ConvClassifier(nn.Module):
    """A feature extractor `body` and a linear `head` giving the K logits both heads share."""

    body: nn.Module
    head: nn.Module

    def features_and_logits(self, x):  # noqa: ANN001, ANN201 - tensors in, tensors out
        h = self.body(x)
        return h, self.head(h)

    def forward(self, x):  # noqa: ANN001, ANN201
        return self.head(self.body(x))
