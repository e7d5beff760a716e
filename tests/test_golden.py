"""What every preset computes, pinned: the losses of its first 20 float32 steps on a fixed
synthetic split, against tests/golden/first_steps.json.

The file was written by the code before the package was reorganised; this test holds any later
change of what is computed to it. It goes through the public API only (`sgan.train` with a
split, history.csv with an evaluation every step), so that it can stay as it is whatever the
package's insides look like. Regenerate (only for a change meant to alter results) with
`python tests/test_golden.py`.

Tolerance: AMD and Intel CPUs run different oneDNN kernels, which sum in other orders, and
training amplifies that rounding step by step (gia's generator biases feed BatchNorm, so their
gradients are rounding noise that Adam turns into full-size steps). Each case's file therefore
holds a tolerance per step: ten times the largest difference that rounding alone made up to
that step (the same run again, another thread count, for stacked another memory layout, and an
Intel Xeon's run measured by benchmarks/gpu_check.py), at least 1e-5. The first steps stay
tight, and that is where a changed computation shows: Adam's beta1 1% lower or a learning rate
1% higher exceed the tolerance in every case, ten times Adam's epsilon in every case but gia's
baseline. benchmarks/golden_tolerance.py measured all of it (benchmarks/results/golden_tolerance.md).
"""

from __future__ import annotations

import csv
import json
import math
import sys
import tempfile
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden" / "first_steps.json"
CASES = [(p, m) for p in ("gia", "stacked", "improved") for m in ("sgan", "supervised")]
STEPS = 20
LOSSES = ("d_sup_loss", "d_unsup_loss", "g_loss")
SCALE = 1e-2  # losses below this are compared on this scale (a supervised loss falls to 1e-4)


def first_steps(preset: str, method: str, **overrides) -> dict[str, list[float]]:
    """Per-step losses of the first STEPS float32 steps of `preset` on the fixed synthetic split."""
    import sgan
    from sgan.config import run_config
    from sgan.data import synthetic_split

    with tempfile.TemporaryDirectory() as out:
        config = run_config(preset, method, steps=STEPS, seed=0, labels=20, precision="fp32", sample_interval=1,
                            out=out, **overrides)
        split = synthetic_split(20, 256, 40, config.pixel_range, seed=0)
        sgan.train(config, progress=False, split=split)
        with open(Path(out) / "history.csv", newline="") as f:
            rows = [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]
    assert [int(r["step"]) for r in rows] == list(range(1, STEPS + 1))
    return {k: [r[k] for r in rows] for k in LOSSES if k in rows[0]}


def differences(got: dict[str, list[float]], want: dict[str, list[float]]) -> list[float]:
    """Per step, the largest |got - want| / (|want| + SCALE) over the losses."""
    assert got.keys() == want.keys()
    return [max(abs(got[k][i] - want[k][i]) / (abs(want[k][i]) + SCALE) for k in want) for i in range(STEPS)]


def worst(got: dict[str, list[float]], case: dict) -> float:
    """The largest difference over steps, as a multiple of that step's tolerance (<= 1 passes)."""
    return max(d / t for d, t in zip(differences(got, case["losses"]), case["rtol"], strict=True))


@pytest.mark.parametrize(("preset", "method"), CASES)
def test_first_steps_compute_what_they_always_have(preset: str, method: str) -> None:
    case = json.loads(GOLDEN.read_text())[f"{preset}-{method}"]
    got = first_steps(preset, method)
    assert all(math.isfinite(v) for values in got.values() for v in values)
    diffs = differences(got, case["losses"])
    bad = [(i + 1, f"{d:.2g} > {t:.2g}") for i, (d, t) in enumerate(zip(diffs, case["rtol"], strict=True)) if d > t]
    assert not bad, f"{preset} {method}: losses moved from the golden file at (step, difference > tolerance) {bad}"


if __name__ == "__main__":
    # Losses only; benchmarks/golden_tolerance.py --write measures and adds each step's tolerance.
    GOLDEN.parent.mkdir(exist_ok=True)
    golden = {f"{p}-{m}": {"losses": first_steps(p, m)} for p, m in CASES}
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
