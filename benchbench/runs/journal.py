"""The run journal: one JSON line per finished job, appended, flushed and fsynced the moment the job is done.

A run folder holds `manifest.json` (the run's settings, planned jobs, environment, git state and ceilings,
written when it starts) and `journal.jsonl`. results.json and the reports are built from the two, at the end or
after an interruption; `benchbench run --resume DIR` runs only the jobs the journal lacks.

What can go wrong, and what it costs:
- An append is all or nothing: a short write is continued, and a failed one (ENOSPC) is cut back to the length
  the file had before it, so a full disk leaves no torn line behind. A process killed in the middle of an append
  leaves at most one partial last line, which reading skips and the next append first cuts off.
- A damaged line (not JSON, or not a valid record) costs only its job: reading skips it (`Journal.damaged`
  names it) and `--resume` runs that job again. The other jobs are kept.
- Every line is checked against the manifest: the run id, a job key of the plan, the schema version. A line of
  another run is refused with one line (exit 2): results are never assembled from a foreign job.
- A run folder is worked on by one process at a time (`lock_run_dir`, an flock on `run.lock`): a second
  `--resume` of it is refused with one line while the first runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchbench.core.errors import BadInputError
from benchbench.core.files import FILE_MODE, to_jsonable
from benchbench.core.schema import SCHEMA_VERSION, validate
from benchbench.measure.records import ProfileResult
from benchbench.record.run import RunResult

JOURNAL = "journal.jsonl"
MANIFEST = "manifest.json"
LOCK = "run.lock"
RETRIED_STATUSES = ("crashed", "timeout")  # run once more on --resume (a flaky machine, not the model)


class Journal:
    """The journal of one run folder, checked against its manifest (`manifest`: the run it belongs to)."""

    def __init__(self, run_dir: Path, manifest: RunResult | None = None, *, repair: bool = True) -> None:
        self.path = Path(run_dir) / JOURNAL
        self.run_id = manifest.run_id if manifest is not None else None
        self.plan = {j.key for j in manifest.jobs} if manifest is not None else None
        self.damaged: list[int] = []  # line numbers skipped as damaged in the last read
        self.failures: Counter[str] = Counter()  # job key -> crashed/timeout entries, in the last read
        if repair:
            self._cut_partial_line()

    def _cut_partial_line(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
                f.flush()
                os.fsync(f.fileno())

    def append(self, profile: ProfileResult) -> None:
        """Append one finished job, durably and whole: on an error (e.g. ENOSPC) the file is cut back to its
        length before the call and the OSError raised, so no partial line is left."""
        entry = {"schema_version": SCHEMA_VERSION, "run": self.run_id, "job": profile.job,
                 "profile": to_jsonable(profile)}  # fmt: skip
        data = memoryview((json.dumps(entry, allow_nan=False) + "\n").encode())
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        try:
            start = os.fstat(fd).st_size
            try:
                while data:  # os.write may write less than asked (a nearly full disk, a signal)
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                    os.fsync(fd)
                raise
        finally:
            os.close(fd)

    def read(self) -> list[ProfileResult]:
        """Every valid entry, in the order the jobs finished (a later entry of a job replaces an earlier one).
        Damaged lines are skipped and named in `self.damaged`; a line of another run is refused."""
        self.damaged, self.failures = [], Counter()
        if not self.path.exists():
            return []
        by_job: dict[str, ProfileResult] = {}
        lines = self.path.read_bytes().decode("utf-8", errors="replace").split("\n")
        for n, line in enumerate(lines[:-1], 1):  # the text after the last newline is a partial write
            if not line.strip():
                continue
            profile = self._entry(line, n)
            if profile is None:
                self.damaged.append(n)
                continue
            by_job[profile.job] = profile
            if profile.status in RETRIED_STATUSES:
                self.failures[profile.job] += 1
        return list(by_job.values())

    def _entry(self, line: str, n: int) -> ProfileResult | None:
        """The profile of line `n`, None when the line is damaged; BadInputError when it is another run's."""
        try:
            entry: Any = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("profile"), dict):
            return None
        self._check_belongs(entry, n)
        try:
            profile = validate(ProfileResult, entry["profile"], f"{self.path} line {n}")
        except BadInputError:
            return None
        return profile if profile.job == entry.get("job") else None

    def _check_belongs(self, entry: dict[str, Any], n: int) -> None:
        where = f"{self.path} line {n}"
        if entry.get("schema_version") != SCHEMA_VERSION:
            raise BadInputError(f"{where} has schema version {entry.get('schema_version')!r}, not {SCHEMA_VERSION}: "
                                "it was not written by this benchbench; remove the line to resume")  # fmt: skip
        if self.run_id is not None and "run" not in entry:
            raise BadInputError(f"{where} names no run (written by an older benchbench?); start the run again, or "
                                "remove the line to resume without its job")  # fmt: skip
        if self.run_id is not None and entry.get("run") != self.run_id:
            raise BadInputError(f"{where} belongs to run {entry.get('run')!r}, not to this folder's run "
                                f"{self.run_id}; remove the line (or use that run's folder) to resume")  # fmt: skip
        if self.plan is not None and entry.get("job") not in self.plan:
            raise BadInputError(f"{where} is job {entry.get('job')!r}, which the run's manifest does not plan; "
                                "remove the line to resume")  # fmt: skip


@contextlib.contextmanager
def lock_run_dir(run_dir: Path) -> Iterator[None]:
    """Hold the run folder for this process (an exclusive flock on `run.lock`, released when the process ends,
    however it ends). A folder another process holds is refused with one line."""
    fd = os.open(Path(run_dir) / LOCK, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise BadInputError(f"{run_dir} is being run by another benchbench process (pid {holder}); wait for "
                                "it to finish, or stop it, before resuming this folder") from None  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
