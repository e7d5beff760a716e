"""Augmentation of the labeled batch: each image moved by a few whole pixels.

With 10 labels a class, the classifier can memorise each labeled image as one point; a shifted
copy every step makes it learn the class around that point instead (`labeled_shift`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image [B, C, H, W] translated by its own (dy, dx), each uniform in [-max_shift,
    max_shift]; the pixels that move in from outside repeat the border's (the background, for
    digits). The offsets come from `generator` (a CPU one, so that a run's draws do not depend
    on its device)."""
    if max_shift == 0:
        return images
    b, _, h, w = images.shape
    if not 0 < max_shift < min(h, w):
        raise ValueError(f"a shift must be between 0 and the image side - 1 ({min(h, w) - 1}), got {max_shift}")
    offsets = torch.randint(-max_shift, max_shift + 1, (2, b), generator=generator).to(images.device)
    padded = F.pad(images, (max_shift,) * 4, mode="replicate")  # [B, C, H + 2s, W + 2s]
    # output pixel (y, x) of image i reads padded (y + s - dy_i, x + s - dx_i)
    rows = torch.arange(h, device=images.device) + (max_shift - offsets[0])[:, None]  # [B, H]
    cols = torch.arange(w, device=images.device) + (max_shift - offsets[1])[:, None]  # [B, W]
    batch = torch.arange(b, device=images.device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
