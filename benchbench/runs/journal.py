"""The run journal: one JSON line per finished job, appended, flushed and fsynced the moment the job is done.

A run folder holds `manifest.json` (the run's settings, planned jobs, environment, git state and ceilings,
written when it starts) and `journal.jsonl`. results.json and the reports are built from the two, at the end or
after an interruption; `benchbench run --resume DIR` runs only the jobs the journal lacks. A process killed in
the middle of an append leaves at most one partial last line, which reading skips and the next append first
cuts off, so every complete line stays readable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from benchbench.core.errors import BadInputError
from benchbench.core.files import to_jsonable
from benchbench.core.schema import SCHEMA_VERSION, validate
from benchbench.measure.records import ProfileResult

JOURNAL = "journal.jsonl"
MANIFEST = "manifest.json"


class Journal:
    """A run's journal.jsonl: one line per finished job, appended and fsynced at once; a torn last line is cut on open."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / JOURNAL
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
        """Append one finished job, durably (raises OSError, e.g. ENOSPC, having written nothing readable)."""
        line = json.dumps({"schema_version": SCHEMA_VERSION, "job": profile.job, "profile": to_jsonable(profile)},
                          allow_nan=False) + "\n"  # fmt: skip
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        except OSError:
            os.close(fd)
            self._cut_partial_line()
            raise
        os.close(fd)

    def read(self) -> list[ProfileResult]:
        """Every complete entry, in the order the jobs finished (a later entry of a job replaces an earlier one)."""
        return read_journal(self.path)


def read_journal(path: Path) -> list[ProfileResult]:
    """The profiles a journal holds, the last one per job; a partial last line is ignored, a bad line is a BadInputError."""
    if not path.exists():
        return []
    by_job: dict[str, ProfileResult] = {}
    lines = path.read_text(errors="replace").split("\n")
    for n, line in enumerate(lines[:-1], 1):  # the text after the last newline is a partial write
        if not line.strip():
            continue
        try:
            entry: Any = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadInputError(f"{path}: line {n} is not JSON ({e.msg})") from None
        if not isinstance(entry, dict) or "profile" not in entry:
            raise BadInputError(f"{path}: line {n} is not a journal entry (needs 'profile')")
        profile = validate(ProfileResult, entry["profile"], f"{path} line {n}")
        by_job[profile.job or f"line {n}"] = profile
    return list(by_job.values())
