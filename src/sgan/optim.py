"""Adam with its epsilon inside the square root, as openai/improved-gan's `nn.adam_updates`:

    m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
    p <- p - lr * (m / (1 - b1^t)) / sqrt(v / (1 - b2^t) + eps)

PyTorch's Adam divides by sqrt(v_hat) + eps instead. With eps 1e-8 inside and 1e-4 outside (the
`improved` preset's stand-in) the two steps differ by up to a factor 1/sqrt(2), where v_hat is
near 1e-8: benchmarks/results/improved_diagnosis.md measures how often that is.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class AdamInsideSqrt(torch.optim.Optimizer):
    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # noqa: ARG002 - the Optimizer signature
        for group in self.param_groups:
            b1, b2 = group["betas"]
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if not self.state[p]:
                    self.state[p] = {"step": torch.zeros((), dtype=torch.float32),
                                     "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
            states = [self.state[p] for p in params]
            grads = [p.grad for p in params]
            m, v = [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]
            for s in states:
                s["step"] += 1
            t = float(states[0]["step"])
            torch._foreach_lerp_(m, grads, 1 - b1)
            torch._foreach_mul_(v, b2)
            torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
            denom = torch._foreach_div(v, 1 - b2**t)
            torch._foreach_add_(denom, group["eps"])
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, m, denom, value=-group["lr"] / (1 - b1**t))
