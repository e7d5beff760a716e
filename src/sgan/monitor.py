"""Signs, from training signals only (never test labels), that a run is failing.

Three ways a semi-supervised GAN fails while its losses stay finite:
- the discriminator wins outright: its unsupervised loss stays near 0, so the generator gets no
  signal it can follow;
- the generator collapses: the images it makes from different noise are nearly the same;
- the losses blow up: a learning rate far too high sends them to huge finite values.
Each is checked at every evaluation and said once, as a warning on the progress output and in
the report.
"""

from __future__ import annotations

import torch

WIN_LOSS = 0.01  # unsupervised loss below this ...
WIN_INTERVALS = 3  # ... for this many evaluations in a row
COLLAPSE = 0.05  # generated images' spread below this fraction of real images' spread
BLOWUP = 1e3  # a loss above this, finite or not, is not training


def spread(images: torch.Tensor) -> float:
    """Mean over pixels of the standard deviation across the batch: 0 when all images are equal."""
    return float(images.float().flatten(1).std(0).mean())


class Monitor:
    """Watches a run's interval averages and samples; `warnings` lists what it found, once each."""

    def __init__(self, warnings: list[str] | None = None) -> None:
        self.warnings: list[str] = list(warnings or [])
        self._low_unsup: list[int] = []

    def _warn(self, kind: str, message: str) -> str | None:
        if any(w.startswith(kind) for w in self.warnings):
            return None
        self.warnings.append(f"{kind}: {message}")
        return self.warnings[-1]

    def check(self, row: dict[str, float], fake: torch.Tensor | None = None,
              real: torch.Tensor | None = None) -> list[str]:
        """The new warnings for one evaluation's history `row` (and samples, if the run has a generator)."""
        new = []
        step = int(row["step"])
        losses = {k: v for k, v in row.items() if k.endswith("_loss")}
        huge = {k: v for k, v in losses.items() if abs(v) > BLOWUP}
        if huge:
            said = ", ".join(f"{k.removesuffix('_loss')} {v:.3g}" for k, v in huge.items())
            new.append(self._warn("losses blew up", f"{said} at step {step}; the learning rate is likely too high"))
        if "d_unsup_loss" in row:
            self._low_unsup = [*self._low_unsup, step] if row["d_unsup_loss"] < WIN_LOSS else []
            if len(self._low_unsup) >= WIN_INTERVALS:
                new.append(self._warn(
                    "the discriminator wins outright",
                    f"unsupervised loss below {WIN_LOSS} at {len(self._low_unsup)} evaluations in a row (steps "
                    f"{self._low_unsup[0]}-{step}); the generator gets no signal to learn from"))
        if fake is not None and real is not None and len(fake) > 1:
            ratio = spread(fake) / max(spread(real), 1e-12)
            if ratio < COLLAPSE:
                new.append(self._warn(
                    "the generator collapsed",
                    f"its samples at step {step} spread {ratio:.1%} as much as real images (below "
                    f"{COLLAPSE:.0%}): nearly the same image for every noise"))
        return [w for w in new if w]
