"""Loading a folder of images: 60,000 MNIST training images as 28x28 PNGs, decoded cold (no cache
of decoded arrays) and warm (from the cache a first load writes). Prints both.

    python benchmarks/folder_loading.py --folder /tmp/mnist-png [--workers N]

The folder is written first where it does not exist (examples/write_image_folders.py with every
training image: 100 labeled, 59,900 unlabeled). "Cold" means sgan's cache is empty; the files
themselves may be in the OS page cache, as they are right after being written.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sgan.data import folders, sources


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folder", default="/tmp/mnist-png")
    p.add_argument("--workers", type=int, help="decoding processes (default: the cores, at most 8)")
    args = p.parse_args()
    folder = Path(args.folder)
    if not folder.exists():
        script = Path(__file__).resolve().parent.parent / "examples" / "write_image_folders.py"
        subprocess.run([sys.executable, str(script), "--dataset", "mnist", "--out", str(folder), "--no-test"],
                       check=True)
    n_files = sum(len(f) for _, _, f in os.walk(folder))
    with tempfile.TemporaryDirectory() as cache:
        sources.default_cache_dir = lambda: Path(cache)  # an empty cache: the first load decodes everything
        if args.workers:
            decode = folders.decode_all
            folders.decode_all = lambda *a, **k: decode(*a, **{**k, "workers": args.workers})
        t0 = time.perf_counter()
        cold = folders.load_folder(folder, progress=False)
        t1 = time.perf_counter()
        warm = folders.load_folder(folder, progress=False)
        t2 = time.perf_counter()
    assert (cold["unlabeled"] == warm["unlabeled"]).all()
    n = len(cold["unlabeled"]) + len(cold["labeled"][0])
    print(f"{n_files} files, {n} images of {cold['unlabeled'].shape[1:]} on {cpu_name()} ({os.cpu_count()} cores)")
    print(f"cold (decode {args.workers or 'default'} workers, write cache): {t1 - t0:.2f} s")
    print(f"warm (from cache): {t2 - t1:.2f} s")


if __name__ == "__main__":
    main()
