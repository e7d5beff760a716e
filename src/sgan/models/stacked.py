"""The stacked-discriminator SGAN tutorial (Gazali 2021, after Brownlee) in PyTorch.

Kernel 4 / stride 2 transposed convolutions with padding 1 double the size exactly, as Keras'
'same' does; the 3x3 stride-2 convolutions with padding 1 halve it (28 -> 14 -> 7).
"""

from __future__ import annotations

import torch
from torch import nn

from sgan.models import ConvClassifier
from sgan.models.keras import keras_init_
from sgan.models.layers import Conv2d, ConvTranspose2d


class StackedGenerator(nn.Module):
    """Dense(128*7*7) -> LReLU -> 2 x (ConvT 128 4x4 s2 -> LReLU) -> Conv 1 7x7 -> tanh.

    The text says the 7x7 output convolution uses a sigmoid for [0, 1]; its code uses tanh and
    scales the data to [-1, 1], and so do we.
    """

    def __init__(self, z_dim: int = 100) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.fc = nn.Sequential(nn.Linear(z_dim, 128 * 7 * 7), nn.LeakyReLU(0.2))
        self.net = nn.Sequential(
            ConvTranspose2d(128, 128, 4, stride=2, padding=1),  # 7 -> 14
            nn.LeakyReLU(0.2),
            ConvTranspose2d(128, 128, 4, stride=2, padding=1),  # 14 -> 28
            nn.LeakyReLU(0.2),
            Conv2d(128, 1, 7, padding=3),
            nn.Tanh(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, 128, 7, 7))


class StackedDiscriminator(ConvClassifier):
    """Conv 128 3x3 s2 -> LReLU(0.2) -> Conv 128 3x3 s2 -> LReLU(0.2) -> Flatten -> Dense K.

    As the tutorial's text gives it: two strided convolutions and no dropout (Brownlee's
    original has a third convolution and Dropout(0.4); the text we reproduce does not).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 128, 3, stride=2, padding=1),  # 28 -> 14
            nn.LeakyReLU(0.2),
            nn.Conv2d(128, 128, 3, stride=2, padding=1),  # 14 -> 7
            nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.head = nn.Linear(128 * 7 * 7, num_classes)
        keras_init_(self)
