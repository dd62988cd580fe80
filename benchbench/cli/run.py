"""`benchbench run`: run a suite into a fresh run folder (results.json, report.md, report.html) and the history.

Exit 0 when every job is ok, 1 when a model failed, crashed or timed out, 2 on bad input or a full disk, 130
when interrupted (what was done is kept; the line printed says how to resume).
"""

from __future__ import annotations

import argparse
import math

from benchbench.cli.common import add_trust_argument, check_output_dir, positive_float, positive_int
from benchbench.cli.common import console as make_console
from benchbench.core.errors import BadInputError

EXIT_INTERRUPTED = 130


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a suite and write results, reports and a history row")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--suite", default=None, help="smoke, default, full or gpu (default: default)")
    what.add_argument("--suite-file", metavar="FILE.toml", help="a suite defined in a TOML file")
    what.add_argument("--resume", metavar="RUN_DIR", help="run the jobs an interrupted run folder lacks")
    p.add_argument("--models", metavar="PATTERNS",
                   help="comma list of zoo globs, torchvision:/timm:/hf: names and pkg.module:factory paths (replaces the suite's models)")  # fmt: skip
    p.add_argument("--device", default=None, help="cpu (default), cuda, cuda:N, ...")
    add_trust_argument(p)
    p.add_argument("--shard", help="run the I-th of N deterministic shards, as I/N")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="jobs side by side (default: one per visible GPU on a CUDA device, else 1)")  # fmt: skip
    p.add_argument("--executor", default="local", help="local (worker processes) or ray")
    p.add_argument("--ray-address", help="a Ray cluster to send jobs to (default: a local Ray instance)")
    p.add_argument("--job-timeout", type=positive_float, default=None, metavar="S",
                   help="kill a job running longer, recorded as timeout (default: the suite's)")  # fmt: skip
    p.add_argument("--out", default=None, help="folder under which the run folder is made (default results)")
    p.add_argument("--budget", type=positive_float, metavar="SECONDS",
                   help="time budget of the gpu suite's kernel campaign (default 300); campaign.json is "
                        "rewritten after every step")  # fmt: skip
    p.add_argument("--db", help="history database (default $BENCHBENCH_HISTORY or results/history.sqlite)")
    p.add_argument("--no-history", action="store_true", help="do not append the run to the history")
    p.add_argument("--trace", action="store_true", default=None,
                   help="also write a Chrome/Perfetto trace of each job under RUN/traces/, linked from the report")  # fmt: skip
    p.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace):  # -> RunSettings
    from benchbench.core.device import parse_device
    from benchbench.core.results import Shard
    from benchbench.runs.executors import EXECUTORS
    from benchbench.runs.jobs import resolve_models
    from benchbench.runs.suite import get_suite
    from benchbench.runs.suite_file import load_suite

    dev = parse_device(args.device or "cpu")
    EXECUTORS.get(args.executor)  # an unknown name: one line listing the registered executors
    if args.ray_address and args.executor != "ray":
        raise BadInputError("--ray-address needs --executor ray")
    if args.job_timeout is not None and (not math.isfinite(args.job_timeout) or args.job_timeout <= 0):
        raise BadInputError(f"--job-timeout must be a finite number of seconds > 0, got {args.job_timeout}")
    workers = args.workers
    if workers is None:
        import torch

        workers = torch.cuda.device_count() if dev.type == "cuda" and dev.index is None else 1
    if workers < 1:
        raise BadInputError(f"--workers must be >= 1, got {workers}")
    suite = load_suite(args.suite_file) if args.suite_file else get_suite(args.suite or "default")
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models is not None else None
    if models is not None and not models:
        raise BadInputError("--models is empty; give e.g. --models 'resnet*,my_pkg.models:make_model'")
    if models:
        resolve_models(models)  # a pattern matching nothing fails here, before anything is measured
    settings = suite.settings(device=str(dev), workers=workers, executor=args.executor, ray_address=args.ray_address,
                              shard=Shard.parse(args.shard) if args.shard is not None else None, models=models,
                              job_timeout_s=args.job_timeout, campaign_budget_s=args.budget)  # fmt: skip
    if args.trace and "trace" not in settings.stages:
        settings.stages = [*settings.stages, "trace"]
    return settings


def run(args: argparse.Namespace) -> int:
    from benchbench.ci.history import append_run_or_say, check_db, db_path
    from benchbench.core import inert
    from benchbench.runs.run import check_resume_matches, execute, load_manifest, start_run

    console = make_console()
    db = None if args.no_history else check_db(db_path(args.db))
    if args.resume:
        for flag in ("models", "shard", "workers", "ray_address", "job_timeout", "budget", "trace"):
            if getattr(args, flag) is not None:
                raise BadInputError(
                    f"--resume runs the rest with the run's own settings; drop --{flag.replace('_', '-')}"
                )
        check_resume_matches(load_manifest(args.resume), args.resume, args.device, args.out)
        run_dir = args.resume
    else:
        check_output_dir(args.out or "results", "--out folder")
        run_dir = start_run(settings_from_args(args), args.out or "results")
    outcome = execute(run_dir, log=console.print)
    result = outcome.result
    console.print(f"wrote {outcome.run_dir / 'results.json'} and {outcome.run_dir / 'report.md'}")
    if outcome.interrupted:
        console.print(f"interrupted: {len(result.profiles)} of {len(result.jobs)} jobs done and kept; "
                      f"resume with: benchbench run --resume {outcome.run_dir}", style="yellow")  # fmt: skip
        return EXIT_INTERRUPTED
    if db is not None:
        console.print(append_run_or_say(result, db, outcome.run_dir))
    failed = [p for p in result.profiles if not p.ok]
    for p in failed:
        why = p.outcome.detail if p.outcome else "; ".join(f"{e.stage}: {e.error}" for e in p.errors)
        console.print(inert.one_line(f"{p.job} {p.status}: {why}"), markup=False, style="yellow")
    return 1 if failed else 0
