"""Process-wide CPU settings: glibc keeps freed large blocks, so a step's big activations cost no
page faults once the process has run a few steps."""

import os
import subprocess
import sys

import pytest

CODE = """
import resource
from sgan.config import get_config
from sgan.data import synthetic_split
from sgan.trainer import Trainer
config = get_config("stacked", out="unused", labels=100, threads=1)  # 40 MiB activations a step
trainer = Trainer(config, split=synthetic_split(100, 200, 10, config.pixel_range), progress=False)
for _ in range(2):
    trainer.step(*trainer.next_batch())
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
trainer.step(*trainer.next_batch())
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults_of_a_stacked_step(retain: str) -> int:
    env = {**os.environ, "SGAN_RETAIN_FREED_MEMORY": retain}
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_steps_large_blocks_are_reused_without_page_faults():
    assert page_faults_of_a_stacked_step("1") < 2000
    assert page_faults_of_a_stacked_step("0") > 20000  # the opt-out: glibc's default, fresh pages each time


def test_opting_out_leaves_malloc_alone(monkeypatch):
    from sgan.runtime import retain_freed_memory

    monkeypatch.setenv("SGAN_RETAIN_FREED_MEMORY", "0")
    assert retain_freed_memory() is False
