"""`--tensorboard`: each evaluation's losses, accuracies and sample grid as TensorBoard events in
RUN/tensorboard (`tensorboard --logdir RUN`). TensorBoard is an optional extra:
`pip install 'sgan[tensorboard]'`."""

from __future__ import annotations

from pathlib import Path

import torch


class TensorBoardLog:
    def __init__(self, folder: Path, pixel_range: str) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ImportError("--tensorboard needs the tensorboard package: pip install 'sgan[tensorboard]'") from None
        self._writer_class, self.folder, self.pixel_range = SummaryWriter, folder, pixel_range
        self._writer = None  # opened at the first evaluation: a run refused before then writes nothing

    @property
    def writer(self):  # noqa: ANN201 - torch.utils.tensorboard.SummaryWriter
        if self._writer is None:
            self._writer = self._writer_class(str(self.folder))
        return self._writer

    def log(self, row: dict[str, float | None], samples: torch.Tensor | None) -> None:
        """One evaluation: every loss and accuracy of `row` at its step, and the generated grid."""
        step = int(row["step"])
        for key, value in row.items():
            if key not in ("step", "wall_seconds") and value is not None:
                group = "loss" if key.endswith("_loss") else "accuracy"
                self.writer.add_scalar(f"{group}/{key.removesuffix('_loss')}", value, step)
        if samples is not None:
            x = samples[:64].detach().float().cpu()
            x = (x + 1) / 2 if self.pixel_range == "tanh" else x
            self.writer.add_images("samples", x.clamp(0, 1), step)
        self.writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
