"""Each hot-path change, measured before and after, side by side in one run on this machine.

    python benchmarks/ablation.py                       # every change; ~3 minutes on 2 cores
    python benchmarks/ablation.py --only channels-last --steps 30
    python benchmarks/ablation.py --markdown benchmarks/results/ablation.md --json benchmarks/results/ablation.json

A change that is a configuration choice (memory format, precision, threads) is measured by
training with each setting. A change in the code is measured by putting the old code back for
the "before" run (a patch below, written to do the same arithmetic the old way), so both
sides run the same trainer on the same data in the same process. Before and after alternate
over `--rounds` rounds and each side reports the median step of its rounds, so that slow drift
of the machine falls on both. Data are random images of MNIST's shape (speed does not depend on
pixel values). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import patch

import torch
import torch.nn.functional as F

from sgan.algorithms import keras_sgan
from sgan.algorithms.base import Batch
from sgan.algorithms.keras_sgan import KerasSGAN
from sgan.config import get_config
from sgan.data import synthetic_split
from sgan.engine import Trainer
from sgan.evaluation import predict
from sgan.models.improved import ImprovedDiscriminator, WeightNormLinear
from sgan.models.keras import Dropout
from sgan.models.layers import Conv2d, ConvTranspose2d
from sgan.runlog import machine_info

HEADER = ["change", "preset", "unit", "before", "after", "speedup"]
THREADS = torch.get_num_threads()  # restored after a measurement that sets its own

# ---------------------------------------------------------------------- the old code, as patches
def weight_norm_rebuilds_weights() -> contextlib.AbstractContextManager:
    """Before: every call builds w = g v / ||v|| (an [out, in] tensor) and multiplies by it."""
    return patch.object(WeightNormLinear, "forward", lambda self, x: F.linear(x, self.weight(), self.bias))


def adam_for_loop() -> contextlib.AbstractContextManager:
    """Before: Adam's per-parameter Python loop instead of the fused multi-tensor kernel."""
    fused = torch.optim.Adam

    def unfused(params: Any, **kwargs: Any) -> torch.optim.Optimizer:
        return fused(params, **{**kwargs, "fused": False, "foreach": False})

    return patch.object(torch.optim, "Adam", unfused)


def frozen_with_weight_gradients() -> contextlib.AbstractContextManager:
    """Before: the frozen discriminator's weights keep requires_grad, so the generator update's
    backward also computes their gradients (never applied: the generator's optimizer ignores
    them and the next discriminator update clears them)."""
    without_gradients = keras_sgan.frozen

    @contextlib.contextmanager
    def frozen(discriminator: torch.nn.Module, batch_stats: bool) -> Iterator[None]:
        with without_gradients(discriminator, batch_stats):
            for p in discriminator.parameters():
                p.requires_grad_(True)
            yield

    return patch.object(keras_sgan, "frozen", frozen)


def three_discriminator_passes() -> contextlib.AbstractContextManager:
    """Before: the joint update ran the labeled, unlabeled and generated batches through the
    discriminator one at a time (the same function: it has no BatchNorm)."""
    one_pass = ImprovedDiscriminator.features_and_logits

    def per_batch(self: ImprovedDiscriminator, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [one_pass(self, chunk) for chunk in x.split(100)]
        return torch.cat([f for f, _ in parts]), torch.cat([logits for _, logits in parts])

    return patch.object(ImprovedDiscriminator, "features_and_logits", per_batch)


def unused_generator_pass() -> contextlib.AbstractContextManager:
    """Before: the book's loop also computes a batch of fakes it never uses before the
    generator update (`generator.predict(z)`), one more generator forward pass a step."""
    current = KerasSGAN.step

    def step(self: KerasSGAN, batch: Batch) -> dict[str, float]:
        result = current(self, batch)
        with torch.no_grad():
            self.generator.eval()
            self.generate(self.noise(self.config.gen_batch_size))
            self.generator.train()
        return result

    return patch.object(KerasSGAN, "step", step)


def bernoulli_dropout() -> contextlib.AbstractContextManager:
    """Before: the mask drawn by F.dropout (`bernoulli_`), as nn.Dropout does: the same
    distribution of masks and the same scaling, from a slower sampler."""
    return patch.object(Dropout, "forward", lambda self, x: F.dropout(x, self.p, self.training))


def bias_inside_transposed_convolution() -> contextlib.AbstractContextManager:
    """Before: nn.ConvTranspose2d's forward, which passes the bias to the convolution kernel and
    so leaves its gradient to the kernel's slow backward."""
    return patch.object(ConvTranspose2d, "forward", torch.nn.ConvTranspose2d.forward)


def one_channel_convolution_by_onednn() -> contextlib.AbstractContextManager:
    """Before: nn.Conv2d's forward for `stacked`'s 128 -> 1 channel output layer (oneDNN's kernel)."""
    return patch.object(Conv2d, "forward", torch.nn.Conv2d.forward)


# ---------------------------------------------------------------------- the changes
@dataclass
class Change:
    name: str
    preset: str
    before: dict[str, Any] = field(default_factory=dict)  # config overrides
    after: dict[str, Any] = field(default_factory=dict)
    patch_before: Callable[[], contextlib.AbstractContextManager] | None = None
    # A process-wide setting made when the process starts: each side runs in a fresh process
    # with these environment variables.
    env_before: dict[str, str] | None = None
    what: str = "train"  # "train": ms per step; "eval": test images per second
    # Settings not given in before/after are the preset's defaults (gia: bf16-generator, channels-last).


FP32 = {"precision": "fp32"}  # stacked's rows measure its float32 step, as when they were first published
CHANGES = [
    Change("weight norm scales outputs, not weights", "improved", patch_before=weight_norm_rebuilds_weights),
    Change("one discriminator pass for the joint update", "improved", patch_before=three_discriminator_passes),
    Change("fused Adam", "improved", patch_before=adam_for_loop),
    Change("no weight gradients in the frozen discriminator", "gia", patch_before=frozen_with_weight_gradients),
    Change("the book's unused generator pass dropped", "gia", patch_before=unused_generator_pass),
    Change("dropout mask from rand, not bernoulli_", "gia", patch_before=bernoulli_dropout),
    Change("transposed-convolution bias added after", "gia", patch_before=bias_inside_transposed_convolution),
    Change("transposed-convolution bias added after", "stacked", FP32, FP32,
           patch_before=bias_inside_transposed_convolution),
    Change("one-output-channel convolution as a product and a fold", "stacked", FP32, FP32,
           patch_before=one_channel_convolution_by_onednn),
    Change("malloc keeps freed large blocks", "stacked", FP32, FP32, env_before={"SGAN_RETAIN_FREED_MEMORY": "0"}),
    Change("channels-last convolutions (fp32)", "stacked", {"channels_last": False, **FP32},
           {"channels_last": True, **FP32}),
    Change("channels-last convolutions (fp32)", "gia", {"channels_last": False, "precision": "fp32"},
           {"channels_last": True, "precision": "fp32"}),
    Change("channels-last convolutions (bf16)", "gia", {"channels_last": False, "precision": "bf16"},
           {"channels_last": True, "precision": "bf16"}),
    Change("bf16 autocast", "stacked", {"precision": "fp32"}, {"precision": "bf16"}),
    Change("bf16 autocast", "improved", {"precision": "fp32"}, {"precision": "bf16"}),
    Change("bf16 for the generator only", "gia", {"precision": "fp32"}, {"precision": "bf16-generator"}),
    Change("bf16 for the generator only", "stacked", {"precision": "fp32"}, {"precision": "bf16-generator"}),
    Change("gia: fp32 -> bf16 with channels-last", "gia", {"precision": "fp32", "channels_last": False},
           {"precision": "bf16", "channels_last": True}),
    Change("2 threads instead of 1", "stacked", {"threads": 1, **FP32}, {"threads": 2, **FP32}),
    Change("2 threads instead of 1", "improved", {"threads": 1}, {"threads": 2}),
    Change("evaluation under inference_mode", "gia", what="eval"),
]


# ---------------------------------------------------------------------- measuring
def step_ms(preset: str, overrides: dict[str, Any], steps: int, warmup: int) -> float:
    """Median milliseconds of a training step for this configuration, built fresh."""
    config = get_config(preset, out=tempfile.mkdtemp(prefix="sgan-ablation-"), labels=100,
                        **{"threads": torch.get_num_threads(), **overrides})
    split = synthetic_split(100, 5000, 1000, config.pixel_range)
    trainer = Trainer(config, split=split, progress=False)
    times = []
    for _ in range(warmup + steps):
        batch = trainer.next_batch()
        t0 = time.perf_counter()
        trainer.step(batch)
        times.append(time.perf_counter() - t0)
    torch.set_num_threads(THREADS)  # a `threads` override must not leak into the next measurement
    return 1000 * statistics.median(times[warmup:])


def step_ms_in_new_process(preset: str, overrides: dict[str, Any], steps: int, warmup: int,
                           env: dict[str, str]) -> float:
    """step_ms() in a fresh Python process with `env` added to this one's environment."""
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import torch; "
            f"torch.set_num_threads({THREADS}); import ablation; "
            f"print(ablation.step_ms({preset!r}, {overrides!r}, {steps}, {warmup}))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def eval_images_per_second(preset: str, inference_mode: bool, repeats: int = 3) -> float:
    """Test images classified per second: predict() (inference mode) against a plain forward
    pass with autograd recording, as evaluation code without no_grad/inference_mode runs."""
    config = get_config(preset, labels=100)
    split = synthetic_split(100, 100, 10000, config.pixel_range)
    from sgan.models import build_discriminator

    model = build_discriminator(config.model).eval()

    def plain(images: torch.Tensor) -> torch.Tensor:
        return torch.cat([model(chunk).argmax(1) for chunk in images.split(1000)])

    run = (lambda x: predict(model, x)) if inference_mode else plain
    run(split.test_images[:1000])
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(split.test_images)
        seconds.append(time.perf_counter() - t0)
    return len(split.test_images) / statistics.median(seconds)


def measure(change: Change, steps: int, warmup: int, rounds: int) -> dict[str, Any]:
    before, after = [], []
    for _ in range(rounds):  # alternate, so that drift of the machine falls on both sides
        if change.what == "eval":
            before.append(eval_images_per_second(change.preset, inference_mode=False))
            after.append(eval_images_per_second(change.preset, inference_mode=True))
            continue
        if change.env_before is not None:
            before.append(step_ms_in_new_process(change.preset, change.before, steps, warmup, change.env_before))
            after.append(step_ms_in_new_process(change.preset, change.after, steps, warmup, {}))
            continue
        with change.patch_before() if change.patch_before else contextlib.nullcontext():
            before.append(step_ms(change.preset, change.before, steps, warmup))
        after.append(step_ms(change.preset, change.after, steps, warmup))
    b, a = statistics.median(before), statistics.median(after)
    speedup = a / b if change.what == "eval" else b / a
    return {"change": change.name, "preset": change.preset, "unit": "img/s" if change.what == "eval" else "ms/step",
            "before": b, "after": a, "speedup": speedup, "before_rounds": before, "after_rounds": after}


def table(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[r["change"], r["preset"], r["unit"], f"{r['before']:,.1f}", f"{r['after']:,.1f}", f"{r['speedup']:.2f}x"]
            for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the changes whose name contains this text")
    parser.add_argument("--steps", type=int, default=15, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="before/after alternations")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--steps and --rounds must be >= 1, --warmup >= 0")
    changes = [c for c in CHANGES if not args.only or args.only in c.name]
    if not changes:
        parser.error(f"no change matches {args.only!r}")

    rows = []
    for change in changes:
        rows.append(measure(change, args.steps, args.warmup, args.rounds))
        r = rows[-1]
        print(f"{r['change']} [{r['preset']}]: {r['before']:,.1f} -> {r['after']:,.1f} {r['unit']} "
              f"({r['speedup']:.2f}x)", flush=True)

    widths = [max(len(h), *(len(row[i]) for row in table(rows))) for i, h in enumerate(HEADER)]
    print()
    for line in [HEADER, ["-" * w for w in widths], *table(rows)]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
    machine = machine_info()
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "torch": torch.__version__, "steps": args.steps,
                                         "rounds": args.rounds, "changes": rows}, indent=2) + "\n")
    if args.markdown:
        lines = [f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {torch.__version__}, "
                 f"{THREADS} threads. Median of {args.steps} steps after {args.warmup} warm-up steps, "
                 f"median over {args.rounds} alternating before/after rounds.", "",
                 "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in table(rows)]
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
