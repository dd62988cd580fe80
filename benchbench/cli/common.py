"""What several commands share, defined once: their common options, where human output goes, and `--json`.

This module is imported to build the parser, so it imports nothing heavy (no torch): commands import the
library inside their `run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

JSON_HELP = "write the result as JSON to FILE ('-' for standard output)"


MODEL_HELP = (
    "zoo name (benchbench list), torchvision:NAME, timm:NAME, hf:NAME (a transformers model type or a local "
    "directory with config.json; hf:NAME:TASK picks a head), or a user factory pkg.module:factory / file.py:factory"
)
TASK_HELP = "head of an hf: model: model (default), causal-lm, masked-lm, sequence-classification, ... (or hf:NAME:TASK)"


def add_model_arguments(p: argparse.ArgumentParser, size_default: str = "tiny") -> None:
    """MODEL, --size (zoo presets; library models are built as their library defines them) and --task."""
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument(
        "--size", default=None, help=f"zoo size preset (default {size_default}); not for library models"
    )
    p.add_argument("--task", default=None, help=TASK_HELP)


def add_json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help=JSON_HELP)


def console(args: argparse.Namespace, width: int | None = None) -> Any:
    """A rich Console for the human output; on stderr when the JSON goes to standard output."""
    from rich.console import Console

    to_stderr = getattr(args, "json", None) == "-"
    return Console(stderr=to_stderr, width=width) if width else Console(stderr=to_stderr)


def emit_json(dest: str | None, data: Any) -> None:
    """Write `data` as JSON to `dest` ('-' is standard output; nothing when None). A top-level record is
    written with its schema version and kind; other data (estimates, listings) as it is."""
    if dest is None:
        return
    from benchbench.core.files import to_jsonable, write_json
    from benchbench.core.schema import KINDS, dump

    data = dump(data) if type(data) in KINDS.values() else to_jsonable(data)
    if dest == "-":
        json.dump(data, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
        return
    write_json(dest, data)
