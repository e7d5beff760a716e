"""What every training algorithm has: the networks, their optimizers, and the batches it asks for.

An algorithm knows nothing of devices, checkpoints, evaluation or the progress bar: the loop
(`sgan.engine`) hands it batches already on the device, runs `step` inside the discriminator's
precision, and saves `optimizers()` by name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from sgan.config import Config


@dataclass
class Batch:
    """One step's data; the batches an algorithm did not declare are None."""

    x_lab: torch.Tensor
    y_lab: torch.Tensor
    x_unl: torch.Tensor | None = None
    x_match: torch.Tensor | None = None


class Algorithm:
    """One training algorithm: build its optimizers in __init__, update the networks in `step`.

    `batches` names the batches `step` reads, in the order they are drawn: "labeled" (images and
    labels), "unlabeled" (images) and "matching" (a second unlabeled batch).
    """

    name: ClassVar[str]
    batches: ClassVar[tuple[str, ...]] = ("labeled", "unlabeled")
    uses_generator: ClassVar[bool] = True

    def __init__(self, config: Config, discriminator: nn.Module, generator: nn.Module | None,
                 noise: Callable[[int], torch.Tensor],
                 generator_precision: Callable[[], contextlib.AbstractContextManager]) -> None:
        self.config, self.discriminator, self.generator = config, discriminator, generator
        self.noise = noise
        self.generator_precision = generator_precision
        self.teacher: nn.Module | None = None  # the loop's weight average of the discriminator, if any
        self.augment_rng: torch.Generator | None = None  # the loop's stream for augmentation (checkpointed)

    @staticmethod
    def batch_sizes(config: Config) -> dict[str, tuple[int, str]]:
        """Each declared batch's (size, sampling mode): see sgan.engine.BatchSampler."""
        return {"labeled": (config.labeled_batch_size, config.labeled_sampling),
                "unlabeled": (config.unlabeled_batch_size, config.labeled_sampling),
                "matching": (config.unlabeled_batch_size, config.labeled_sampling)}

    def adam(self, params: list[nn.Parameter]) -> torch.optim.Adam:
        c = self.config
        if c.adam_eps_inside_sqrt:
            from sgan.optim import AdamInsideSqrt

            return AdamInsideSqrt(params, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.adam_eps)
        # fused: one kernel for the whole parameter list (CPU and CUDA).
        return torch.optim.Adam(params, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.adam_eps, fused=True)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimizers by the names a checkpoint keeps them under."""
        raise NotImplementedError

    def step(self, batch: Batch) -> dict[str, float]:
        """One training iteration; returns its losses and the labeled batch's accuracy."""
        raise NotImplementedError

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """The generator's images in float32, whatever precision it computed them in."""
        with self.generator_precision():
            return self.generator(z).float()

    @staticmethod
    def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
        return (logits.argmax(1) == targets).float().mean().item()


@contextlib.contextmanager
def frozen(discriminator: nn.Module, batch_stats: bool) -> Iterator[None]:
    """The discriminator as Keras' combined model sees it: weights not trainable.

    With `batch_stats` (Keras 2, as the book ran) BatchNorm still normalises with the batch's
    statistics but leaves its moving averages alone; without it (Keras 3) BatchNorm runs in
    inference mode. Weight gradients are switched off, so backward computes only the input
    gradients the generator needs, and the discriminator's weights cannot move.
    """
    params = [p for p in discriminator.parameters() if p.requires_grad]
    norms = [m for m in discriminator.modules() if isinstance(m, _BatchNorm)]
    saved = [(m.track_running_stats, m.training) for m in norms]
    for p in params:
        p.requires_grad_(False)
    for m in norms:
        if batch_stats:
            m.track_running_stats = False  # in training mode: batch statistics, no update
        else:
            m.eval()
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)
        for m, (track, training) in zip(norms, saved, strict=True):
            m.track_running_stats = track
            m.train(training)
