"""`benchbench list`: the zoo (and, with flags, the hardware table and the kernels).

The zoo comes from its index (`benchbench/data/zoo.json`, written from the registry by
`python -m benchbench.models.zoo_index` and checked against it by the tests), so listing it imports no torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.resources import files
from typing import Any

from benchbench.cli.common import check_output, console, emit_json

COLUMNS = ("name", "modality", "sizes", "reference params (base)", "paper")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list zoo models (or hardware, or kernels)")
    p.add_argument("--modality", help="only models of this modality")
    p.add_argument("--hardware", action="store_true", help="list the hardware table instead")
    p.add_argument("--kernels", action="store_true", help="list kernel ops and their implementations instead")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="write JSON to FILE ('-' or no value: standard output) instead of the table")  # fmt: skip
    p.set_defaults(func=run)


def zoo_index() -> dict[str, Any]:
    """The zoo's index: {"modalities": [...], "models": [ModelSpec.to_dict(), ...]}, sorted by name."""
    return json.loads((files("benchbench.data") / "zoo.json").read_text(encoding="utf-8"))


def zoo_rows(modality: str | None = None) -> list[dict[str, Any]]:
    """The index's models, of one modality when given (an unknown one is one BadInputError line)."""
    from benchbench.core.errors import unknown_name

    index = zoo_index()
    if modality is not None and modality not in index["modalities"]:
        raise unknown_name("modality", modality, index["modalities"])
    return [m for m in index["models"] if modality is None or m["modality"] == modality]


def table_cells(m: dict[str, Any]) -> tuple[str, ...]:
    """One model's cells, in COLUMNS order."""
    ref = f"{m['reference_params']:,}" if m.get("reference_params") else "—"
    return m["name"], m["modality"], ", ".join(m["sizes"]), ref, m["paper"]


def run(args: argparse.Namespace) -> int:
    """List the zoo, the hardware table or the kernels, as a table or as JSON."""
    if args.json not in (None, "-"):
        check_output(args.json, what="--json file")
    if args.kernels:
        from benchbench.cli.kernels import print_kernels

        return print_kernels(as_json=args.json is not None, dest=args.json or "-")
    if args.hardware:
        return print_hardware(dest=args.json)
    rows = zoo_rows(args.modality)
    if args.json is not None:
        emit_json(args.json, {"models": rows})
        return 0
    cells = [table_cells(m) for m in rows]
    if sys.stdout.isatty():
        print_rich(cells)
    else:
        print_plain(cells)
    return 0


def print_plain(cells: list[tuple[str, ...]]) -> None:
    """Aligned columns with no width limit, for a pipe or a file: no cell is ever cut."""
    widths = [max(len(r[i]) for r in [COLUMNS, *cells]) for i in range(len(COLUMNS) - 1)]
    for row in [COLUMNS, *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])


def print_rich(cells: list[tuple[str, ...]]) -> None:
    """A table for the terminal: the name column is as wide as the longest name and never wraps or cuts;
    the other columns fold when the terminal is narrow."""
    from rich.table import Table

    table = Table(title="benchbench zoo")
    longest = max((len(c[0]) for c in cells), default=4)
    table.add_column(COLUMNS[0], no_wrap=True, min_width=longest)
    for col in COLUMNS[1:]:
        table.add_column(col, overflow="fold")
    for row in cells:
        table.add_row(*row)
    console().print(table)


def print_hardware(dest: str | None = None) -> int:
    """The hardware table (dense peaks, memory, bandwidth, price), as a table or as JSON to `dest`."""
    from rich.table import Table

    from benchbench.estimate.hardware import load_table

    table = load_table()
    if dest is not None:
        emit_json(dest, {"hardware": [hw.to_dict() for hw in table.values()]})
        return 0
    t = Table(title="benchbench hardware (dense peaks, TFLOP/s)")
    for col in ("key", "name", "fp32", "tf32", "bf16", "fp8", "int8", "memory GB", "GB/s", "TDP W", "$/h",
                "price source"):  # fmt: skip
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
    console(width=200).print(t)
    return 0
