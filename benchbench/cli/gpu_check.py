"""`benchbench gpu-check`: the prepared five-minute check for a lent GPU (or its code path on a CPU).

Exit 1 when a kernel gave a wrong or non-finite result or a step raised; 2 when the device is not here.
Missed performance goals are reported, not failed: they are measurements, not checks.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gpu-check", help="check and time every kernel on a GPU within a budget, JSON after every step"
    )
    p.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu for the code path (default: cuda)")
    p.add_argument("--budget", type=float, default=300.0, metavar="SECONDS",
                   help="stop starting steps after this many seconds (default: 300)")  # fmt: skip
    p.add_argument(
        "--out", required=True, metavar="DIR", help="folder for gpu_check.json (rewritten after each step)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from benchbench.core.device import parse_device
    from benchbench.core.errors import BadInputError
    from benchbench.runs.gpu_check import JSON_NAME, run_gpu_check

    device = parse_device(args.device)
    if not args.budget > 0:
        raise BadInputError(f"--budget must be a positive number of seconds, got {args.budget:g}")

    def say(line: str) -> None:  # plain text: a GPU machine's environment may have only torch and triton
        print(line, file=sys.stderr, flush=True)

    record = run_gpu_check(str(device), args.out, args.budget, log=say)
    for line in summary_lines(record):
        say(line)
    say(f"wrote {args.out}/{JSON_NAME}")
    return 1 if record.failures else 0


def summary_lines(record) -> list[str]:
    """The steps, the timings side by side, the goals, failures and notes, as terminal lines (plain columns where
    rich is not installed)."""
    from benchbench.report.kernel_tables import gpu_check_sections
    from benchbench.report.terminal import render_terminal

    return render_terminal(gpu_check_sections(record)).splitlines()
