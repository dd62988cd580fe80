"""Interleaved rounds: two or more callables timed in turn (AB, BA, AB, ...), for ratios that noise cannot fake.

Each round runs every arm for the same number of calls, on the same threads, one arm after the other; the
order rotates from round to round (AB then BA for two arms), and the rounds stop only after whole turns of
the rotation, so that every arm has run first as often as every other.

Every block opens with untimed calls lasting LEAD_IN_S. The calls right after another arm's block run under
that arm's after-effects: torch's OpenMP workers spin for a few ms after a parallel region (libgomp's
default spin count), and an arm's own pool has gone to sleep and its data out of cache. Measured on bert
tiny at 2 threads (load 0.2; `benchmarks/ort_eager_apart.py`): the first eager call after ORT took 2.17 ms
against 1.23 ms after eager; ORT calls within 3.5 ms of an eager call took 0.23 ms, against 0.28 ms later
and 0.28 ms alone (torch's Timer). Timing that switch-over would charge or credit each arm with the other's
threads and bias every ratio. Arms slower than LEAD_IN_LONG_S per call get no lead-in: a few ms are then a
few percent of one call at most, inside the noise. A
between two arms is the median of the per-round ratios of their per-round medians, with the order-statistic
95% CI of that median (`benchbench.core.stats.paired_ratio`): slow drift of the machine's speed hits both
arms of a round alike and cancels in the ratio, and a burst of load widens the interval instead of moving
the estimate. A ratio whose CI contains 1 is "no significant difference".

Effort is adaptive as in `measure.timing`: after the floors (`min_repeats` calls per arm, at least
MIN_ROUNDS rounds, `min_time_s`), rounds go on until every ratio asked for has a CI at most `target_ci` of
its value wide, or `max_time_s` or `max_repeats` calls per arm is reached.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import torch

from benchbench.core.stats import RatioEstimate, paired_ratio, percentile
from benchbench.measure.records import LatencyStats
from benchbench.measure.timing import TimingConfig, timer_for

MIN_ROUNDS = (
    8  # rounds before the first stop: a 95% CI of the median needs 6; 8 keeps one burst from deciding
)
ROUND_S = 0.01  # aim for one arm's block of calls in a round to take about this long
PLANNED_ROUNDS = 20  # calls per round are capped so that max_repeats leaves room for this many rounds
LEAD_IN_S = 0.01  # untimed calls open every block for this long: past the previous arm's spinning threads
LEAD_IN_LONG_S = 0.1  # arms slower than this per call get no lead-in


@dataclass
class Interleaved:
    """Per-call samples and per-round medians of every arm, and what stopped the rounds."""

    arms: list[str]
    device: str
    threads: int
    calls_per_round: int
    samples: dict[str, list[float]] = field(default_factory=dict)  # arm → every call's ms, in order
    round_medians: dict[str, list[float]] = field(default_factory=dict)  # arm → one median per round
    stop_reason: str = "max_repeats"
    elapsed_s: float = 0.0
    devices: dict[str, str] = field(default_factory=dict)  # arm → device, where it differs from `device`
    arm_threads: dict[str, str] = field(default_factory=dict)  # arm → the thread settings it ran with
    # arm → seconds of untimed calls opening each of its blocks
    lead_in_s: dict[str, float] = field(default_factory=dict)

    @property
    def rounds(self) -> int:
        return len(next(iter(self.round_medians.values()), []))

    def ratio(self, num: str, den: str) -> RatioEstimate:
        """num / den: the median of per-round ratios with its 95% CI."""
        return paired_ratio(self.round_medians[num], self.round_medians[den])

    def stats(self, arm: str, batch_size: int = 1) -> LatencyStats:
        """The arm's latency over every call of every round."""
        return LatencyStats.from_samples(self.samples[arm], batch_size=batch_size, device=self.devices.get(arm, self.device),
                                         threads=self.threads, stop_reason=self.stop_reason,
                                         elapsed_s=self.elapsed_s)  # fmt: skip


Context = Callable[[], AbstractContextManager[Any]]


def _probe_ms(once: dict[str, Callable[[], float]], contexts: dict[str, Context]) -> dict[str, float]:
    """Every arm's time per call, in ms: the best of two probes."""
    probes = {}
    for n, t in once.items():
        with contexts[n]():
            probes[n] = min(t() for _ in range(2))
    return probes


def _calls_per_round(slowest_ms: float, cfg: TimingConfig) -> int:
    """Calls per arm per round: the slowest arm's block takes about ROUND_S; at least 1."""
    k = max(1, int(ROUND_S * 1e3 / slowest_ms)) if slowest_ms > 0 else 1
    return max(1, min(k, cfg.max_repeats // PLANNED_ROUNDS))


def torch_threads() -> str:
    """Torch's thread settings now, as a record states them: "torch intra-op 2, inter-op 2"."""
    return f"torch intra-op {torch.get_num_threads()}, inter-op {torch.get_num_interop_threads()}"


def _whole_turns(rounds: int, arms: int) -> int:
    """`rounds` rounded up to a multiple of `arms` (a whole turn of the rotation)."""
    return -(-rounds // arms) * arms


def interleave(
    fns: dict[str, Callable[[], Any]],
    *,
    device: str | torch.device = "cpu",
    config: TimingConfig | None = None,
    ratios: list[tuple[str, str]] | None = None,
    calls_per_round: int | None = None,
    devices: dict[str, str | torch.device] | None = None,
    contexts: dict[str, Context] | None = None,
    min_rounds: int = MIN_ROUNDS,
    arm_threads: dict[str, str] | None = None,
    lead_in_s: float | None = None,
) -> Interleaved:
    """Time the arms `fns` in interleaved rounds until every ratio in `ratios` (default: each arm over the first)
    has the CI asked for by `config`, or a cap is reached.

    `devices` overrides `device` per arm (its timer: CUDA events or the host clock); `contexts` gives an arm a
    context entered around each of its blocks of calls (e.g. a swap paused), outside the timed calls.
    `arm_threads` states the thread settings of arms that do not run on torch's threads (an ORT session's, from
    `deploy.ort_check.session_threads`); the others are recorded with torch's. An arm that runs its own thread
    pool must not leave it spinning into the next arm's time (ORT sessions are made with spinning off), and
    untimed calls lasting `lead_in_s` open every block (default LEAD_IN_S; none for arms slower per call than
    LEAD_IN_LONG_S)."""
    if len(fns) < 2:
        raise ValueError(f"interleaved rounds need two or more arms, got {list(fns)}")
    cfg = config or TimingConfig()
    dev = torch.device(device)
    names = list(fns)
    wanted = ratios or [(n, names[0]) for n in names[1:]]
    devs = {n: torch.device((devices or {}).get(n, dev)) for n in names}
    ctx: dict[str, Context] = {n: (contexts or {}).get(n, contextlib.nullcontext) for n in names}
    for n, fn in fns.items():
        with ctx[n]():
            for _ in range(cfg.warmup):
                fn()
    once = {n: timer_for(fn, devs[n], cfg.flush_l2) for n, fn in fns.items()}
    probes = _probe_ms(once, ctx) if calls_per_round is None or lead_in_s is None else {}
    k = calls_per_round or _calls_per_round(max(probes.values()), cfg)
    lead = {n: lead_in_s if lead_in_s is not None else (LEAD_IN_S if probes[n] <= LEAD_IN_LONG_S * 1e3 else 0.0)
            for n in names}  # fmt: skip
    out = Interleaved(names, str(dev), torch.get_num_threads(), k,
                      {n: [] for n in names}, {n: [] for n in names},
                      devices={n: str(d) for n, d in devs.items() if d != dev},
                      arm_threads={n: (arm_threads or {}).get(n, torch_threads()) for n in names},
                      lead_in_s=lead)  # fmt: skip
    m = len(names)
    min_rounds = _whole_turns(max(min_rounds, MIN_ROUNDS, math.ceil(cfg.min_repeats / k)), m)
    max_rounds = max(min_rounds, cfg.max_repeats // k)
    start = time.perf_counter()
    next_check = min_rounds
    while True:
        _one_round(out, names, once, ctx, k)
        out.elapsed_s = time.perf_counter() - start
        reason, next_check = _stop_reason(out, m, min_rounds, max_rounds, cfg, wanted, next_check)
        if reason is not None:
            out.stop_reason = reason
            return out


def _one_round(out: Interleaved, names: list[str], once: dict, ctx: dict[str, Context], k: int) -> None:
    """One round: every arm's block of untimed calls for `out.lead_in_s` then `k` timed calls, the arms rotated
    so that each leads in turn."""
    r = out.rounds
    for n in names[r % len(names) :] + names[: r % len(names)]:
        t = once[n]
        with ctx[n]():
            _lead_in(t, out.lead_in_s[n])
            block = [t() for _ in range(k)]
        out.samples[n] += block
        out.round_medians[n].append(percentile(sorted(block), 50))


def _lead_in(timed_call: Callable[[], float], seconds: float) -> None:
    """Untimed calls (timed and thrown away, so that a GPU arm is synchronised) for `seconds`; at least one
    when `seconds` > 0."""
    if seconds <= 0:
        return
    end = time.perf_counter() + seconds
    timed_call()
    while time.perf_counter() < end:
        timed_call()


def _stop_reason(
    out: Interleaved, m: int, min_rounds: int, max_rounds: int, cfg: TimingConfig,
    wanted: list[tuple[str, str]], next_check: int,
) -> tuple[str | None, int]:  # fmt: skip
    """Why to stop after this round (None: go on), and the round at which the ratios' CIs are next checked.
    Stops come only after whole turns, so that every arm has led as many rounds as the others."""
    r = out.rounds
    if r % m:
        return None, next_check
    if r >= max_rounds:
        return "max_repeats", next_check
    if r < min_rounds or out.elapsed_s < cfg.min_time_s:
        return None, next_check
    if cfg.target_ci is None:
        return "min_effort", next_check
    if r >= next_check:
        if all(out.ratio(a, b).relative_width <= cfg.target_ci for a, b in wanted):
            return "ci_target", next_check
        next_check = r + max(m, r // 4)
    if out.elapsed_s >= cfg.max_time_s:
        return "time_cap", next_check
    return None, next_check
