"""`benchbench list`: the zoo (and, with flags, the hardware table and the kernels)."""

from __future__ import annotations

import argparse
import json

from benchbench.cli.common import console as make_console


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list zoo models (or hardware, or kernels)")
    p.add_argument("--modality", help="only models of this modality")
    p.add_argument("--hardware", action="store_true", help="list the hardware table instead")
    p.add_argument("--kernels", action="store_true", help="list kernel ops and their implementations instead")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.kernels:
        from benchbench.cli.kernels import print_kernels

        return print_kernels(as_json=args.json)
    if args.hardware:
        return print_hardware(as_json=args.json)
    from rich.table import Table

    from benchbench.models.registry import get_model_spec, list_models

    specs = [get_model_spec(n) for n in list_models(modality=args.modality)]
    if args.json:
        print(json.dumps({"models": [s.to_dict() for s in specs]}, indent=2))
        return 0
    table = Table(title="benchbench zoo")
    for col in ("name", "modality", "sizes", "reference params (base)", "paper"):
        table.add_column(col)
    for s in specs:
        ref = f"{s.reference.params:,}" if s.reference.params else "—"
        table.add_row(s.name, s.modality, ", ".join(s.sizes), ref, s.paper)
    make_console().print(table)
    return 0


def print_hardware(as_json: bool = False) -> int:
    from rich.table import Table

    from benchbench.estimate.hardware import load_table

    table = load_table()
    if as_json:
        print(json.dumps({"hardware": [hw.to_dict() for hw in table.values()]}, indent=2))
        return 0
    t = Table(title="benchbench hardware (dense peaks, TFLOP/s)")
    for col in (
        "key",
        "name",
        "fp32",
        "tf32",
        "bf16",
        "fp8",
        "int8",
        "memory GB",
        "GB/s",
        "TDP W",
        "$/h",
        "price source",
    ):
        t.add_column(col)
    for hw in table.values():
        pk = hw.peak_tflops

        def cell(k: str, pk: dict[str, float] = pk) -> str:
            return f"{pk[k]:.3g}" if k in pk else "—"

        t.add_row(
            hw.key, hw.name, cell("fp32"), cell("tf32"), cell("bf16") if "bf16" in pk else cell("fp16"), cell("fp8"),
            cell("int8"), f"{hw.memory_gb:.0f}", f"{hw.bandwidth_gbs:,.0f}", f"{hw.tdp_w:.0f}" if hw.tdp_w else "—",
            f"{hw.price_per_hour:.2f}" if hw.price_per_hour is not None else "—",
            f"{hw.price_source} ({hw.price_date})" if hw.price_source else hw.peak_source,
        )  # fmt: skip
    make_console(width=200).print(t)
    return 0
