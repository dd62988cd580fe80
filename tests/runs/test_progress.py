"""The run's sign of life: the time left from the jobs done, and each busy worker's job and stage."""

import time

from benchbench.core import progress
from benchbench.runs.progress import eta_s, fmt_duration, worker_lines


def test_time_left_is_unknown_before_the_first_job_then_follows_the_rate():
    assert eta_s(0, 30.0, 10) is None
    assert eta_s(2, 60.0, 10) == 300.0  # two jobs a minute, ten to go
    assert (
        fmt_duration(42.4) == "42 s"
        and fmt_duration(150) == "2 min 30 s"
        and fmt_duration(4000) == "1 h 06 min"
    )


def test_a_worker_status_names_its_job_stage_and_seconds(tmp_path, monkeypatch):
    since = time.time() - 1
    monkeypatch.setattr(progress, "_job", None)
    progress.announce_to(tmp_path / "worker-0.status")
    try:
        progress.announce_stage("latency")  # no job yet: nothing written
        assert worker_lines(tmp_path, set(), since) == []
        progress.announce_job("resnet18 tiny bs1 float32")
        assert worker_lines(tmp_path, set(), since) == ["  resnet18 tiny bs1 float32: build (0 s)"]
        progress.announce_stage("export")
        assert worker_lines(tmp_path, set(), since)[0].startswith("  resnet18 tiny bs1 float32: export (")
        assert worker_lines(tmp_path, {"resnet18 tiny bs1 float32"}, since) == []  # finished: not shown
        assert worker_lines(tmp_path, set(), time.time() + 60) == []  # an older session's status: not shown
    finally:
        progress.announce_to(None)
        monkeypatch.setattr(progress, "_job", None)


def test_an_unreadable_status_is_skipped(tmp_path):
    (tmp_path / "worker-1.status").write_text("{not json")
    assert worker_lines(tmp_path, set(), 0.0) == []
