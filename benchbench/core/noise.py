"""How noisy the machine was: a snapshot of its load at the start of a measurement, and a run's verdict.

`machine_state()` reads, without waiting: the load averages (/proc/loadavg), the CPUs this process may use,
the runnable threads (/proc/stat `procs_running`, this process included), the CPU time counters (/proc/stat,
for steal time between two snapshots) and the frequency governor (/sys/.../cpufreq/scaling_governor).

`noise_verdict` turns the snapshot at the start, one at the end (for steal time over the run), the thread
count and the run's own CI widths into `quiet`, `noisy` or `unusable` (THRESHOLDS; the first that applies):

- unusable: the median relative CI width of the run's latencies is above 20% (a 10% change is not
  resolvable), or steal time is 10% or more, or the 1-minute load is 3 or more per usable CPU;
- noisy: the median relative CI width is above 5%, or a quarter or more of the latencies hit their time cap
  before their CI narrowed, or steal time is 2% or more, or the 1-minute load is 0.7 or more per usable CPU,
  or torch's threads plus the other runnable threads exceed the usable CPUs, or the governor is known and
  not `performance` (frequency scaling);
- quiet: none of these.

A ratio measured in a run judged `unusable` is no finding: `shown_ratio` prints it as UNTRUSTED instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from benchbench.core.results import NoiseVerdict
from benchbench.core.stage import STAGES
from benchbench.core.stats import fmt_ratio

THRESHOLDS: dict[str, float] = {
    "ci_rel_width_noisy": 0.05,
    "ci_rel_width_unusable": 0.20,
    "time_capped_fraction_noisy": 0.25,
    "steal_noisy": 0.02,
    "steal_unusable": 0.10,
    "load_per_cpu_noisy": 0.7,
    "load_per_cpu_unusable": 3.0,
}
VERDICTS = ("quiet", "noisy", "unusable")
UNTRUSTED = "not trustworthy: noise verdict unusable"
_CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass
class MachineState:
    """The machine's load at one moment (None where this OS does not say)."""

    taken_at: float  # time.time()
    cpus: int  # CPUs this process may run on
    load1: float | None = None
    load5: float | None = None
    procs_running: int | None = None  # runnable threads machine-wide, the reader included
    governor: str | None = None
    cpu_ticks: dict[str, int] = field(default_factory=dict)  # /proc/stat's first line, summed over CPUs

    def to_dict(self) -> dict[str, Any]:
        """The state as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> MachineState | None:
        """The state stored by `to_dict`; None when `d` is not one (an older file, or none at all)."""
        if not isinstance(d, dict) or "taken_at" not in d or "cpus" not in d:
            return None
        known = {k: d[k] for k in ("taken_at", "cpus", "load1", "load5", "procs_running", "governor", "cpu_ticks")
                 if k in d}  # fmt: skip
        return cls(**known)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def usable_cpus() -> int:
    """How many CPUs this process may run on (its affinity mask), else the CPU count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def machine_state() -> MachineState:
    """A snapshot of the machine's load now (reads a few /proc and /sys files; does not wait)."""
    state = MachineState(taken_at=time.time(), cpus=usable_cpus())
    loadavg = _read("/proc/loadavg")
    if loadavg:
        parts = loadavg.split()
        state.load1, state.load5 = float(parts[0]), float(parts[1])
    stat = _read("/proc/stat")
    if stat:
        for line in stat.splitlines():
            if line.startswith("cpu "):
                values = [int(v) for v in line.split()[1:]]
                state.cpu_ticks = dict(zip(_CPU_FIELDS, values))
            elif line.startswith("procs_running"):
                state.procs_running = int(line.split()[1])
    governor = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    state.governor = governor.strip() if governor else None
    return state


def steal_fraction(start: MachineState, end: MachineState) -> float | None:
    """The share of CPU time the hypervisor stole between two snapshots; None without counters."""
    a, b = start.cpu_ticks, end.cpu_ticks
    if not a or not b or "steal" not in a or "steal" not in b:
        return None
    total = sum(b.values()) - sum(a.values())
    return (b["steal"] - a["steal"]) / total if total > 0 else None


def run_latencies(run: Any) -> list[Any]:
    """Every latency a run measured: profiles, sweep points, ORT and eager (and both int8) timings.

    `run` is a `benchbench.record.run.RunResult` (typed loosely: core sits below the layer that defines it)."""
    out: list[Any] = []
    for p in run.profiles:
        out += [x for x in (p.latency,) if x is not None]
        out += [s.latency for s in p.sweeps or [] if s.latency is not None]
        for name, record in p.stages.items():  # what each stage timed (export: ORT, eager and int8 latencies)
            latencies = STAGES[name].latencies if name in STAGES.names() else None
            if latencies is not None and record is not None:
                out += latencies(record)
    return out


def untrusted(noise: NoiseVerdict | None) -> bool:
    """Whether a measurement's ratios are not findings: its noise verdict is `unusable`."""
    return noise is not None and noise.verdict == "unusable"


def shown_ratio(value: float | None, ci95: list[float] | None, noise: NoiseVerdict | None, **fmt: str) -> str:
    """A ratio with its CI as `fmt_ratio` writes it, or UNTRUSTED when it was measured in an unusable run."""
    if value is not None and untrusted(noise):
        return UNTRUSTED
    return fmt_ratio(value, ci95, **fmt)


def measured_noise(start: MachineState, latencies: Iterable[Any], threads: int | None) -> NoiseVerdict:
    """The verdict of one command's measurements: the state at its start, steal time until now, its CIs."""
    return noise_verdict(start, latencies, end=machine_state(), threads=threads)


def noise_verdict(
    start: MachineState | None,
    latencies: Iterable[Any],
    *,
    end: MachineState | None = None,
    threads: int | None = None,
) -> NoiseVerdict:
    """quiet / noisy / unusable from the machine's state and the run's CI widths (see the module doc)."""
    lats = list(latencies)
    widths = [w for w in (x.ci95_rel_width for x in lats) if w is not None]
    capped = sum(1 for x in lats if x.stop_reason == "time_cap")
    v = NoiseVerdict(verdict="quiet", thresholds=dict(THRESHOLDS), threads=threads, latencies=len(lats),
                     time_capped=capped)  # fmt: skip
    if widths:
        v.ci_rel_width_median, v.ci_rel_width_max = median(widths), max(widths)
    if start is not None:
        v.cpus, v.load1, v.governor, v.procs_running = (
            start.cpus,
            start.load1,
            start.governor,
            start.procs_running,
        )
        v.load_per_cpu = start.load1 / start.cpus if start.load1 is not None and start.cpus else None
        if end is not None:
            v.steal = steal_fraction(start, end)
    t = THRESHOLDS
    unusable, noisy = [], []
    if v.ci_rel_width_median is not None:
        w = v.ci_rel_width_median
        if w > t["ci_rel_width_unusable"]:
            unusable.append(f"median CI width {w:.1%} of the median > {t['ci_rel_width_unusable']:.0%}")
        elif w > t["ci_rel_width_noisy"]:
            noisy.append(f"median CI width {w:.1%} of the median > {t['ci_rel_width_noisy']:.0%}")
    if lats and capped / len(lats) >= t["time_capped_fraction_noisy"]:
        noisy.append(f"{capped} of {len(lats)} latencies hit their time cap before the CI target")
    if v.steal is not None:
        if v.steal >= t["steal_unusable"]:
            unusable.append(f"steal time {v.steal:.1%} >= {t['steal_unusable']:.0%}")
        elif v.steal >= t["steal_noisy"]:
            noisy.append(f"steal time {v.steal:.1%} >= {t['steal_noisy']:.0%}")
    if v.load_per_cpu is not None:
        if v.load_per_cpu >= t["load_per_cpu_unusable"]:
            unusable.append(f"load {v.load1:.2f} on {v.cpus} CPUs >= {t['load_per_cpu_unusable']:g} per CPU")
        elif v.load_per_cpu >= t["load_per_cpu_noisy"]:
            noisy.append(f"load {v.load1:.2f} on {v.cpus} CPUs >= {t['load_per_cpu_noisy']:g} per CPU")
    if threads is not None and v.procs_running is not None and v.cpus:
        others = max(0, v.procs_running - 1)
        if threads + others > v.cpus:
            noisy.append(f"{threads} torch threads + {others} other runnable threads > {v.cpus} CPUs")
    if v.governor is not None and v.governor != "performance":
        noisy.append(f"CPU frequency governor {v.governor!r} (not 'performance')")
    v.reasons = unusable + noisy
    v.verdict = "unusable" if unusable else "noisy" if noisy else "quiet"
    return v


def run_noise(run: Any, end: MachineState | None = None) -> NoiseVerdict:
    """The verdict of a run from the snapshot in its env (taken at its start) and its latencies."""
    start = MachineState.from_dict(run.env.get("machine"))
    return noise_verdict(start, run_latencies(run), end=end, threads=run.env.get("torch_threads"))


def worst(verdicts: Iterable[NoiseVerdict | None]) -> NoiseVerdict | None:
    """The noisiest of several verdicts (merged shards); None when none is known."""
    known = [v for v in verdicts if v is not None]
    return max(known, key=lambda v: VERDICTS.index(v.verdict)) if known else None
