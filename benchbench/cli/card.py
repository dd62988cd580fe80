"""`benchbench card MODEL [--size S] [--hardware NAME] [--out FILE]`: an architecture card (Markdown and/or HTML)."""

from __future__ import annotations

import argparse

from benchbench.cli.common import add_model_arguments, check_output, positive_float, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "card", help="write an architecture card: task, diagram, params, recipe, baselines, compute, scaling"
    )
    add_model_arguments(p, size_default="base")
    p.add_argument(
        "--modality", help="a user model's modality (image, text, ...): picks its zoo baselines and recipe"
    )
    p.add_argument(
        "--hardware", default="h100-sxm", help="device for the compute estimate (default h100-sxm)"
    )
    p.add_argument(
        "--train-samples",
        type=positive_int,
        help="training data size (default: the recipe's reference dataset)",
    )
    p.add_argument(
        "--latency-budget-ms",
        type=positive_float,
        help="per-batch latency budget for the cheapest-device search",
    )
    p.add_argument(
        "--out", action="append", help="card.md or card.html; repeat for both (default MODEL_card.md + .html)"
    )
    p.add_argument(
        "--baseline-size",
        help="zoo size of the baseline models (default: the model's own size, base for others)",
    )
    p.add_argument(
        "--serving", metavar="FILE",
        help="a `benchbench serve --json` file of this model: its measured cost, shown apart from the estimate",
    )  # fmt: skip
    p.add_argument(
        "--deploy", metavar="FILE",
        help="a `benchbench deploy --json` file of this model: the card's deployment section names its best row "
             "within the quality budget",
    )  # fmt: skip
    p.add_argument(
        "--no-scaling", action="store_true", help="skip the scaling plan (it profiles four more configs)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.estimate.hardware import get_hardware
    from benchbench.report.card import build_card, write_card

    get_hardware(args.hardware)  # a bad name fails before the profiling starts
    serving = _measured_here(args, "serving", "serve")
    deploy = _measured_here(args, "deploy", "deploy")
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in args.model)
    outs = args.out or [f"{stem}_card.md", f"{stem}_card.html"]
    for o in outs:
        check_output(o, suffixes=(".md", ".html"), what="--out card")
    sections, prof = build_card(
        args.model, size=args.size, hardware=args.hardware, train_samples=args.train_samples,
        latency_budget_ms=args.latency_budget_ms, with_scaling=not args.no_scaling, task=args.task,
        baseline_size=args.baseline_size, modality=args.modality, serving=serving, deploy=deploy,
    )  # fmt: skip
    for o in outs:
        print(write_card(sections, prof, o))
    return 0


def _measured_here(args: argparse.Namespace, flag: str, kind: str):
    """The record of `--FLAG FILE` (a `benchbench serve/deploy --json` file), refused in one line unless it holds
    this card's model at its size; None without the flag."""
    path = getattr(args, flag)
    if path is None:
        return None
    from benchbench.core.errors import BadInputError
    from benchbench.core.schema import read
    from benchbench.sources.target import default_size

    record = read(path, (kind,))
    size = args.size or default_size(args.model, "base")
    if record.model != args.model or (size is not None and record.size != size):
        raise BadInputError(f"--{flag} {path} holds {record.model!r} at size {record.size!r}, "
                            f"not {args.model!r} at {size!r}")  # fmt: skip
    return record
