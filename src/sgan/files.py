"""Writing a run's files so that a crash, a kill or a full disk never leaves a half-written one.

Every file goes to a temporary name beside its target, is flushed to disk, and is renamed over
the target, so a reader sees the old file or the new one. If writing fails (a full disk), the
temporary file is removed and the previous file is left as it was.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
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
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) or "enforce fail" in str(e) or "write" in str(e).lower():
            reason = getattr(e, "strerror", None) or str(e).splitlines()[0][:120]
            raise OSError(f"cannot write {path} ({reason}); the previous file, if any, is unchanged") from None
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode()))


def write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def torch_save(obj: Any, path: str | Path) -> Path:
    """torch.save, atomically: serialised in memory first, so a failed write leaves no partial file."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return write_bytes(path, buffer.getbuffer())
