"""Measured training and evaluation speed on this machine, against its measured matmul peak.

    python benchmarks/speed.py                                  # gia, stacked, improved; fp32
    python benchmarks/speed.py --presets stacked --precision fp32,bf16 --steps 40
    python benchmarks/speed.py --json speed.json --markdown speed.md --profile
    python benchmarks/speed.py --time-to-accuracy runs/reproduce/gia-sgan-100-s0 --targets 0.89,0.93

For each preset and its supervised baseline: median milliseconds per training step (and steps
per second) over a warm window, the floating-point operations of one step counted by
`torch.utils.flop_counter.FlopCounterMode`, the GFLOP/s they make, test images classified per
second by the trainer's `predict`, and the process's peak resident memory. The machine's peak
comes from large float32 (and bfloat16) matrix products in the same run, so that the
utilization (achieved / fp32 peak) compares across machines.

Each measurement runs in a fresh process (this script re-invokes itself), so that one preset's
memory and warm caches do not leak into the next. Data are random tensors of MNIST's shapes:
speed does not depend on pixel values. Run it on an otherwise idle machine: two processes
sharing the cores oversubscribe OpenMP threads and the figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULT_MARKER = "SPEED_RESULT "
LABELED, UNLABELED, TEST = 100, 5000, 10000


# ---------------------------------------------------------------------- time to accuracy
def time_to_accuracy(
    history_csv: Path, targets: list[float]
) -> dict[float, tuple[int, float] | None]:
    """For each target, the first (step, wall_seconds) of a run's history.csv where
    test_accuracy >= target, or None if the run never reached it."""
    from sgan.runlog import read_history

    rows = [(int(r["step"]), r["wall_seconds"], r["test_accuracy"]) for r in read_history(history_csv)
            if "test_accuracy" in r]
    result: dict[float, tuple[int, float] | None] = {}
    for target in targets:
        result[target] = next(((step, wall) for step, wall, acc in rows if acc >= target), None)
    return result


def clean_step_ms(run: str, speed_json: Path | None) -> float | None:
    """The idle-machine ms/step of this run's preset, method and precision from a speed.json.

    Reproduction runs often share the cores with other work, so their own wall times overstate
    what a step costs; steps to a target times the clean speed says what the run needs alone.
    """
    config_path = Path(run) / "config.json" if Path(run).is_dir() else Path(run).parent / "config.json"
    if speed_json is None or not speed_json.is_file() or not config_path.is_file():
        return None
    config = json.loads(config_path.read_text())
    key = (config.get("preset"), config.get("method"), config.get("precision", "fp32"), bool(config.get("compile")))
    for row in json.loads(speed_json.read_text()).get("results", []):
        if (row.get("preset"), row.get("method"), row.get("precision"), bool(row.get("compile"))) == key:
            return row.get("median_ms")
    return None


def time_to_accuracy_report(runs: list[str], targets: list[float], speed_json: Path | None = None) -> dict[str, Any]:
    from sgan.runlog import read_history

    table = []
    for run in runs:
        accs = [r["test_accuracy"] for r in read_history(run) if "test_accuracy" in r]
        reached = time_to_accuracy(Path(run), targets)
        ms = clean_step_ms(run, speed_json)
        table.append({
            "run": str(Path(run)),
            "final_accuracy": accs[-1] if accs else None,
            "best_accuracy": max(accs) if accs else None,
            "clean_ms_per_step": ms,
            "targets": {str(t): (None if v is None else {
                "step": v[0], "wall_seconds": v[1], "clean_seconds": None if ms is None else v[0] * ms / 1000})
                for t, v in reached.items()},
        })
    return {"targets": targets, "runs": table}


def _tta_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.2f}%"

    header = ["run", "final", "best"] + [f">= {pct(t)}: step / measured / at clean speed" for t in report["targets"]]
    rows = []
    for r in report["runs"]:
        cells = [r["run"], pct(r["final_accuracy"]), pct(r["best_accuracy"])]
        for t in report["targets"]:
            hit = r["targets"][str(t)]
            clean = "-" if hit is None or hit["clean_seconds"] is None else _duration(hit["clean_seconds"])
            cells.append("not reached" if hit is None
                         else f"{hit['step']} / {_duration(hit['wall_seconds'])} / {clean}")
        rows.append(cells)
    return header, rows


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# ---------------------------------------------------------------------- tables
def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                       for i, (c, w) in enumerate(zip(line, widths, strict=True)))
             for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------- machine
def cpu_info() -> dict[str, Any]:
    import torch

    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "affinity_cores": (len(os.sched_getaffinity(0))
                           if hasattr(os, "sched_getaffinity") else None),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "python": sys.version.split()[0],
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "mkldnn_available": torch.backends.mkldnn.is_available(),
        "mkldnn_bf16_supported": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
    }


def matmul_gflops(dtype_name: str, size: int, repeats: int) -> dict[str, Any]:
    """Best-of-`repeats` GFLOP/s of an n x n by n x n product (2 n^3 operations)."""
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    g = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=g).to(dtype)
    b = torch.randn(size, size, generator=g).to(dtype)
    out = torch.empty(size, size, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up: oneDNN/MKL pick and cache their kernels
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return {"size": size, "best_seconds": best, "gflops": 2 * size**3 / best / 1e9}


def measure_peak(sizes: list[int], repeats: int) -> dict[str, Any]:
    peak: dict[str, Any] = {"sizes": sizes, "repeats": repeats}
    for name in ("fp32", "bf16"):
        try:
            runs = [matmul_gflops(name, n, repeats) for n in sizes]
        except RuntimeError as e:  # a CPU or build without bfloat16 matmul
            peak[name] = {"gflops": None, "error": str(e).splitlines()[0]}
            continue
        best = max(runs, key=lambda r: r["gflops"])
        peak[name] = {"gflops": best["gflops"], "size": best["size"], "runs": runs}
    fp32, bf16 = peak["fp32"]["gflops"], peak["bf16"]["gflops"]
    peak["bf16_speedup"] = bf16 / fp32 if fp32 and bf16 else None
    return peak


def flop_counter_check() -> dict[str, Any]:
    """Does FlopCounterMode see conv, conv-transpose and linear layers, forward and backward,
    on this build? Compared with the textbook counts (2 multiply-adds per MAC; backward =
    input gradient + weight gradient = 2 x forward)."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    n = 4
    cases = {
        # forward MACs: N * Cout * Hout * Wout * Cin * k * k
        "conv2d": (nn.Conv2d(8, 16, 3, stride=2, padding=1), (n, 8, 14, 14),
                   n * 16 * 7 * 7 * 8 * 9),
        # transposed: N * Cin * Hin * Win * Cout * k * k
        "conv_transpose2d": (nn.ConvTranspose2d(8, 16, 4, stride=2, padding=1), (n, 8, 7, 7),
                             n * 8 * 7 * 7 * 16 * 16),
        "linear": (nn.Linear(32, 24), (n, 32), n * 32 * 24),
        "linear_nobias": (nn.Linear(32, 24, bias=False), (n, 32), n * 32 * 24),
    }
    out: dict[str, Any] = {"ok": True}
    for name, (layer, shape, macs) in cases.items():
        x = torch.randn(*shape, requires_grad=True)
        with FlopCounterMode(display=False) as counter:
            layer(x).sum().backward()
        counted = counter.get_total_flops()
        expected = 3 * 2 * macs  # forward + input grad + weight grad
        ops = {str(k): v for k, v in counter.get_flop_counts()["Global"].items()}
        out[name] = {"counted": counted, "expected": expected, "ops": ops}
        out["ok"] &= counted == expected
    return out


# ---------------------------------------------------------------------- one measurement
def synthetic_split(pixel_range: str, n_lab: int = LABELED, n_unl: int = UNLABELED,
                    n_test: int = TEST) -> Any:
    """Random images of MNIST's shape in the preset's pixel range: speed does not depend on pixels."""
    from sgan.data import synthetic_split as split

    return split(n_lab, n_unl, n_test, pixel_range)


def _is_compiled(module: Any) -> bool:
    """torch.compile(module) wraps it (_orig_mod); module.compile() compiles it in place."""
    return module is not None and (hasattr(module, "_orig_mod")
                                   or getattr(module, "_compiled_call_impl", None) is not None)


def _trainer(job: dict[str, Any], split: Any, out: str, compile_: bool) -> Any:
    from sgan.config import get_config
    from sgan.engine import Trainer

    config = get_config(job["preset"], method=job["method"], out=out, precision=job["precision"],
                        compile=compile_, threads=job.get("threads"), labels=LABELED,
                        channels_last=job.get("channels_last"))  # None: the preset's layout
    return Trainer(config, split=split, progress=False)


def count_step_flops(trainer: Any) -> tuple[int, dict[str, int]]:
    from torch.utils.flop_counter import FlopCounterMode

    batch = trainer.next_batch()
    with FlopCounterMode(display=False) as counter:
        trainer.step(batch)
    ops = {str(k): int(v) for k, v in counter.get_flop_counts()["Global"].items()}
    return int(counter.get_total_flops()), ops


def profile_steps(trainer: Any, steps: int, top: int = 10) -> list[dict[str, Any]]:
    """Where a step's time goes: operators by self CPU time over `steps` steps."""
    from torch.profiler import ProfilerActivity, profile, schedule

    # one untimed profiler warm-up step: the first profiled step carries the profiler's set-up
    plan = schedule(wait=0, warmup=1, active=steps, repeat=1)
    with profile(activities=[ProfilerActivity.CPU], schedule=plan) as prof:
        for _ in range(steps + 1):
            trainer.step()
            prof.step()
    events = [e for e in prof.key_averages() if not e.key.startswith("ProfilerStep")]
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    rows = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return [{"op": e.key, "calls_per_step": e.count / steps,
             "self_ms_per_step": e.self_cpu_time_total / 1000 / steps,
             "share": e.self_cpu_time_total / total} for e in rows]


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """Time one preset/method/precision in this process (called in a fresh subprocess)."""
    import torch

    from sgan.config import get_config
    from sgan.evaluation import predict

    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    result: dict[str, Any] = {k: job[k] for k in ("preset", "method", "precision", "compile")}
    split = synthetic_split(get_config(job["preset"]).pixel_range)
    result["rss_before_mib"] = _maxrss_mib()
    with tempfile.TemporaryDirectory() as tmp:
        # FLOPs of one real step. A compiled network hides its operators from the counter, so
        # a compiled run is counted on an eager twin (the same arithmetic).
        if job["compile"]:
            flops, ops = count_step_flops(_trainer(job, split, tmp, compile_=False))
        trainer = _trainer(job, split, tmp, compile_=job["compile"])
        compiled = _is_compiled(trainer.discriminator) or _is_compiled(trainer.generator)
        result["networks_compiled"] = compiled
        result["trainer"] = {"batch": trainer.config.baseline_batch_size if trainer.generator is None
                             else trainer.config.gen_batch_size,
                             "channels_last": trainer.channels_last}
        if not job["compile"]:
            flops, ops = count_step_flops(trainer)

        times = []
        for _ in range(job["warmup"] + job["steps"]):
            batch = trainer.next_batch()
            t0 = time.perf_counter()
            trainer.step(batch)
            times.append(time.perf_counter() - t0)
        warm = times[job["warmup"]:]
        median = statistics.median(warm)
        result.update({
            "first_step_ms": 1000 * times[0],
            "step_ms": [round(1000 * t, 3) for t in warm],
            "median_ms": 1000 * median,
            "min_ms": 1000 * min(warm),
            "max_ms": 1000 * max(warm),
            "steps_per_second": 1 / median,
            "flops_per_step": flops,
            "flops_by_op": ops,
            "gflops_per_second": flops / median / 1e9,
        })

        # Evaluation: the trainer's predict() on the test set (fp32, as the trainer evaluates),
        # with the network the trainer evaluates (the EMA where the preset has one).
        model, images = trainer.classifier, split.test_images
        predict(model, images[:1000])
        evals = []
        for _ in range(job["eval_repeats"]):
            t0 = time.perf_counter()
            predict(model, images)
            evals.append(time.perf_counter() - t0)
        result["eval_seconds"] = statistics.median(evals)
        result["eval_images_per_second"] = len(images) / statistics.median(evals)
        if job.get("profile"):
            result["profile"] = profile_steps(trainer, job["profile"])
    result["peak_rss_mib"] = _maxrss_mib()
    result["torch_threads"] = torch.get_num_threads()
    return result


def _maxrss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB on Linux


# ---------------------------------------------------------------------- driver
BUSY_THRESHOLD = 0.1  # cores of CPU time other processes may use before a row is suspect


def _cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds the whole machine has been busy, CPU seconds of this process and its
    waited-for children), or None where /proc/stat is missing."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    machine = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    own = sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                   resource.getrusage(resource.RUSAGE_CHILDREN)))
    return machine, own


def run_worker(payload: dict[str, Any], in_process: bool) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return its result, with the CPU other
    processes used meanwhile (in cores): anything above ~0.1 means the figures are suspect."""
    before, t0 = _cpu_seconds(), time.perf_counter()
    if in_process:
        result = _dispatch(payload)
    else:
        proc = subprocess.run([sys.executable, __file__, "--_worker", json.dumps(payload)],
                              capture_output=True, text=True)
        lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_MARKER)]
        if lines:
            result = json.loads(lines[-1][len(RESULT_MARKER):])
        else:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            result = {"error": tail[0] if tail else f"exit status {proc.returncode}"}
    after, wall = _cpu_seconds(), time.perf_counter() - t0
    if before and after:
        others = (after[0] - before[0]) - (after[1] - before[1])
        result["background_cpu_cores"] = round(max(others, 0.0) / wall, 3)
    return result


def _dispatch(payload: dict[str, Any]) -> dict[str, Any]:
    if payload["kind"] == "peak":
        result = {"machine": cpu_info(), "peak": measure_peak(payload["sizes"], payload["repeats"]),
                  "flop_counter_check": flop_counter_check()}
        result["peak_process_rss_mib"] = _maxrss_mib()
        return result
    return measure(payload["job"])


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def results_table(
    results: list[dict[str, Any]], fp32_peak: float | None
) -> tuple[list[str], list[list[str]]]:
    header = ["preset", "method", "precision", "ms/step", "steps/s", "GFLOP/step", "GFLOP/s",
              "% fp32 peak", "eval img/s", "peak RSS MiB"]
    rows = []
    for r in results:
        layout = ", NHWC" if r.get("trainer", {}).get("channels_last") else ""
        name = [r["preset"], r["method"], r["precision"] + layout + (" compiled" if r["compile"] else "")]
        if "error" in r:
            rows.append(name + ["error: " + r["error"][:60]] + [""] * (len(header) - 4))
            continue
        util = r["gflops_per_second"] / fp32_peak if fp32_peak else None
        if r.get("background_cpu_cores", 0) > BUSY_THRESHOLD:
            name[2] += " (busy!)"
        rows.append(name + [
            _fmt(r["median_ms"], ".1f"), _fmt(r["steps_per_second"], ".2f"),
            _fmt(r["flops_per_step"] / 1e9, ".3f"), _fmt(r["gflops_per_second"], ".1f"),
            _fmt(None if util is None else 100 * util, ".1f"),
            _fmt(r["eval_images_per_second"], ",.0f"), _fmt(r["peak_rss_mib"], ".0f"),
        ])
    return header, rows


def machine_lines(report: dict[str, Any]) -> list[str]:
    m, p = report["machine"], report["peak"]
    threads = sorted({r.get("torch_threads") for r in report["results"] if "torch_threads" in r})
    lines = [
        f"CPU: {m['cpu']}, {m['cores']} cores (torch capability {m['cpu_capability']}); "
        f"torch {m['torch_version']}, {', '.join(map(str, threads or [m['torch_threads']]))} "
        f"intra-op thread(s)",
        f"matmul peak (best of {p['repeats']}, sizes {', '.join(map(str, p['sizes']))}): "
        f"fp32 {_fmt(p['fp32']['gflops'], '.1f')} GFLOP/s (n={p['fp32'].get('size')})",
    ]
    bf16 = p["bf16"]
    if bf16["gflops"] is None:
        lines.append(f"bf16 matmul failed: {bf16.get('error')}")
    else:
        speedup = p["bf16_speedup"]
        verdict = "faster" if speedup > 1.1 else "NOT faster"
        lines.append(f"bf16 {bf16['gflops']:.1f} GFLOP/s (n={bf16['size']}): {speedup:.2f}x fp32, "
                     f"{verdict} (avx512_bf16 {'yes' if m['avx512_bf16'] else 'no'}, amx_bf16 "
                     f"{'yes' if m['amx_bf16'] else 'no'}, oneDNN bf16 "
                     f"{'yes' if m['mkldnn_bf16_supported'] else 'no'})")
    check = report["flop_counter_check"]
    lines.append("FLOP counter: conv, conv-transpose, linear forward+backward counted as expected"
                 if check["ok"] else "FLOP counter check FAILED: " + json.dumps(check))
    return lines


def notes(report: dict[str, Any]) -> list[str]:
    out = []
    for r in report["results"]:
        if r.get("compile") and not r.get("networks_compiled"):
            out.append(f"{r['preset']} {r['method']}: --compile requested but the Trainer left its "
                       "networks uncompiled (config.compile is ignored): timings are eager.")
        elif r.get("compile") and "first_step_ms" in r:
            out.append(f"{r['preset']} {r['method']} {r['precision']} compiled: first step "
                       f"{r['first_step_ms'] / 1000:.1f} s (compilation), slowest timed step "
                       f"{r['max_ms']:.0f} ms")
    busy = [r for r in report["results"] if r.get("background_cpu_cores", 0) > BUSY_THRESHOLD]
    if busy:
        out.append("(busy!): other processes used "
                   + ", ".join(f"{r['background_cpu_cores']:.2f}" for r in busy)
                   + " cores during these rows' measurements: rerun them on an idle machine.")
    if report.get("background_cpu_cores", 0) > BUSY_THRESHOLD:
        out.append(f"other processes used {report['background_cpu_cores']:.2f} cores during the "
                   "matmul peak: the peak (and utilization) is suspect.")
    if any(r.get("method") == "supervised" and r.get("preset") == "gia" for r in report["results"]):
        out.append("gia supervised samples Keras fit() batches (32, 32, 32, 4): FLOPs are those "
                   "of a full batch of 32; the median step is a full batch.")
    if any(r.get("precision") == "bf16" for r in report["results"]):
        out.append("bf16 rows: autocast in training; evaluation runs in fp32 as the trainer's "
                   "predict() does. Utilization is against the fp32 peak.")
    return out


def write_markdown(path: Path, report: dict[str, Any]) -> None:
    header, rows = results_table(report["results"], report["peak"]["fp32"]["gflops"])
    s = report["settings"]
    text = "\n".join([
        f"Training speed: median of {s['steps']} steps after {s['warmup']} warm-up steps; "
        f"GFLOP/step counted by `torch.utils.flop_counter` on one real step; evaluation: "
        f"{TEST} test images through `predict`.",
        "",
        *(f"- {line}" for line in machine_lines(report)),
        "",
        markdown_table(header, rows),
        "",
        *(f"- {line}" for line in notes(report)),
    ])
    path.write_text(text.rstrip() + "\n")


def print_profiles(results: list[dict[str, Any]]) -> None:
    for r in results:
        if not r.get("profile"):
            continue
        print(f"\nwhere time goes: {r['preset']} {r['method']} {r['precision']} "
              f"(self CPU time per step, {r['median_ms']:.1f} ms median)")
        rows = [[p["op"], f"{p['calls_per_step']:.1f}", f"{p['self_ms_per_step']:.2f}",
                 f"{100 * p['share']:.1f}%"] for p in r["profile"]]
        print(text_table(["op", "calls", "ms", "share"], rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="gia,stacked,improved")
    parser.add_argument("--methods", default="sgan,supervised",
                        help="sgan and/or supervised (the preset's baseline)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps after the warm-up")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--precision", default="fp32", help="comma-separated: fp32, bf16, bf16-generator")
    parser.add_argument("--compile", action="store_true", help="config.compile=True")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction,
                        help="NHWC convolutions on or off for every row (default: each preset's)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: all cores)")
    parser.add_argument("--eval-repeats", type=int, default=3)
    parser.add_argument("--matmul-sizes", default="2048,4096")
    parser.add_argument("--matmul-repeats", type=int, default=5)
    parser.add_argument("--profile", type=int, nargs="?", const=5, default=0, metavar="STEPS",
                        help="also profile STEPS steps (default 5) and print the top operators")
    parser.add_argument("--in-process", action="store_true",
                        help="measure in this process instead of one fresh process each")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--time-to-accuracy", nargs="+", metavar="RUN_DIR",
                        help="instead: steps and wall time each run took to reach --targets")
    parser.add_argument("--targets", default="0.89,0.93",
                        help="test accuracies for --time-to-accuracy (fractions)")
    parser.add_argument("--speed-json", type=Path, default=Path(__file__).parent / "results" / "speed.json",
                        help="for --time-to-accuracy: idle-machine ms/step to convert steps into time")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._worker:
        result = _dispatch(json.loads(args._worker))
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 0

    if args.time_to_accuracy:
        targets = [float(t) for t in args.targets.split(",") if t]
        report = time_to_accuracy_report(args.time_to_accuracy, targets, args.speed_json)
        header, rows = _tta_rows(report)
        print(text_table(header, rows))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        if args.markdown:
            args.markdown.write_text(markdown_table(header, rows) + "\n")
        return 0

    from sgan.config import CHOICES, PRESETS, run_precision

    presets = [p for p in args.presets.split(",") if p]
    methods = [m for m in args.methods.split(",") if m]
    precisions = [p for p in args.precision.split(",") if p]
    for p in presets:
        if p not in PRESETS:
            parser.error(f"unknown preset {p!r}; choose from {', '.join(PRESETS)}")
    for m in methods:
        if m not in ("sgan", "supervised"):
            parser.error(f"unknown method {m!r}; choose sgan or supervised")
    for p in precisions:
        if p not in CHOICES["precision"]:
            parser.error(f"unknown precision {p!r}; choose {', '.join(CHOICES['precision'])}")
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")

    sizes = [int(n) for n in args.matmul_sizes.split(",") if n]
    peak = run_worker({"kind": "peak", "sizes": sizes, "repeats": args.matmul_repeats},
                      args.in_process)
    if "error" in peak:
        print(f"peak measurement failed: {peak['error']}", file=sys.stderr)
        return 1
    report: dict[str, Any] = {**peak, "results": [], "settings": {
        "steps": args.steps, "warmup": args.warmup, "eval_repeats": args.eval_repeats,
        "labeled": LABELED, "unlabeled": UNLABELED, "test": TEST, "threads": args.threads,
        "fresh_process_per_measurement": not args.in_process}}
    for line in machine_lines({**report, "results": []}):
        print(line)
    for preset in presets:
        for method in methods:
            for precision in precisions:
                if run_precision(method, precision) != precision:
                    continue  # computes as another row does (a baseline has no generator to put in bf16)
                job = {"preset": preset, "method": method, "precision": precision,
                       "compile": args.compile, "channels_last": args.channels_last,
                       "threads": args.threads, "steps": args.steps,
                       "warmup": args.warmup, "eval_repeats": args.eval_repeats,
                       "profile": args.profile}
                t0 = time.perf_counter()
                result = run_worker({"kind": "train", "job": job}, args.in_process)
                result = {**{k: job[k] for k in ("preset", "method", "precision", "compile")},
                          **result}
                report["results"].append(result)
                status = result.get("error") or (f"{result['median_ms']:.1f} ms/step, others used "
                                                 f"{result.get('background_cpu_cores', 0):.2f} cores")
                print(f"  {preset} {method} {precision}: {status} "
                      f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    print()
    print(text_table(*results_table(report["results"], report["peak"]["fp32"]["gflops"])))
    for line in notes(report):
        print("note: " + line)
    print_profiles(report["results"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.markdown:
        write_markdown(args.markdown, report)
    return 1 if any("error" in r for r in report["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
