"""`benchbench list`: the zoo (and, with flags, hardware and kernels)."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from benchbench.models.registry import get_model_spec, list_models


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list zoo models")
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
        from benchbench.hardware import print_hardware

        return print_hardware(as_json=args.json)
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
    Console().print(table)
    return 0
