"""The supervised baseline: the same classifier, trained on the labeled subset alone.

Keras' `fit()` on the labeled images: shuffled passes whose last batch holds what is left.
"""

from __future__ import annotations

from sgan import losses
from sgan.algorithms.base import Algorithm, Batch
from sgan.config import Config


class Supervised(Algorithm):
    name = "supervised"
    batches = ("labeled",)
    uses_generator = False

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - Algorithm's arguments
        super().__init__(*args, **kwargs)
        self.opt_sup = self.adam(list(self.discriminator.parameters()))

    @staticmethod
    def batch_sizes(config: Config) -> dict[str, tuple[int, str]]:
        return {"labeled": (config.baseline_batch_size, "fit")}

    def optimizers(self) -> dict:
        return {"opt_sup": self.opt_sup}

    def step(self, batch: Batch) -> dict[str, float]:
        logits = self.discriminator(batch.x_lab).float()
        loss = losses.supervised_loss(logits, batch.y_lab)
        self.opt_sup.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_sup.step()
        return {"d_sup": loss.item(), "acc": self.accuracy(logits, batch.y_lab)}
