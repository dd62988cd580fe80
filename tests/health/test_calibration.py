"""The full calibration (benchmarks/health_calibration.py): no false alarm on the known-good architectures,
every broken model caught. Slow: about a quarter of an hour on two cores."""

import importlib.util
import io
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "health_calibration.py"


def _calibration():
    spec = importlib.util.spec_from_file_location("health_calibration", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_calibration_has_no_false_alarm_and_no_miss():
    cal = _calibration()
    rows = cal.calibrate(out=io.StringIO())
    text, false_alarms, misses = cal.summary(rows)
    assert len([r for r in rows if r.group == "library"]) >= 10
    assert (false_alarms, misses) == (0, 0), text


def test_the_broken_set_is_caught_and_says_by_what():
    """The shallow broken models (no lint finding possible) are caught by the probe; fast enough for every run."""
    cal = _calibration()
    rows = [
        cal.probe_one(f"{cal.BROKEN_FILE}:{name}", "broken")
        for name in ("scaled_down_mlp_6", "dead_relu_mlp_6")
    ]
    assert all(r.flagged and "probe: vanishing gradients" in r.caught_by for r in rows), rows
