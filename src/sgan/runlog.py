"""A run's history (history.csv) and the machine it ran on."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import platform
from pathlib import Path
from typing import Any

import torch

from sgan.files import write_text


def write_history(path: Path, rows: list[dict[str, float]]) -> None:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, out.getvalue())


def read_history(run: str | Path) -> list[dict[str, float]]:
    """A run's history.csv (given its directory or the file) as rows of floats, by step; blank
    cells are left out."""
    path = Path(run)
    path = path / "history.csv" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no history.csv (has the run written its first evaluation?)")
    with open(path, newline="") as f:
        rows = [{k: float(v) for k, v in row.items() if v not in (None, "")} for row in csv.DictReader(f)]
    return sorted(rows, key=lambda row: row["step"])


def machine_info(device: torch.device | None = None) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version()}
    if device is not None:
        info["device"] = str(device)
        if device.type == "cuda":
            info["gpu"] = torch.cuda.get_device_name(device)
    return info
