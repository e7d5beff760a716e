"""benchmarks/speed.py's time_to_accuracy on a hand-written history.csv."""

import importlib.util
import sys
from pathlib import Path

SPEED = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"


def load_speed():
    spec = importlib.util.spec_from_file_location("benchmarks_speed", SPEED)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_time_to_accuracy(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(
        "step,wall_seconds,d_sup_loss,test_accuracy\n"
        "800,41.5,0.9,0.7512\n"
        "1600,83.25,0.5,0.8900\n"  # reaches 0.89 exactly: >= counts
        "2400,125.0,0.4,0.8850\n"  # a dip below 0.89 does not undo it
        "3200,166.75,0.3,0.9301\n"
    )
    result = load_speed().time_to_accuracy(history, [0.5, 0.89, 0.93, 0.95])
    assert result == {0.5: (800, 41.5), 0.89: (1600, 83.25), 0.93: (3200, 166.75), 0.95: None}
    assert isinstance(result[0.89][0], int)
