"""Augmentation: each image moved by a few whole pixels, or turned by a few degrees.

With 10 labels a class, the classifier can memorise each labeled image as one point; a shifted
copy every step makes it learn the class around that point instead (`labeled_shift`). The
consistency term's second pass of the unlabeled batch uses both (`consistency_shift`,
`consistency_rotation`): predictions that must not change when a digit moves or slants.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image [B, C, H, W] translated by its own (dy, dx), each uniform in [-max_shift,
    max_shift]; the pixels that move in from outside repeat the border's (the background, for
    digits). The offsets come from `generator` (a CPU one, so that a run's draws do not depend
    on its device)."""
    if max_shift == 0:
        return images
    b, c, h, w = images.shape
    if not 0 < max_shift < min(h, w):
        raise ValueError(f"a shift must be between 0 and the image side - 1 ({min(h, w) - 1}), got {max_shift}")
    offsets = torch.randint(-max_shift, max_shift + 1, (2, b), generator=generator).to(images.device)
    padded = F.pad(images, (max_shift,) * 4, mode="replicate")  # [B, C, H + 2s, W + 2s]
    # output pixel (y, x) of image i reads padded (y + s - dy_i, x + s - dx_i)
    rows = torch.arange(h, device=images.device) + (max_shift - offsets[0])[:, None]  # [B, H]
    cols = torch.arange(w, device=images.device) + (max_shift - offsets[1])[:, None]  # [B, W]
    # one gather along the flattened padded image: about 3x faster on the CPU than indexing with four
    # broadcast index tensors (benchmarks/results/microbench.md), the same pixels
    where = (rows[:, :, None] * padded.shape[-1] + cols[:, None, :]).flatten(1)  # [B, H * W]
    return padded.flatten(2).gather(2, where[:, None, :].expand(b, c, h * w)).view(b, c, h, w)


def random_rotation(images: torch.Tensor, max_degrees: float, generator: torch.Generator) -> torch.Tensor:
    """Each image [B, C, H, W] turned about its centre by its own angle, uniform in
    [-max_degrees, max_degrees]. The angles come from `generator` (a CPU one, as random_shift's)."""
    if max_degrees == 0:
        return images
    if not 0 < max_degrees <= 180:
        raise ValueError(f"a rotation must be between 0 and 180 degrees, got {max_degrees}")
    degrees = (torch.rand(len(images), generator=generator) * 2 - 1) * max_degrees
    return rotate(images, degrees)


def rotate(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Image i of [B, C, H, W] turned anticlockwise (as displayed, rows down) by degrees[i] about
    its centre, sampled bilinearly; the corners that turn in from outside repeat the border's
    pixels."""
    b, _, h, w = images.shape
    angles = degrees.float() * (math.pi / 180)
    cos, sin = torch.cos(angles), torch.sin(angles)
    # affine_grid maps each output pixel to the input point it reads, in [-1, 1] on each axis:
    # the aspect ratio in the off-diagonal terms turns a non-square image without shearing it.
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * h / w
    theta[:, 1, 0], theta[:, 1, 1] = sin * w / h, cos
    theta = theta.to(device=images.device, dtype=images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
