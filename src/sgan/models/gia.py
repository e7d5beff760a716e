"""The SGAN of *GANs in Action*, chapter 7 (Langr & Bok), in PyTorch.

Keras' 'same' padding is reproduced with explicit paddings that give the same output sizes
(28 -> 14 -> 7 -> 4 in the discriminator, 7 -> 14 -> 14 -> 28 in the generator, as the book;
32 -> 16 -> 8 -> 4 and 8 -> 16 -> 16 -> 32 at 32x32). BatchNorm is Keras 2's (see `KerasBatchNorm2d`).
"""

from __future__ import annotations

import torch
from torch import nn

from sgan.models.base import ConvClassifier, halved, quartered
from sgan.models.keras import Dropout, KerasBatchNorm2d, keras_init_
from sgan.models.layers import ConvTranspose2d


class GiaGenerator(nn.Module):
    """Dense(256*7*7) -> ConvT 128 s2 -> BN -> LReLU -> ConvT 64 s1 -> BN -> LReLU -> ConvT 1 s2 -> tanh.

    The chapter's text prints only the first and last transposed convolutions; the book's full
    code (and the issue) has the 64-channel stride-1 layer between them, as its DCGAN (ch. 4).
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), z_dim: int = 100) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.start = quartered(image_shape, "gia")  # (7, 7) for 28x28
        self.fc = nn.Linear(z_dim, 256 * self.start[0] * self.start[1])
        self.net = nn.Sequential(
            ConvTranspose2d(256, 128, 3, stride=2, padding=1, output_padding=1),  # H/4 -> H/2
            KerasBatchNorm2d(128),
            nn.LeakyReLU(0.01),
            ConvTranspose2d(128, 64, 3, stride=1, padding=1),  # H/2 -> H/2
            KerasBatchNorm2d(64),
            nn.LeakyReLU(0.01),
            ConvTranspose2d(64, image_shape[0], 3, stride=2, padding=1, output_padding=1),  # H/2 -> H
            nn.Tanh(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, 256, *self.start))  # [N, 256, H/4, W/4] -> [N, C, H, W]


class GiaDiscriminator(ConvClassifier):
    """Conv 32 s2 -> LReLU -> Conv 64 s2 -> BN -> LReLU -> Conv 128 s2 -> BN -> LReLU -> Dropout -> Dense K.

    All convolutions are 3x3 with 'same' padding and LeakyReLU(0.01), as the book's code; the
    K outputs are logits shared by the supervised (softmax) and unsupervised (Z/(Z+1)) heads.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), num_classes: int = 10) -> None:
        super().__init__()
        c, h, w = image_shape
        self.body = nn.Sequential(
            nn.Conv2d(c, 32, 3, stride=2, padding=1),  # H -> H/2 (28 -> 14)
            nn.LeakyReLU(0.01),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # -> H/4 (14 -> 7)
            KerasBatchNorm2d(64),
            nn.LeakyReLU(0.01),
            nn.Conv2d(64, 128, 3, stride=2, padding=1),  # -> ceil(H/8) (7 -> 4)
            KerasBatchNorm2d(128),
            nn.LeakyReLU(0.01),
            Dropout(0.5),
            nn.Flatten(),
        )
        self.head = nn.Linear(128 * halved(h, 3) * halved(w, 3), num_classes)  # 128 x 4 x 4 at 28 or 32
        keras_init_(self)
