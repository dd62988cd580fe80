"""The worker process that runs jobs for a local executor, one after another, until told to stop.

It is started with multiprocessing's spawn method, so it imports this module first: nothing heavy is imported
before its environment is set (CUDA_VISIBLE_DEVICES must be set before torch is imported). Its stdout and stderr
go to a log file, which the executor reads the end of when the worker dies; a model's own prints land there too,
not on the run's progress bar. It ignores SIGINT: the run decides when to stop it. It dies with the run: a
`kill -9` of the run's process ends its workers within a moment (`die_with_parent`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

JOB_MARK = "=== benchbench job: "  # written before each job, so a crash's log tail starts at its own job


PARENT_POLL_S = 0.5


def die_with_parent(parent: int) -> None:
    """End this process as soon as `parent` is gone (a `kill -9` of the run): SIGKILL from the kernel on Linux
    (PR_SET_PDEATHSIG), and everywhere a thread that checks the parent's pid twice a second."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    if os.getppid() != parent:  # the parent died before the guard was set
        os._exit(1)
    threading.Thread(target=watch, name="benchbench-parent-watch", daemon=True).start()


def worker_main(
    conn: Any, log_path: str, env: dict[str, str], threads: int | None, parent: int | None = None
) -> None:
    """Serve (job, settings, out_dir) requests from `conn`, answering each with its profile as JSON data."""
    if parent is not None:
        die_with_parent(parent)
    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)  # the umask decides the mode
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)

    import torch

    from benchbench.core.files import to_jsonable
    from benchbench.core.progress import announce_job, announce_to
    from benchbench.runs.jobs import run_job

    if threads:
        torch.set_num_threads(threads)
    announce_to(Path(log_path).with_suffix(".status"))
    while True:
        request = conn.recv()
        if request is None:
            return
        job, settings, out_dir = request
        print(f"{JOB_MARK}{job.key}", flush=True)
        announce_job(job.key)
        result = run_job(job, settings, Path(out_dir))
        conn.send(to_jsonable(result))
