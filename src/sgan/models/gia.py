"""The SGAN of *GANs in Action*, chapter 7 (Langr & Bok), in PyTorch.

Keras' 'same' padding is reproduced with explicit paddings that give the same output sizes
(28 -> 14 -> 7 -> 4 in the discriminator, 7 -> 14 -> 14 -> 28 in the generator). BatchNorm is
Keras 2's (see `KerasBatchNorm2d`).
"""

from __future__ import annotations

import torch
from torch import nn

from sgan.models import ConvClassifier
from sgan.models.keras import Dropout, KerasBatchNorm2d, keras_init_
from sgan.models.layers import ConvTranspose2d


class GiaGenerator(nn.Module):
    """Dense(256*7*7) -> ConvT 128 s2 -> BN -> LReLU -> ConvT 64 s1 -> BN -> LReLU -> ConvT 1 s2 -> tanh.

    The chapter's text prints only the first and last transposed convolutions; the book's full
    code (and the issue) has the 64-channel stride-1 layer between them, as its DCGAN (ch. 4).
    """

    def __init__(self, z_dim: int = 100) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.fc = nn.Linear(z_dim, 256 * 7 * 7)
        self.net = nn.Sequential(
            ConvTranspose2d(256, 128, 3, stride=2, padding=1, output_padding=1),  # 7 -> 14
            KerasBatchNorm2d(128),
            nn.LeakyReLU(0.01),
            ConvTranspose2d(128, 64, 3, stride=1, padding=1),  # 14 -> 14
            KerasBatchNorm2d(64),
            nn.LeakyReLU(0.01),
            ConvTranspose2d(64, 1, 3, stride=2, padding=1, output_padding=1),  # 14 -> 28
            nn.Tanh(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, 256, 7, 7))


class GiaDiscriminator(ConvClassifier):
    """Conv 32 s2 -> LReLU -> Conv 64 s2 -> BN -> LReLU -> Conv 128 s2 -> BN -> LReLU -> Dropout -> Dense K.

    All convolutions are 3x3 with 'same' padding and LeakyReLU(0.01), as the book's code; the
    K outputs are logits shared by the supervised (softmax) and unsupervised (Z/(Z+1)) heads.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, stride=2, padding=1),  # 28 -> 14
            nn.LeakyReLU(0.01),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # 14 -> 7
            KerasBatchNorm2d(64),
            nn.LeakyReLU(0.01),
            nn.Conv2d(64, 128, 3, stride=2, padding=1),  # 7 -> 4
            KerasBatchNorm2d(128),
            nn.LeakyReLU(0.01),
            Dropout(0.5),
            nn.Flatten(),
        )
        self.head = nn.Linear(128 * 4 * 4, num_classes)
        keras_init_(self)
