"""The noise verdict: the machine's snapshot, steal time between snapshots, and each threshold's rule."""

from __future__ import annotations

import sys

import pytest

from benchbench.core.noise import (
    THRESHOLDS,
    MachineState,
    machine_state,
    noise_verdict,
    steal_fraction,
    worst,
)
from benchbench.measure.records import LatencyStats


def _lat(width: float, stop: str = "ci_target") -> LatencyStats:
    """A latency whose p50 is 1 ms and whose CI is `width` of it wide."""
    s = LatencyStats.from_samples([1.0] * 9, stop_reason=stop)
    s.ci95_ms = [1.0 - width / 2, 1.0 + width / 2]
    return s


def _state(**kw) -> MachineState:
    base = {"taken_at": 0.0, "cpus": 2, "load1": 0.1, "load5": 0.1, "procs_running": 1, "governor": None,
            "cpu_ticks": {"user": 100, "idle": 900, "steal": 0}}  # fmt: skip
    return MachineState(**{**base, **kw})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and /sys")
def test_the_snapshot_reads_this_machine():
    s = machine_state()
    assert s.cpus >= 1 and s.load1 is not None and s.load1 >= 0 and s.procs_running >= 1
    assert {"user", "idle", "steal"} <= set(s.cpu_ticks)
    assert MachineState.from_dict(s.to_dict()) == s


def test_a_quiet_machine_is_quiet():
    v = noise_verdict(_state(), [_lat(0.02)] * 5, end=_state(cpu_ticks={"user": 200, "idle": 1800, "steal": 1}),
                      threads=1)  # fmt: skip
    assert v.verdict == "quiet" and v.reasons == [] and v.steal == pytest.approx(1 / 1001)


@pytest.mark.parametrize("start, lats, end, threads, verdict, words", [
    (_state(load1=1.6), [_lat(0.02)], None, 1, "noisy", "load 1.60 on 2 CPUs"),
    (_state(load1=6.0), [_lat(0.02)], None, 1, "unusable", ">= 3 per CPU"),
    (_state(procs_running=3), [_lat(0.02)], None, 1, "noisy", "1 torch threads + 2 other runnable"),
    (_state(governor="powersave"), [_lat(0.02)], None, 1, "noisy", "'powersave'"),
    (_state(), [_lat(0.08)], None, 1, "noisy", "median CI width 8.0%"),
    (_state(), [_lat(0.30)], None, 1, "unusable", "> 20%"),
    (_state(), [_lat(0.02, "time_cap")] * 2 + [_lat(0.02)] * 6, None, 1, "noisy", "2 of 8 latencies hit their time cap"),
    (_state(), [_lat(0.02)], _state(cpu_ticks={"user": 130, "idle": 940, "steal": 30}), 1, "unusable", "steal time 30.0%"),
    (_state(), [_lat(0.02)], _state(cpu_ticks={"user": 150, "idle": 947, "steal": 3}), 1, "noisy", "steal time 3.0%"),
    (None, [_lat(0.02)], None, None, "quiet", ""),
])  # fmt: skip
def test_each_rule(start, lats, end, threads, verdict, words):
    v = noise_verdict(start, lats, end=end, threads=threads)
    assert v.verdict == verdict, v.reasons
    assert words in "; ".join(v.reasons)
    assert v.thresholds == THRESHOLDS and v.latencies == len(lats)


def test_steal_needs_two_snapshots_with_counters():
    assert steal_fraction(_state(), _state(cpu_ticks={})) is None
    assert steal_fraction(_state(), _state()) is None  # no time passed


def test_the_noisiest_shard_speaks_for_a_merged_run():
    quiet, noisy = noise_verdict(_state(), [_lat(0.02)]), noise_verdict(_state(load1=1.6), [_lat(0.02)])
    assert worst([quiet, None, noisy]) is noisy and worst([None]) is None
    assert noisy.line().startswith("noisy (load 1.60")
