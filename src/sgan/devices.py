"""Which device a run computes on, its precision there, and the random state it keeps."""

from __future__ import annotations

import contextlib
from typing import Any

import torch


class DeviceError(ValueError):
    """A device that this machine does not have."""


def resolve_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA where available, else the CPU. An explicit device must exist here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a build without CUDA"
            raise DeviceError(f"--device {name}: no CUDA device is available here (torch {torch.__version__}, "
                              f"{build}); use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "mps" and not (torch.backends.mps.is_available()):
        raise DeviceError(f"--device {name}: Apple's MPS backend is not available here; use --device cpu or auto")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"--device {name}: choose auto, cpu, cuda, cuda:N or mps")
    return device


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on `device` where enabled.

    No cast cache: autocast caches each weight's bf16 copy for the life of the context, and a
    step runs up to four optimizer updates inside one context, so with the cache later updates
    would run on the weights from before the first.
    """
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled, cache_enabled=False)


def rng_state(device: torch.device) -> dict[str, Any]:
    """The global random states a run draws from: the CPU's, and the accelerator's where used."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    elif device.type == "mps":
        state["mps"] = torch.mps.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any] | torch.Tensor, device: torch.device) -> dict[str, Any]:
    """Restore `rng_state`'s states for `device`; returns those of other devices, which a run
    keeps so that they are there again if it goes back (CUDA -> CPU -> CUDA).

    sgan 0.1 saved the CPU state alone, as a tensor.
    """
    if isinstance(state, torch.Tensor):
        state = {"cpu": state}
    torch.set_rng_state(state["cpu"])
    used = {"cpu"}
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
        used.add("cuda")
    elif device.type == "mps" and "mps" in state:
        torch.mps.set_rng_state(state["mps"])
        used.add("mps")
    return {k: v for k, v in state.items() if k not in used}
