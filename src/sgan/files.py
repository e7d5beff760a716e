"""Writing a run's files so that a crash, a kill or a full disk never leaves a half-written one.

Every file goes to a temporary name beside its target, is flushed to disk, and is renamed over
the target, so a reader sees the old file or the new one. If writing fails (a full disk), the
temporary file is removed and the previous file is left as it was.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO


def atomic_write(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """Call `write(f)` on a temporary binary file, then put it in `path`'s place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        reason = e.strerror or str(e).splitlines()[0]
        raise OSError(f"cannot write {path} ({reason}); the previous file, if any, is unchanged") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode()))


def write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def save_figure(fig: Any, path: str | Path, **kwargs: Any) -> Path:
    """A matplotlib figure as PNG, atomically (rendered in memory first)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **kwargs)
    return write_bytes(path, buffer.getbuffer())


def torch_save(obj: Any, path: str | Path) -> Path:
    """torch.save, atomically: serialised in memory first, so a failed write leaves no partial file."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return write_bytes(path, buffer.getbuffer())


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold `run_dir` for this process alone while it trains there.

    An advisory lock (flock) on `.lock`: the kernel releases it when the process ends, however it
    ends, so a killed run never leaves its folder locked. Raises RunInUse if another process
    holds it.
    """
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock
        yield
        return
    path = Path(run_dir) / ".lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            pid = f.read().strip() or "?"
            raise RunInUse(f"{run_dir} is in use by another sgan process (pid {pid}); wait for it to end, or choose "
                           "another --out") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class RunInUse(RuntimeError):
    """Another process is training in the same run directory."""
