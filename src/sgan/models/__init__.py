"""Generator and discriminator networks, chosen by `config.model`.

Every discriminator returns K logits from `forward(x)` and (features, logits) from
`features_and_logits(x)`; a network that needs data-dependent initialisation has
`initialize(batch)`, which the trainer calls once before the first step.
"""

from __future__ import annotations

from torch import nn

from sgan.config import Config


def build_generator(config: Config) -> nn.Module:
    if config.model == "gia":
        from sgan.models.gia import GiaGenerator

        return GiaGenerator(config.z_dim)
    if config.model == "stacked":
        from sgan.models.stacked import StackedGenerator

        return StackedGenerator(config.z_dim)
    if config.model == "improved":
        from sgan.models.improved import ImprovedGenerator

        return ImprovedGenerator(config.z_dim)
    raise ValueError(f"unknown model {config.model!r}; choose gia, stacked or improved")


def build_discriminator(config: Config) -> nn.Module:
    if config.model == "gia":
        from sgan.models.gia import GiaDiscriminator

        return GiaDiscriminator(config.num_classes)
    if config.model == "stacked":
        from sgan.models.stacked import StackedDiscriminator

        return StackedDiscriminator(config.num_classes)
    if config.model == "improved":
        from sgan.models.improved import ImprovedDiscriminator

        return ImprovedDiscriminator(num_classes=config.num_classes)
    raise ValueError(f"unknown model {config.model!r}; choose gia, stacked or improved")
