"""`benchbench export MODEL`: export to ONNX, check it in ONNX Runtime, and print a readiness verdict.

Exit 0 when ready or ready-with-warnings, 1 when not-ready, 2 on bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchbench.cli.common import (
    add_json_option,
    add_model_arguments,
    check_output,
    check_output_dir,
    console,
    emit_json,
    positive_int,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export to ONNX and check parity and speed in ONNX Runtime")
    add_model_arguments(p)
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help="export batch size (default 2; >= 2, size-1 dims get specialised). A factory returning inputs at "
        "one batch is exported at that batch, its batch axis fixed (another batch: its inputs repeated)",
    )
    p.add_argument("--seq-len", type=positive_int, default=None)
    p.add_argument("--exporter", default="auto", choices=("auto", "dynamo", "torchscript"))
    p.add_argument("--opset", type=positive_int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-quantize", action="store_true", help="skip the int8 variant")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="intra-op threads of both arms, torch's and ONNX Runtime's (default: torch's)")  # fmt: skip
    p.add_argument("--out", default="onnx_out", metavar="DIR", help="folder for the .onnx files")
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.core.device import parse_device
    from benchbench.core.env import capture_env
    from benchbench.core.errors import BadInputError
    from benchbench.core.noise import machine_state, measured_noise
    from benchbench.deploy.readiness import CLI_TIMING, ReadinessConfig, check_readiness
    from benchbench.deploy.records import ExportResult
    from benchbench.measure.sweep import num_threads
    from benchbench.sources.target import is_user_model, load_target

    check_output(args.json, what="--json file")
    check_output_dir(args.out, "--out folder")
    check_opset(args.opset, args.exporter)
    user = is_user_model(args.model)
    if args.batch_size is not None and args.batch_size < 2 and not user:
        raise BadInputError(_BATCH_TOO_SMALL.format(args.batch_size))
    batch = args.batch_size or 2
    probes = tuple(b for b in (1, batch + 3) if b != batch)
    dev = parse_device(args.device)
    cfg = ReadinessConfig(export_batch_size=batch, probe_batch_sizes=probes, timing=CLI_TIMING,
                          quantize=not args.no_quantize, exporter=args.exporter, opset=args.opset, device=str(dev))  # fmt: skip
    with num_threads(args.threads):
        # A user factory is built at the batch given (None: the batch of its own inputs), the others at batch 1.
        target = load_target(
            args.model, args.size, args.batch_size if user else 1, args.seq_len, task=args.task
        )
        if target.fixed_batch is None and batch < 2:
            raise BadInputError(_BATCH_TOO_SMALL.format(batch))
        target.model.to(dev)
        start = machine_state()
        readiness = check_readiness(target, Path(args.out), cfg)
        noise = measured_noise(start, readiness.timed_latencies(), readiness.threads)
        env = capture_env(dev)
    print_readiness(target.name, target.size, readiness, console(args), noise)
    emit_json(args.json, ExportResult(target.name, target.size, readiness, env, noise))
    return 1 if readiness.verdict == "not-ready" else 0


_BATCH_TOO_SMALL = "--batch-size must be >= 2 (a size-1 dim gets specialised at export), got {}"


def check_opset(opset: int | None, exporter: str) -> None:
    """An opset the chosen exporter can produce (torch.onnx's own bounds), or one line saying which are."""
    if opset is None:
        return
    from torch.onnx import _constants

    from benchbench.core.errors import BadInputError

    top = (
        _constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET
        if exporter == "torchscript"
        else _constants.ONNX_MAX_OPSET
    )
    if not _constants.ONNX_MIN_OPSET <= opset <= top:
        raise BadInputError(f"--opset {opset} is not one the {exporter} exporter produces; allowed: "
                            f"{_constants.ONNX_MIN_OPSET} to {top}")  # fmt: skip


def print_readiness(name: str, size: str, s: Any, out: Any, noise: Any = None) -> None:
    """The verdict, what failed or was warned about, parity, and the timings; ratios measured under a noise
    verdict of `unusable` are printed as not trustworthy."""
    from rich.table import Table
    from rich.text import Text

    from benchbench.core.noise import shown_ratio, untrusted
    from benchbench.core.stats import ratio_verdict
    from benchbench.core.units import fmt_bytes

    colour = {"ready": "green", "ready-with-warnings": "yellow", "not-ready": "red"}[s.verdict]
    out.print(Text.assemble((name, "bold"), f" ({size}): ", (s.verdict, colour)))
    if s.stage_failed:
        out.print(f"  failed at: {s.stage_failed}" + (f" (op {s.failing_op})" if s.failing_op else ""))
        out.print(f"  error: {s.error}")
        if s.hint:
            out.print(f"  hint: {s.hint}")
    if s.exporter:
        out.print(f"  exporter: {s.exporter} ({s.capture_strategy or '-'}), opset {s.opset}, "
                  f"{fmt_bytes(s.file_bytes)}, export {s.export_s:.1f} s → {s.file}")  # fmt: skip
        out.print(f"  dynamic axes: {s.dynamic_axes}")
    if s.parity:
        t = Table(title="parity vs eager PyTorch (worst over probed shapes)")
        for col in ("output", "rel err", "tolerance", "max abs", "verdict", "worst case"):
            t.add_column(col)
        for o in s.parity.outputs:
            t.add_row(o.name, _g(o.rel_err), _tol(o.tol), _g(o.max_abs), o.verdict, str(o.case))
        out.print(t)
        if s.parity.remedy:
            out.print(
                f"  parity first inconclusive ({'; '.join(s.parity.inconclusive_before)}); {s.parity.remedy}"
            )
    if s.ratio is not None:
        verdict = ratio_verdict(s.ratio_ci95, above="ORT is slower", below="ORT is faster")
        per = f"per {s.latency_unit}" if s.latency_unit != "batch" else f"at batch {s.latency_batch_size}"
        shown = shown_ratio(s.ratio, s.ratio_ci95, noise)
        shown += "" if untrusted(noise) else f" (95% CI): {verdict}"
        out.print(f"  latency p50 {per}, {s.threads} threads, {s.ratio_rounds} interleaved rounds: "
                  f"ORT {s.ort_latency.p50_ms:.3f} ms vs eager {s.eager_latency.p50_ms:.3f} ms "
                  f"→ ORT/eager {shown} (session {s.session_s:.2f} s)")  # fmt: skip
        if s.arm_threads:
            out.print("    threads: " + "; ".join(f"{arm}: {how}" for arm, how in s.arm_threads.items()))
        out.print(f"    ORT {s.ort_latency.uncertainty()}")
        out.print(f"    eager {s.eager_latency.uncertainty()}")
        top = ", ".join(f"{k} {v}" for k, v in list(s.node_counts.items())[:8])
        out.print(f"  nodes: {sum(s.node_counts.values())} ({top})")
    for q in (s.quantized, s.quantized_static):
        if q is not None:
            out.print("  " + int8_line(q, noise))
    for w in s.warnings:
        out.print(Text.assemble(("  warning: ", "yellow"), w))
    for n in s.notes:
        out.print(f"  note: {n}")
    if noise is not None:
        out.print(f"  noise: {noise.line()}")


def _g(x: float | None) -> str:
    return f"{x:.3g}" if x is not None else "-"


def _tol(tol: Any) -> str:
    return f"rel {tol.rel:g}" if tol.rel is not None else f"atol {tol.atol:g}/rtol {tol.rtol:g}"


def int8_line(q: Any, noise: Any = None) -> str:
    """One line per int8 variant: how it was made, the share it quantized, size, speed and parity."""
    from benchbench.core.noise import shown_ratio
    from benchbench.core.units import fmt_bytes

    how = f"int8 {q.method}" + (", per channel" if q.per_channel else "") + f" ({'/'.join(q.op_types)})"
    if q.error is not None:
        return f"{how}: failed: {q.error}"
    share = ", ".join(
        f"{v:.1%} of {label}"
        for label, v in (("weights", q.weight_share), ("MACs", q.mac_share))
        if v is not None
    )
    verdict = q.parity.verdict if q.parity is not None else "—"
    return (f"{how}: quantized {share or 'an unknown share'}; {fmt_bytes(q.file_bytes)}, ratio "
            f"{shown_ratio(q.ratio, q.ratio_ci95, noise)} vs eager fp32, "
            f"{shown_ratio(q.ratio_vs_fp32_ort, q.ratio_vs_fp32_ort_ci95, noise)} "
            f"vs fp32 ORT, parity {verdict} ({q.rule})")  # fmt: skip
