"""The stacked-discriminator SGAN tutorial (Gazali 2021, after Brownlee) in PyTorch.

Kernel 4 / stride 2 transposed convolutions with padding 1 double the size exactly, as Keras'
'same' does; the 3x3 stride-2 convolutions with padding 1 halve it (28 -> 14 -> 7).
"""

from __future__ import annotations

import torch
from torch import nn

from sgan.models.base import ConvClassifier, halved, quartered
from sgan.models.keras import keras_init_
from sgan.models.layers import Conv2d, ConvTranspose2d


class StackedGenerator(nn.Module):
    """Dense(128*7*7) -> LReLU -> 2 x (ConvT 128 4x4 s2 -> LReLU) -> Conv 1 7x7 -> tanh.

    The text says the 7x7 output convolution uses a sigmoid for [0, 1]; its code uses tanh and
    scales the data to [-1, 1], and so do we.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), z_dim: int = 100) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.start = quartered(image_shape, "stacked")  # (7, 7) for 28x28
        self.fc = nn.Sequential(nn.Linear(z_dim, 128 * self.start[0] * self.start[1]), nn.LeakyReLU(0.2))
        self.net = nn.Sequential(
            ConvTranspose2d(128, 128, 4, stride=2, padding=1),  # H/4 -> H/2
            nn.LeakyReLU(0.2),
            ConvTranspose2d(128, 128, 4, stride=2, padding=1),  # H/2 -> H
            nn.LeakyReLU(0.2),
            Conv2d(128, image_shape[0], 7, padding=3),  # H -> H, C channels
            nn.Tanh(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, 128, *self.start))  # [N, 128, H/4, W/4] -> [N, C, H, W]


class StackedDiscriminator(ConvClassifier):
    """Conv 128 3x3 s2 -> LReLU(0.2) -> Conv 128 3x3 s2 -> LReLU(0.2) -> Flatten -> Dense K.

    As the tutorial's text gives it: two strided convolutions and no dropout (Brownlee's
    original has a third convolution and Dropout(0.4); the text we reproduce does not).
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), num_classes: int = 10) -> None:
        super().__init__()
        c, h, w = image_shape
        self.body = nn.Sequential(
            nn.Conv2d(c, 128, 3, stride=2, padding=1),  # H -> H/2 (28 -> 14)
            nn.LeakyReLU(0.2),
            nn.Conv2d(128, 128, 3, stride=2, padding=1),  # -> H/4 (14 -> 7)
            nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.head = nn.Linear(128 * halved(h, 2) * halved(w, 2), num_classes)  # 128 x 7 x 7 at 28
        keras_init_(self)
