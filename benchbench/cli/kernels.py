"""`benchbench kernels compare OP` and `benchbench kernels check`.

compare: every implementation of an op over a shape sweep, against measured peaks; exit 1 when an
implementation's output is wrong (outside tolerance, NaN, or of another shape).
check: every Triton kernel × config compiled for GPU targets on a machine that has none; exit 1 when a kernel
has no launchable config without spills on a target, or attention's sm_90 code has no HGMMA; exit 2 when
Triton cannot compile for CUDA here.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from benchbench.cli.common import JSON_HELP, check_output, console, emit_json, output_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kernels", help="kernel tools: compare implementations of an op; compile for GPU targets"
    )
    ksub = p.add_subparsers(dest="kernels_command", required=True)
    c = ksub.add_parser("compare", help="time every implementation of an op over a shape sweep")
    c.add_argument("op", help="attention, layernorm, rmsnorm, softmax, gelu, swiglu, selective_scan")
    c.add_argument("--impl", action="append", metavar="NAME",
                   help="only this implementation (repeatable; the same one twice is an A/A comparison)")  # fmt: skip
    c.add_argument("--skip-impl", action="append", metavar="NAME", default=[],
                   help="leave this implementation out, its rows saying so (repeatable; e.g. compile: "
                        "torch.compile takes minutes of C++ compilation on a small CPU)")  # fmt: skip
    c.add_argument("--shapes", action="append", metavar="K=V,...",
                   help="a shape such as B=2,H=4,T=256,D=64 (repeatable; default: the op's sweep)")  # fmt: skip
    c.add_argument("--device", default="cpu")
    c.add_argument("--dtype", default="float32", help="float32, bfloat16 or float16")
    c.add_argument("--backward", action="store_true", help="also time the backward pass")
    c.add_argument(
        "--json",
        metavar="FILE",
        type=output_file,
        help=JSON_HELP + "; a PNG/SVG plot is written beside a FILE",
    )
    c.set_defaults(func=run_compare)
    k = ksub.add_parser("check", help="compile every Triton kernel × config for GPU targets, without a GPU")
    k.add_argument("--target", default="sm_90,sm_100", help="comma-separated: sm_80, sm_86, sm_89, sm_90, "
                   "sm_100, sm_120 (default: sm_90,sm_100)")  # fmt: skip
    k.add_argument("--subset", default="full", choices=("full", "ci"),
                   help="full: every compile shape, dtype and autotune config; ci: the representative few, "
                        "autotuning off")  # fmt: skip
    k.add_argument("--ops", help="only these ops, comma-separated (default: every op with a Triton kernel)")
    k.add_argument("--jobs", type=int, help="worker processes (default: the CPU count)")
    k.add_argument(
        "--rows", action="store_true", help="print every kernel × config row, not only the summary"
    )
    k.add_argument("--json", metavar="FILE", type=output_file, help=JSON_HELP)
    k.add_argument("--compile-times", metavar="FILE",
                   help="compile without Triton's cache and write each kernel × config's seconds as TOML (the "
                        "data gpu-check plans from: benchbench/data/kernel_compile_times.toml)")  # fmt: skip
    k.set_defaults(func=run_check)


def run_compare(args: argparse.Namespace) -> int:
    from benchbench.core.device import parse_device
    from benchbench.core.dtypes import parse_dtype
    from benchbench.core.errors import unknown_name
    from benchbench.kernelbench.compare import check_shape_memory, compare_op, parse_shape
    from benchbench.kernels.registry import get_op, list_kernels
    from benchbench.report.plots import write_compare

    check_output(args.json, what="--json file")
    device = parse_device(args.device)
    dtype = parse_dtype(args.dtype)
    spec = get_op(args.op)
    shapes = [parse_shape(s, spec) for s in args.shapes] if args.shapes else None
    for shape in shapes or []:
        check_shape_memory(spec, shape, dtype, str(device))
    known = {k.name for k in list_kernels(spec.name)}
    for name in args.skip_impl:
        if name not in known:
            raise unknown_name(f"implementation of {spec.name} for --skip-impl", name, known)
    skip = {name: "--skip-impl" for name in args.skip_impl}
    result = compare_op(spec.name, impls=args.impl, shapes=shapes, device=str(device), dtype=dtype,
                        backward=args.backward, skip=skip)  # fmt: skip
    out = console(args, width=max(120, _terminal_width()))
    print_compare(result, out)
    if args.json == "-":
        emit_json("-", result)
    elif args.json:
        for path in write_compare(result, args.json):
            out.print(f"wrote {path}")
    return 1 if any(r.ok is False for r in result.rows) else 0


def run_check(args: argparse.Namespace) -> int:
    from benchbench.core.errors import BadInputError
    from benchbench.kernelbench.gpu_compile import check_kernels, parse_targets
    from benchbench.kernels.registry import get_op

    targets = parse_targets(args.target)
    ops = [get_op(o.strip()).name for o in args.ops.split(",") if o.strip()] if args.ops else None
    if args.jobs is not None and args.jobs < 1:
        raise BadInputError(f"--jobs must be >= 1, got {args.jobs}")
    out = console(args, width=140)
    if args.compile_times:
        check_output(args.compile_times, what="--compile-times file")
        os.environ["TRITON_ALWAYS_COMPILE"] = (
            "1"  # inherited by the workers: every compile is timed, none cached
        )
    result = check_kernels(targets, ops=ops, subset=args.subset, jobs=args.jobs,
                           log=lambda m: out.print(m, markup=False))  # fmt: skip
    print_check(result, out, rows=args.rows)
    emit_json(args.json, result)
    if args.compile_times:
        from benchbench.core.files import write_text
        from benchbench.kernelbench.gpu_compile import compile_times_toml

        command = "benchbench kernels check --target " + ",".join(result.targets) + f" --subset {args.subset}"
        write_text(args.compile_times, compile_times_toml(result, command + " --compile-times FILE"))
        out.print(f"wrote {args.compile_times}")
    if args.json and args.json != "-":
        out.print(f"wrote {args.json}")
    return 0 if result.ok else 1


def check_summary(result: Any) -> list[dict[str, Any]]:
    """One line per (op, kernel, target): configs compiled and launchable, registers, shared bytes, spills,
    tensor-core instructions."""
    out = []
    keys = sorted(
        {(r.op, r.kernel, r.target) for r in result.rows}, key=lambda k: (k[0], k[1], int(k[2][3:]))
    )
    for op, kernel, target in keys:
        mine = [r for r in result.rows if (r.op, r.kernel, r.target) == (op, kernel, target)]
        built = [r for r in mine if r.compiled]
        regs = [r.registers for r in built]
        shared = [r.shared_bytes for r in built]
        tc: dict[str, int] = {}
        for r in built:
            for name in r.tensor_core:
                tc[name] = tc.get(name, 0) + 1
        out.append({
            "op": op, "kernel": kernel, "target": target, "rows": len(mine), "compiled": len(built),
            "launchable": sum(r.launchable for r in mine), "clean": sum(r.ok for r in mine),
            "spilling": sum(r.spills for r in mine), "registers": (min(regs), max(regs)) if regs else None,
            "shared_bytes": (min(shared), max(shared)) if shared else None,
            "max_local_bytes": max((r.local_bytes or 0 for r in built), default=None),
            "max_spill_stores": max((r.spill_stores or 0 for r in built), default=None),
            "tma_rows": sum(1 for r in built if r.tma_loads),
            "ws_rows": sum(1 for r in built if r.warp_partitions or r.setmaxreg),  # warp-specialised code
            "tensor_core": tc,
        })  # fmt: skip
    return out


def print_check(result: Any, out: Any, rows: bool = False) -> None:
    from rich.table import Table

    table = Table(title=f"Triton kernels compiled for {', '.join(result.targets)} ({result.subset}), "
                  f"{len(result.rows)} kernel × config rows in {result.elapsed_s:.0f} s")  # fmt: skip
    for col in ("op", "kernel", "target", "launchable / rows", "no spill", "registers", "shared bytes",
                "max local B", "spill stores B", "TMA rows", "warp-spec rows", "tensor-core (rows using)"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for s in check_summary(result):
        tc = ", ".join(f"{k} {v}" for k, v in sorted(s["tensor_core"].items())) or "none"
        table.add_row(s["op"], s["kernel"], s["target"], f"{s['launchable']} / {s['rows']}", str(s["clean"]),
                      _range(s["registers"]), _range(s["shared_bytes"]), str(s["max_local_bytes"]),
                      str(s["max_spill_stores"]), str(s["tma_rows"]), str(s["ws_rows"]), tc)  # fmt: skip
    out.print(table)
    if rows:
        t = Table(title="every kernel × config")
        for col in ("kernel", "case", "source", "config", "target", "regs", "shared", "local", "launch", "tensor core",
                    "warp-spec", "problem"):  # fmt: skip
            t.add_column(col, overflow="fold")
        for r in result.rows:
            tc = ", ".join(f"{k} {v}" for k, v in sorted(r.tensor_core.items()))
            t.add_row(r.kernel, r.case, r.source, r.config, r.target, _num(r.registers, "d"), _num(r.shared_bytes, "d"),
                      _num(r.local_bytes, "d"), "yes" if r.launchable else "[red]NO", tc, _warp_spec(r), r.problem)  # fmt: skip
        out.print(t)
    for f in result.failures:
        out.print(f"FAILED: {f}", markup=False)
    for n in result.notes:
        out.print(f"note: {n}", markup=False)


def _warp_spec(r: Any) -> str:
    """A row's warp-specialised code: its worker partitions and setmaxnreg instructions, or "" where none."""
    if not (r.warp_partitions or r.setmaxreg):
        return ""
    return f"{r.warp_partitions} partitions, {r.num_warps} warps, {r.setmaxreg} setmaxnreg"


def _range(v: tuple[int, int] | None) -> str:
    return "" if v is None else (f"{v[0]}" if v[0] == v[1] else f"{v[0]}–{v[1]}")


def _num(x: float | None, fmt: str = ".3g") -> str:
    return "" if x is None else format(x, fmt)


def print_compare(result: Any, out: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    from benchbench.core.stats import fmt_ratio

    c = result.ceilings
    table = Table(title=f"{result.op} on {result.device}, {result.dtype}")
    for col in (
        "shape",
        "mode",
        "impl",
        "p50 ms",
        "speed-up [95% CI]",
        "TFLOP/s",
        "GB/s",
        "% peak",
        "rel err",
        "ok",
    ):
        table.add_column(col, no_wrap=col == "shape", overflow="fold")
    for r in result.rows:
        time_cell = _num(r.p50_ms, ".4g") if r.status == "timed" else r.status
        pct = f"{r.pct_peak:.1f} ({r.bound})" if r.pct_peak is not None else ""
        ok = "" if r.ok is None else ("yes" if r.ok else Text("NO", style="red"))
        speed = (
            ""
            if r.speedup is None
            else "reference"
            if r.impl == r.reference
            else fmt_ratio(r.speedup, r.ratio_ci95, ".3g", "×")
        )
        name = f"{r.impl}*" if r.baseline else r.impl
        table.add_row(r.shape, r.mode, name, time_cell, speed, _num(r.tflops), _num(r.gbps), pct,
                      _num(r.max_rel_err, ".1e"), ok)  # fmt: skip
    out.print(table)
    if c is not None:
        out.print(f"peak = measured in this run: matmul {c.matmul_tflops:.3g} TFLOP/s ({c.dtype}, "
                  f"{c.matmul_n}³), copy {c.copy_gbs:.3g} GB/s")  # fmt: skip
    refs = sorted({r.reference for r in result.rows if r.reference})
    out.print(f"* baseline; speed-up = {' / '.join(refs) or 'baseline'} / row, the median of per-round ratios of "
              "interleaved rounds with its 95% CI (n.s.: the CI contains 1, no significant difference); rel err = "
              "max |err| / max |reference| against the baseline in fp32; FLOPs count 2 per multiply-add")  # fmt: skip
    for r in result.rows:
        if r.status in ("unsupported", "error", "skipped") or r.ok is False:
            out.print(f"{r.impl} at {r.shape} {r.mode}: {r.status}: {r.note}", markup=False)
    for note in result.notes:
        out.print(f"note: {note}")


_SHORT = {"torch.float32": "fp32", "torch.float16": "fp16", "torch.bfloat16": "bf16"}


def print_kernels(as_json: bool = False, dest: str = "-") -> int:
    """`benchbench list --kernels`: every op and implementation with devices, dtypes and backward support
    (as JSON to `dest`, a file or '-', with `as_json`)."""
    from rich.table import Table

    from benchbench.kernels.registry import active_kernel, list_kernels, list_ops

    impls = list_kernels()
    defaults = {op: active_kernel(op).name for op in list_ops()}
    if as_json:
        rows = [{**k.to_dict(), "default": defaults.get(k.op) == k.name} for k in impls]
        emit_json(dest, {"kernels": rows})
        return 0
    table = Table(title="benchbench kernels (* baseline, → default)")
    for col in ("op", "impl", "devices", "dtypes", "backward", "on cpu", "description"):
        table.add_column(col, overflow="fold")
    for k in impls:
        mark = ("*" if k.baseline else "") + ("→" if defaults.get(k.op) == k.name else "")
        cpu = "" if "cpu" not in k.devices else ("interpreter" if k.interpreted_on_cpu else "native")
        dtypes = ", ".join(_SHORT.get(str(d), str(d)) for d in k.dtypes)
        table.add_row(k.op, k.name + mark, ", ".join(k.devices), dtypes, "yes" if k.backward else "no", cpu,
                      k.description)  # fmt: skip
    console(width=max(120, _terminal_width())).print(table)
    return 0


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size().columns
