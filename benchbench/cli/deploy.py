"""`benchbench deploy MODEL`: the deployment matrix, every runtime × precision against eager fp32.

Exit 0 when every requested cell is ready, ready with warnings or skipped; 1 when a cell is not-ready or a row's
quality drop is over --max-quality-drop; 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from benchbench.cli.common import (
    add_json_option,
    add_model_arguments,
    check_output,
    check_output_dir,
    console,
    emit_json,
    nonnegative_float,
    positive_int,
)

RUNTIMES_HELP = (
    "comma-separated: eager, compile, export, export-strict, aoti (opt-in, slow), ort, openvino, executorch"
)
PRECISIONS_HELP = "comma-separated: fp32, fp16, bf16, int8-dynamic, int8-static, int8-weight, int4-weight"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "deploy", help="deployment matrix: every runtime × precision, its speed and quality cost"
    )
    add_model_arguments(p)
    p.add_argument("--runtimes", default=None, help=f"{RUNTIMES_HELP} (default: all but aoti, which is listed "
                   "as skipped)")  # fmt: skip
    p.add_argument("--precisions", default=None,
                   help=f"{PRECISIONS_HELP} (default: all, each where the runtime has it; given explicitly, a "
                        "combination a runtime lacks is a skipped row)")  # fmt: skip
    p.add_argument("--batch-size", type=positive_int, default=4, help="batch of every draw (default 4)")
    p.add_argument("--seq-len", type=positive_int, default=None)
    p.add_argument(
        "--threads", type=positive_int, default=1, help="intra-op threads of every runtime (default 1)"
    )
    p.add_argument("--samples", type=positive_int, default=8, help="fresh input draws scored (default 8)")
    p.add_argument("--eval", default=None, metavar="PKG.MOD:FN",
                   help="your metric: FN(callable model) -> number, higher is better; imported only with this flag")  # fmt: skip
    p.add_argument("--max-quality-drop", type=nonnegative_float, default=None, metavar="X",
                   help="exit 1 when a row's quality drop is above X")  # fmt: skip
    p.add_argument("--out", default="deploy_out", metavar="DIR", help="folder for the artifacts")
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.core.errors import BadInputError
    from benchbench.matrix.matrix import RUNTIME_NAMES, MatrixConfig, parse_list, run_matrix
    from benchbench.matrix.quality import load_eval
    from benchbench.matrix.runtimes import PRECISIONS
    from benchbench.sources.target import load_target

    check_output(args.json, what="--json file")
    check_output_dir(args.out, "--out folder")
    runtimes = (
        parse_list(args.runtimes, "runtime", RUNTIME_NAMES) if args.runtimes is not None else RUNTIME_NAMES
    )
    precisions = (
        parse_list(args.precisions, "precision", PRECISIONS) if args.precisions is not None else PRECISIONS
    )
    if args.samples < 2 and args.eval is None:
        raise BadInputError(f"--samples must be >= 2 for a confidence interval, got {args.samples}")
    eval_fn = load_eval(args.eval) if args.eval is not None else None
    target = load_target(args.model, args.size, args.batch_size, args.seq_len, task=args.task)
    cfg = MatrixConfig(runtimes=runtimes, precisions=precisions, all_cells=args.precisions is not None,
                       named_runtimes=runtimes if args.runtimes is not None else (),
                       batch_size=args.batch_size, samples=args.samples, threads=args.threads,
                       max_quality_drop=args.max_quality_drop, eval_fn=eval_fn, eval_name=args.eval)  # fmt: skip
    matrix = run_matrix(target, args.out, cfg)
    print_matrix(matrix, console(args, width=200))
    emit_json(args.json, matrix)
    failed = [r for r in matrix.rows if r.verdict == "not-ready" or r.over_budget]
    return 1 if failed else 0


def print_matrix(m: Any, out: Any) -> None:
    """The matrix's document table, rendered with rich like the other commands' tables."""
    from rich.table import Table as RichTable
    from rich.text import Text

    from benchbench.report.matrix import matrix_table

    table = matrix_table(m)
    title = (f"{m.model} ({m.size}): batch {m.batch_size}, {m.threads} thread(s), {m.samples} draws, quality proxy "
             f"{m.quality_proxy}" + (f", budget max_quality_drop {m.max_quality_drop:g}" if m.max_quality_drop
                                     is not None else ""))  # fmt: skip
    t = RichTable(title=title, show_lines=True)
    for h in table.headers:
        t.add_column(h, overflow="fold")
    colour = {"ready": "green", "ready-with-warnings": "yellow", "not-ready": "red", "skipped": "dim"}
    for row in table.rows:
        t.add_row(*[Text(c, style=colour.get(c, "")) if i == 2 else Text(c) for i, c in enumerate(row)])
    out.print(t)
    for r in m.rows:
        if r.verdict == "not-ready":
            out.print(Text.assemble(("  not-ready: ", "red"), f"{r.runtime} {r.precision}: {r.reason}"))
        if r.over_budget:
            out.print(Text.assemble(("  over the quality budget: ", "red"), f"{r.runtime} {r.precision}: drop "
                                    f"{r.quality.drop:.3g} > {m.max_quality_drop:g} ({r.quality.proxy})"))  # fmt: skip
    out.print(f"  latency ratios: variant / eager fp32 in interleaved rounds (median of per-round ratios, 95% CI; "
              f"n.s.: no significant difference); took {m.stage_s:.1f} s")  # fmt: skip
