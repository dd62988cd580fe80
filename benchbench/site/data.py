"""What a results site shows, read from the history database and from results files: runs, the profiles
they measured and the kernels they timed, as typed rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from benchbench.core.errors import BadInputError


@dataclass(frozen=True)
class RunRow:
    """One run: where and when it ran, on which commit of the user's repository, and where its folder is."""

    run_id: str
    suite: str
    device: str
    created_at: str
    commit: str | None
    dirty: bool | None
    results_path: str | None


@dataclass
class ProfileRow:
    """One model configuration measured by one run."""

    run_id: str
    model: str
    size: str
    batch_size: int
    device: str
    dtype: str
    status: str
    p50_ms: float | None
    p99_ms: float | None
    ci_lo: float | None
    ci_hi: float | None
    peak_memory_bytes: int | None
    params: int | None
    macs: int | None
    samples: list[float] | None = field(default=None, repr=False)

    @property
    def config(self) -> tuple[str, str, int, str]:
        """(device, size, batch size, dtype): what must match for two runs to be compared."""
        return self.device, self.size, self.batch_size, self.dtype


@dataclass(frozen=True)
class KernelRow:
    """One timed kernel implementation at one shape, in one run."""

    run_id: str
    op: str
    impl: str
    baseline: bool
    device: str
    dtype: str
    shape: str
    mode: str
    p50_ms: float
    ci_lo: float | None
    ci_hi: float | None
    tflops: float | None
    gbps: float | None
    speedup: float | None


@dataclass
class SiteData:
    """Everything a site shows; runs by id."""

    runs: dict[str, RunRow] = field(default_factory=dict)
    profiles: list[ProfileRow] = field(default_factory=list)
    kernels: list[KernelRow] = field(default_factory=list)

    def add(self, other: SiteData) -> None:
        """Take `other`'s rows; a run already here (by id) keeps the rows read first."""
        new = {k: v for k, v in other.runs.items() if k not in self.runs}
        self.runs.update(new)
        self.profiles += [p for p in other.profiles if p.run_id in new]
        self.kernels += [k for k in other.kernels if k.run_id in new]


def load_history(db: str | Path) -> SiteData:
    """Every run, profile and kernel row of the history database `db` (refused with one line if not one)."""
    from benchbench.ci.history import connect

    con = connect(db, create=False)
    try:
        data = SiteData()
        for r in con.execute(
            "SELECT run_id, suite, device, created_at, git_commit, git_dirty, results_path FROM runs"
        ):
            data.runs[r[0]] = RunRow(r[0], r[1] or "", r[2] or "", r[3] or "", r[4], None if r[5] is None else bool(r[5]), r[6])  # fmt: skip
        cols = ("run_id, model, size, batch_size, device, dtype, status, p50_ms, p99_ms, p50_ci_lo, p50_ci_hi, "
                "peak_memory_bytes, params, macs, samples")  # fmt: skip
        for r in con.execute(f"SELECT {cols} FROM profiles"):
            data.profiles.append(ProfileRow(*r[:6], r[6] or "ok", *r[7:14], samples=_samples(r[14])))
        for r in con.execute(
            "SELECT run_id, op, impl, baseline, device, dtype, shape, mode, p50_ms, p50_ci_lo, p50_ci_hi, tflops, "
            "gbps, speedup FROM kernels WHERE p50_ms IS NOT NULL"
        ):
            data.kernels.append(KernelRow(r[0], r[1], r[2], bool(r[3]), *r[4:]))
    finally:
        con.close()
    return data


def _samples(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    return [float(v) for v in values] if isinstance(values, list) else None


def load_results(path: str | Path) -> SiteData:
    """The rows of one run folder or results.json (`benchbench run`), or of a `kernels compare --json` file."""
    from benchbench.core.schema import read

    p = Path(path)
    file = p / "results.json" if p.is_dir() else p
    record = read(file, ("run", "kernel_compare"))
    if hasattr(record, "profiles"):
        return _from_run(record, p if p.is_dir() else p.parent)
    return _from_compare(record, file)


def _from_run(run, folder: Path) -> SiteData:
    from benchbench.ci.history import kernel_rows

    data = SiteData()
    git = run.git
    data.runs[run.run_id] = RunRow(run.run_id, run.suite, run.device, run.created_at, git.commit if git else None,
                                   git.dirty if git else None, str(folder.resolve()))  # fmt: skip
    for p in run.profiles:
        lat = p.latency
        ci = lat.ci95_ms if lat and lat.ci95_ms else (None, None)
        data.profiles.append(ProfileRow(
            run.run_id, p.model, p.size, p.batch_size, p.device, p.dtype, p.status, lat.p50_ms if lat else None,
            lat.p99_ms if lat else None, *ci, p.memory.peak_bytes_inference if p.memory else None,
            p.params.total if p.params else None, p.flops.macs if p.flops else None,
            samples=list(lat.samples_ms) if lat and lat.samples_ms else None,
        ))  # fmt: skip
    data.kernels += [_kernel(run.run_id, r) for r in kernel_rows(run)]
    return data


def _from_compare(result, file: Path) -> SiteData:
    """A `kernels compare` file is a run of its own, named after the file."""
    run_id = f"compare:{file.name}"
    created = result.env.get("timestamp") or result.env.get("created_at") or ""
    data = SiteData(
        runs={run_id: RunRow(run_id, "kernels compare", result.device, str(created), None, None, None)}
    )
    data.kernels = [_kernel(run_id, r) for r in result.rows if r.status == "timed" and r.p50_ms is not None]
    return data


def _kernel(run_id: str, r) -> KernelRow:
    ci = r.ci95_ms or (None, None)
    return KernelRow(run_id, r.op, r.impl, bool(r.baseline), r.device, r.dtype, r.shape, r.mode, r.p50_ms, *ci,
                     r.tflops, r.gbps, r.speedup)  # fmt: skip


def load_site_data(db: str | Path | None, results: list[str | Path]) -> SiteData:
    """The history (when `db` is given) and every results path, each run once; nothing at all is refused."""
    data = load_history(db) if db is not None else SiteData()
    for path in results:
        data.add(load_results(path))
    if not data.runs:
        where = ", ".join([str(db)] if db else [] + [str(r) for r in results])
        raise BadInputError(f"no runs to show in {where}; run `benchbench run` first or give results folders")
    return data
