"""`benchbench gpu-check`: the prepared eight-minute check for a lent GPU (or its code path on a CPU).

Exit 1 when a kernel gave a wrong or non-finite result or a step raised; 2 when the device is not here.
Missed performance goals are reported, not failed: they are measurements, not checks. `--dry-run` prints the
plan and its time estimate (from the recorded compile times) and runs nothing: it needs no GPU.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gpu-check", help="check and time every kernel on a GPU within a budget, JSON after every step"
    )
    p.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu for the code path (default: cuda)")
    p.add_argument("--budget", type=float, default=480.0, metavar="SECONDS",
                   help="stop starting steps after this many seconds (default: 480, the whole GPU plan by its "
                        "estimate)")  # fmt: skip
    p.add_argument("--out", metavar="DIR",
                   help="folder for plan.txt, gpu_check.json (rewritten after each step) and gpu_check.log; on a "
                        "lent machine \"$OUT\", the folder that comes back")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan with its time estimate and run nothing (no GPU needed)")  # fmt: skip
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes compiling kernels in parallel before the timed steps (default: the CPU count "
                        "up to 16; a dry run without a GPU assumes the lent H200's 16)")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from benchbench.core.errors import BadInputError

    if not args.budget > 0:
        raise BadInputError(f"--budget must be a positive number of seconds, got {args.budget:g}")
    if args.workers is not None and args.workers < 1:
        raise BadInputError(f"--workers must be >= 1, got {args.workers}")
    if args.dry_run:
        return dry_run(args)
    if not args.out:
        raise BadInputError('--out DIR is required (on a lent machine: --out "$OUT"); or --dry-run')
    from benchbench.cli.common import check_output_dir
    from benchbench.core.device import parse_device
    from benchbench.runs.gpu_check import JSON_NAME, run_gpu_check

    check_output_dir(args.out, "--out folder")
    device = parse_device(args.device)

    def say(line: str) -> None:  # plain text: a GPU machine's environment may have only torch and triton
        print(line, file=sys.stderr, flush=True)

    record = run_gpu_check(str(device), args.out, args.budget, log=say, workers=args.workers)
    for line in summary_lines(record):
        say(line)
    say(f"wrote {args.out}/{JSON_NAME}")
    return 1 if record.failures else 0


def dry_run(args: argparse.Namespace) -> int:
    """Print the plan for `--device` (a device that is not here is planned all the same) and its estimate."""
    import torch

    from benchbench.runs import gpu_check_plan as planning
    from benchbench.runs.gpu_check import estimated_plan, plan_for

    kind = args.device.split(":")[0]
    if kind not in ("cuda", "cpu"):
        from benchbench.core.errors import BadInputError

        raise BadInputError(f"--device {args.device!r}: allowed: cuda, cuda:N, cpu")
    workers = args.workers or planning.default_workers()
    plan = plan_for(kind)
    steps = estimated_plan(plan, workers)
    for line in planning.format_plan(steps, args.budget, planning.load_compile_times(), workers):
        print(line)
    if kind == "cuda" and not torch.cuda.is_available():
        print("note: no GPU here: this is the plan a GPU run would follow")
    return 0 if planning.total_estimate(steps) <= args.budget else 1


def summary_lines(record) -> list[str]:
    """The steps, the timings side by side, the goals, failures and notes, as terminal lines (plain columns where
    rich is not installed)."""
    from benchbench.report.kernel_tables import gpu_check_sections
    from benchbench.report.terminal import render_terminal

    return render_terminal(gpu_check_sections(record)).splitlines()
