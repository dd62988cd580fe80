"""`benchbench profile MODEL`: parameters, FLOPs/MACs and latency of one model."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from benchbench.profile import profile
from benchbench.report import fmt_bytes, fmt_count, fmt_ms
from benchbench.results import ProfileResult, write_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="profile one model")
    p.add_argument("model", help="zoo name or pkg.module:factory")
    p.add_argument("--size", default="tiny")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--json", metavar="FILE", help="write the profile as JSON")
    p.set_defaults(func=run)


def print_profile(r: ProfileResult, console: Console) -> None:
    table = Table(
        title=f"{r.model} ({r.size}), batch {r.batch_size}, {r.device}, {r.dtype}", show_header=False
    )
    params, flops, lat = r.params or {}, r.flops or {}, r.latency or {}
    table.add_row("parameters", f"{params.get('total', 0):,}" if params else "—")
    table.add_row("parameter bytes", fmt_bytes(params.get("bytes")))
    table.add_row("MACs (fvcore, 1 per multiply-add)", fmt_count(flops.get("macs")))
    table.add_row("FLOPs (torch, 2 per multiply-add)", fmt_count(flops.get("flops")))
    if flops.get("uncounted_ops"):
        table.add_row("uncounted ops", ", ".join(f"{k}×{v}" for k, v in flops["uncounted_ops"].items()))
    if lat:
        table.add_row(
            "latency p50 / p90 / p99 ms", " / ".join(fmt_ms(lat[k]) for k in ("p50_ms", "p90_ms", "p99_ms"))
        )
        table.add_row("repeats, threads", f"{lat['n']}, {lat['threads']}")
        table.add_row("throughput", f"{lat['throughput_per_s']:.1f} samples/s")
    for e in r.errors:
        table.add_row(f"[red]failed: {e.stage}", f"{e.type}: {e.error}")
    console.print(table)


def run(args: argparse.Namespace) -> int:
    r = profile(args.model, size=args.size, batch_size=args.batch_size, seq_len=args.seq_len,
                device=args.device, dtype=args.dtype)  # fmt: skip
    print_profile(r, Console())
    if args.json:
        write_json(args.json, r)
    return 0 if r.ok else 1
