"""What the convolutional discriminators share: a feature extractor and one linear head."""

from __future__ import annotations

import torch
from torch import nn


class ConvClassifier(nn.Module):
    """A feature extractor `body` and a linear `head` giving the K logits both heads share."""

    body: nn.Module
    head: nn.Module

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return h, self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def halved(size: int, times: int) -> int:
    """A side after `times` 3x3 stride-2 convolutions with padding 1: ceil(size / 2) each time."""
    for _ in range(times):
        size = (size + 1) // 2
    return size


def quartered(image_shape: tuple[int, int, int], model: str) -> tuple[int, int]:
    """The generator's starting grid: H/4 x W/4, doubled twice to H x W."""
    _, h, w = image_shape
    if h % 4 or w % 4 or h < 8 or w < 8:
        raise ValueError(f"the {model} networks need a height and width divisible by 4 (at least 8); got {h}x{w}")
    return h // 4, w // 4
