"""`benchbench swap MODEL --ops attention,layernorm`: swap ops for fused kernels, check parity and speed.

Exit 0 when the swapped model's outputs match the original's; 1 when they do not, when they cannot be judged, or
when nothing was swapped (verdict `nothing-swapped`: no call site was routed, so nothing was tested); 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from benchbench.cli.common import (
    add_json_option,
    add_model_arguments,
    check_output,
    console,
    emit_json,
    positive_int,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("swap", help="route a model's ops to fused kernels; check parity and speed")
    add_model_arguments(p)
    p.add_argument("--ops", required=True, help="comma-separated ops: attention,layernorm,rmsnorm,gelu,...")
    p.add_argument("--impl", default="triton", help="implementation to swap in (default triton)")
    p.add_argument(
        "--batch-size", type=positive_int, default=None, help="default 1 (a factory returning inputs: theirs)"
    )
    p.add_argument("--seq-len", type=positive_int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", help="float32, bfloat16 or float16 (autocast)")
    p.add_argument("--rounds", type=positive_int, default=8,
                   help="at least this many interleaved timing rounds before/after (more until the speed-up's "
                        "95%% CI is 5%% wide or 1 s has passed; default 8)")  # fmt: skip
    p.add_argument("--intercept", default="patch",
                   help="how direct SDPA calls are caught: patch (F and bound names; cheap) or mode (a TorchFunctionMode)")  # fmt: skip
    p.add_argument("--threads", type=positive_int, default=None, help="torch intra-op threads (CPU)")
    p.add_argument("--no-mha-route", action="store_true",
                   help="leave nn.MultiheadAttention modules to their own code (SDPA calls inside them are still routed)")  # fmt: skip
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.core.device import parse_device
    from benchbench.core.dtypes import parse_dtype
    from benchbench.core.errors import BadInputError
    from benchbench.kernelbench.swap_check import check_swap
    from benchbench.kernels.registry import get_kernel, get_op
    from benchbench.measure.memory import check_batch_fits
    from benchbench.measure.sweep import num_threads
    from benchbench.sources.target import load_target, requested_batch

    check_output(args.json, what="--json file")
    device = parse_device(args.device)
    dtype = parse_dtype(args.dtype)
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    if not ops:
        raise BadInputError("--ops is empty; give e.g. --ops attention,layernorm")
    if args.rounds < 1:
        raise BadInputError(f"--rounds must be >= 1, got {args.rounds}")
    for op in ops:
        get_kernel(get_op(op).name, args.impl)  # unknown op or implementation: one clear error
    batch = requested_batch(args.model, args.batch_size, 1)
    with num_threads(args.threads):
        check_batch_fits(args.model, args.size, batch or 1, args.seq_len, task=args.task)
        target = load_target(args.model, args.size, batch, args.seq_len, task=args.task)
        result = check_swap(target, ops, args.impl, device=str(device), dtype=dtype, rounds=args.rounds,
                            intercept=args.intercept, mha=not args.no_mha_route)  # fmt: skip
    print_swap(result, console(args, width=120))
    emit_json(args.json, result)
    return 0 if result.ok else 1


def print_swap(r: Any, out: Any) -> None:
    """Print a swap's summary on the console `out`: the document tables of `benchbench.report.kernel_tables`."""
    from benchbench.report.kernel_tables import swap_sections
    from benchbench.report.terminal import print_sections

    print_sections(swap_sections(r), out)
