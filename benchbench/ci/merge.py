"""Merge shard runs (`benchbench run --shard I/N` on several machines) into one run folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from benchbench.ci.gate import profile_key
from benchbench.core.errors import BadInputError
from benchbench.core.noise import worst
from benchbench.core.results import parse_shard
from benchbench.core.schema import write
from benchbench.kernelbench.records import Campaign
from benchbench.record.run import RunResult, load_run
from benchbench.report.run_report import write_report


def _check_same_suite_and_device(runs: list[RunResult], sources: list[str]) -> None:
    """Raise unless every shard ran the first shard's suite on its device."""
    first = runs[0]
    for r, src in zip(runs, sources):
        for attr in ("suite", "device"):
            if getattr(r, attr) != getattr(first, attr):
                raise BadInputError(
                    f"{src}: {attr} {getattr(r, attr)!r} differs from {sources[0]}'s {getattr(first, attr)!r}; "
                    "merge only shards of one suite on one device"
                )


def _check_shard_set(shards: list[str | None], sources: list[str]) -> None:
    """Raise unless the shards are all whole runs, or exactly shards 1..N of one N, each given once."""
    if all(s is None for s in shards):
        return
    if any(s is None for s in shards):
        raise BadInputError("cannot mix shard runs and whole runs: " + ", ".join(
            f"{src} (shard {s or 'none'})" for s, src in zip(shards, sources)))  # fmt: skip
    parsed = [parse_shard(s, f"{src}: shard") for s, src in zip(shards, sources)]
    ns = {n for _, n in parsed}
    if len(ns) != 1:
        raise BadInputError(f"shards split the suite differently: {', '.join(shards)}")
    n = ns.pop()
    seen: dict[int, str] = {}
    for (i, _), src in zip(parsed, sources):
        if i in seen:
            raise BadInputError(f"shard {i}/{n} given twice: {seen[i]} and {src}")
        seen[i] = src
    missing = sorted(set(range(1, n + 1)) - set(seen))
    if missing:
        raise BadInputError(f"missing shard(s) {', '.join(f'{i}/{n}' for i in missing)} of {n}")


def _merged_profiles(runs: list[RunResult], sources: list[str]) -> list:
    """Every shard's profiles in order; raises when two shards measured the same job."""
    owner: dict[tuple, str] = {}
    profiles = []
    for r, src in zip(runs, sources):
        for p in r.profiles:
            key = profile_key(p)
            if key in owner:
                raise BadInputError(
                    f"shards overlap: {p.model} ({p.size}, bs{p.batch_size}) is in {owner[key]} and {src}"
                )
            owner[key] = src
            profiles.append(p)
    return profiles


def _merged_campaign(runs: list[RunResult]) -> Campaign | None:
    """The shards' campaigns as one (the first one's ceilings, every list concatenated), or None."""
    campaigns = [r.campaign for r in runs if r.campaign is not None]
    if not campaigns:
        return None
    merged = Campaign(ceilings=campaigns[0].ceilings)
    for c in campaigns:
        for name in ("notes", "goal_timings", "goals", "checks", "comparisons", "swaps"):
            getattr(merged, name).extend(getattr(c, name))
    return merged


def merge_runs(runs: list[RunResult], sources: list[str]) -> RunResult:
    """One run from its shards; rejects mixed suites or devices, duplicate/missing shards and overlaps."""
    if not runs:
        raise BadInputError("merge needs at least one shard")
    first = runs[0]
    _check_same_suite_and_device(runs, sources)
    _check_shard_set([r.shard for r in runs], sources)
    merged = RunResult(suite=first.suite, device=first.device, profiles=[], env=first.env)
    merged.profiles = _merged_profiles(runs, sources)
    merged.campaign = _merged_campaign(runs)
    merged.noise = worst(r.noise for r in runs)  # a merged run is as noisy as its noisiest shard
    merged.elapsed_s = sum(r.elapsed_s or 0.0 for r in runs)
    merged.env = {**first.env, "merged_from": [r.run_id for r in runs]}
    merged.jobs = [j for r in runs for j in r.jobs]
    merged.settings = dataclasses.replace(first.settings, shard=None) if first.settings else None
    merged.git = first.git
    # Shards measured on other machines have other ceilings: keep them only when every shard ran on one machine.
    prints = {r.env.get("fingerprint") for r in runs}
    merged.ceilings = first.ceilings if len(prints) == 1 else None
    if len(prints) > 1:
        merged.env["machines"] = sorted(str(x) for x in prints)  # each profile's env says which measured it
    return merged


def merge_folders(shards: list[str | Path], out: str | Path) -> Path:
    """Load shard results, merge them, write `results.json` and `report.md` into `out`; return `out`."""
    runs = [load_run(s) for s in shards]
    merged = merge_runs(runs, [str(s) for s in shards])
    out = Path(out)
    if (out / "results.json").exists():
        raise BadInputError(f"{out} already holds results.json; choose a new --out folder")
    write(out / "results.json", merged)
    write_report(merged, out / "report.md", fmt="md")
    write_report(merged, out / "report.html", fmt="html")
    return out
