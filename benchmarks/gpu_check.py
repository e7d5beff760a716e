"""The GPU path, checked on a CUDA device: each preset's step time, the bf16 matmul peak, and
the first float32 steps' losses against the CPU's.

    python benchmarks/gpu_check.py --out benchmarks/results/gpu_check     # writes .json and .md

    python benchmarks/gpu_check.py --report benchmarks/results/gpu_check.json  # its tables again

Parity: the first 20 float32 steps of every preset and baseline, on the fixed synthetic split
of tests/test_golden.py, on the CUDA device and on this machine's CPU, are compared with the
golden losses (written on the development CPU) using the golden test's own per-step tolerance
(ten times the rounding spread measured between CPU runs). The check passes when the first
PARITY_STEPS steps are within it: training amplifies rounding step by step, and by step 20 the
chaotic presets differ by more than any tolerance that would still catch a change. So that both devices see the same
random numbers, the check draws the layers' random numbers (dropout masks, Gaussian noise, z) on
the CPU and copies them over, and turns TF32 off; convolutions keep the CPU's channels-last
layout, which decides where dropout's random numbers land. Timing: each preset's SGAN step on
the device with its default precision and in float32, median of timed steps after warm-up
(the GPU synchronised around each step). Checkpoints: a run trained on the device is evaluated
and resumed on the CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_golden as golden  # noqa: E402

from sgan.config import get_config  # noqa: E402
from sgan.data import synthetic_split  # noqa: E402
from sgan.engine import Trainer, resume  # noqa: E402
from sgan.runlog import machine_info  # noqa: E402


class CpuRandom(TorchFunctionMode):
    """Random tensors for another device drawn on the CPU (its global generator) and copied."""

    LIKE = {torch.rand_like, torch.randn_like}
    PLAIN = {torch.rand, torch.randn}

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = dict(kwargs or {})
        if func in self.LIKE and args[0].device.type != "cpu":
            return func(args[0].cpu(), *args[1:], **kwargs).to(args[0].device)
        device = kwargs.get("device")
        if func in self.PLAIN and device is not None and torch.device(device).type != "cpu" \
                and kwargs.get("generator") is None:
            kwargs["device"] = "cpu"
            return func(*args, **kwargs).to(device)
        return func(*args, **kwargs)


PARITY_STEPS = 10


def parity(device: str) -> list[dict[str, Any]]:
    cases = json.loads(golden.GOLDEN.read_text())
    rows = []
    for preset, method in golden.CASES:
        case = cases[f"{preset}-{method}"]
        row: dict[str, Any] = {"preset": preset, "method": method}
        for where in dict.fromkeys(("cpu", device)):
            with CpuRandom():
                got = golden.first_steps(preset, method, device=where, channels_last=True)
            diffs = golden.differences(got, case["losses"])
            row[where] = {"worst_multiple_of_tolerance": golden.worst(got, case), "differences": diffs,
                          "difference_steps_1_3": max(diffs[:3]), "difference_all": max(diffs),
                          "first_failing_step": next((i + 1 for i, (d, t) in enumerate(zip(diffs, case["rtol"],
                                                     strict=True)) if d > t), None)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device: str, dtype: torch.dtype, n: int = 8192, reps: int = 10) -> float:
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    for _ in range(3):
        a @ b
    sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e12


def step_times(device: str, steps: int = 100, warmup: int = 20) -> list[dict[str, Any]]:
    rows = []
    for preset in ("gia", "stacked", "improved"):
        default = get_config(preset).precision
        for precision, shape in dict.fromkeys([(default, (1, 28, 28)), ("fp32", (1, 28, 28)),
                                               (default, (3, 32, 32))]):
            if preset == "improved" and shape != (1, 28, 28):
                shape = (3, 32, 32)
            config = get_config(preset, device=device, precision=precision, out=tempfile.mkdtemp())
            split = synthetic_split(100, 5000, 1000, config.pixel_range, image_shape=shape)
            trainer = Trainer(config, split=split, progress=False)
            times = []
            for _ in range(warmup + steps):
                batch = trainer.next_batch()
                sync(device)
                t0 = time.perf_counter()
                trainer.step(batch)
                sync(device)
                times.append(time.perf_counter() - t0)
            row = {"preset": preset, "precision": precision, "image_shape": list(shape),
                   "batch": config.gen_batch_size, "median_ms": 1000 * statistics.median(times[warmup:]),
                   "min_ms": 1000 * min(times[warmup:])}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def checkpoint_across(device: str) -> dict[str, Any]:
    """Train on the device, then evaluate and resume on the CPU."""
    from sgan.inference import load_networks

    with tempfile.TemporaryDirectory() as tmp:
        split = synthetic_split(20, 256, 40)
        config = get_config("gia", device=device, steps=4, sample_interval=2, out=tmp)
        trainer = Trainer(config, split=split, progress=False)
        trainer.fit()
        _, state, _, classifier = load_networks(tmp)
        with torch.no_grad():
            gpu_logits = trainer.classifier.eval()(split.test_images.to(device)).float().cpu()
            cpu_logits = classifier(split.test_images).float()
        import sgan.engine

        sgan.engine.make_split = lambda **kw: split  # resume reads the data again: the same split
        resumed = resume(tmp, steps=6, device="cpu", progress=False)
        return {"saved_on": state["device"], "rng_states": sorted(state["rng"]),
                "max_logit_difference_cpu_vs_device": float((gpu_logits - cpu_logits).abs().max()),
                "resumed_on_cpu_to_step": resumed["steps"], "resumed_device": resumed["device"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N; cpu: a short dry run of the script")
    parser.add_argument("--out", help="write OUT.json and OUT.md")
    parser.add_argument("--report", metavar="JSON", help="print (and with --out, write) the tables of a saved run")
    args = parser.parse_args()
    if args.report:
        text = markdown(json.loads(Path(args.report).read_text()))
        print(text)
        if args.out:
            Path(f"{args.out}.md").write_text(text)
        return
    dry = args.device == "cpu"
    if not dry and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device here; the GPU path is then tested on CPU only (make test)")
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    result: dict[str, Any] = {"machine": machine_info(torch.device(args.device)), "torch": torch.__version__}
    print(json.dumps(result), flush=True)
    result["checkpoint"] = checkpoint_across(args.device)
    print(json.dumps(result["checkpoint"]), flush=True)
    result["parity"] = parity(args.device)
    n = 1024 if dry else 8192
    result["matmul_tflops"] = {"bf16": matmul_peak(args.device, torch.bfloat16, n),
                               "fp32 (no TF32)": matmul_peak(args.device, torch.float32, n)}
    print(json.dumps(result["matmul_tflops"]), flush=True)
    result["steps"] = step_times(args.device, *((3, 1) if dry else (100, 20)))
    text = markdown(result)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(f"{args.out}.json").write_text(json.dumps(result, indent=1) + "\n")
        Path(f"{args.out}.md").write_text(text)


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    cases = json.loads(golden.GOLDEN.read_text())
    lines = [f"GPU: {m.get('gpu')}, CPU: {m['cpu']} ({m['cores']} cores, {m['torch_threads']} threads), "
             f"torch {r['torch']}.", "",
             "Parity with the golden losses (written on the development CPU): the largest difference over the "
             "steps, in multiples of the golden test's per-step tolerance (<= 1 is within it), over the first "
             f"{PARITY_STEPS} float32 steps (the check) and over all 20.", "",
             f"| preset | method | CUDA, steps 1-{PARITY_STEPS} | CUDA, 1-20 | CUDA: first step over | "
             f"this CPU, 1-{PARITY_STEPS} | this CPU, 1-20 |", "|---|---|---:|---:|---:|---:|---:|"]
    dev = next((k for k in r["parity"][0] if k not in ("preset", "method", "cpu")), "cpu")
    verdict = True
    for p in r["parity"]:
        tol = cases[f"{p['preset']}-{p['method']}"]["rtol"]

        def multiples(where: str, tol: list[float] = tol, p: dict = p) -> list[float]:
            return [d / t for d, t in zip(p[where]["differences"], tol, strict=True)]

        gpu, cpu = multiples(dev), multiples("cpu")
        over = next((i + 1 for i, x in enumerate(gpu) if x > 1), None)
        verdict &= max(gpu[:PARITY_STEPS]) <= 1
        lines.append(f"| {p['preset']} | {p['method']} | {max(gpu[:PARITY_STEPS]):.3g} | {max(gpu):.3g} | "
                     f"{over or '-'} | {max(cpu[:PARITY_STEPS]):.3g} | {max(cpu):.3g} |")
    lines += ["", f"Check: {'passed' if verdict else 'FAILED'} (every case within tolerance over steps "
              f"1-{PARITY_STEPS} on {dev}). Where this CPU's differences were added to the golden tolerance "
              "(benchmarks/golden_tolerance.py --other), its columns are at most 0.1 by construction."]
    t = r["matmul_tflops"]
    lines += ["", f"Matrix product n^3 (n = 8192): bf16 {t['bf16']:.0f} TFLOP/s, float32 without TF32 "
              f"{t['fp32 (no TF32)']:.1f} TFLOP/s.", "",
              "| preset | precision | image | batch | ms/step (median) | min |", "|---|---|---|---:|---:|---:|"]
    for s in r["steps"]:
        lines.append(f"| {s['preset']} | {s['precision']} | {'x'.join(map(str, s['image_shape']))} | {s['batch']} | "
                     f"{s['median_ms']:.2f} | {s['min_ms']:.2f} |")
    c = r["checkpoint"]
    lines += ["", f"Checkpoint: saved on {c['saved_on']} with random states {', '.join(c['rng_states'])}; its "
              f"classifier on the CPU gives logits within {c['max_logit_difference_cpu_vs_device']:.1e} of the "
              f"device's; resumed on the CPU ({c['resumed_device']}) to step {c['resumed_on_cpu_to_step']}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
