"""What several commands share, defined once: their common options, where human output goes, and `--json`.

This module is imported to build the parser, so it imports nothing heavy (no torch): commands import the
library inside their `run`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

JSON_HELP = "write the result as JSON to FILE ('-' for standard output)"


MODEL_HELP = (
    "zoo name (benchbench list), torchvision:NAME, timm:NAME, hf:NAME (a transformers model type or a local "
    "directory with config.json; hf:NAME:TASK picks a head), or a user factory pkg.module:factory / file.py:factory"
)
TASK_HELP = "head of an hf: model: model (default), causal-lm, masked-lm, sequence-classification, ... (or hf:NAME:TASK)"


def add_model_arguments(p: argparse.ArgumentParser, size_default: str = "tiny") -> None:
    """MODEL, --size (zoo presets; library models are built as their library defines them), --task and
    --trust-remote-code."""
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument(
        "--size", default=None, help=f"zoo size preset (default {size_default}); not for library models"
    )
    p.add_argument("--task", default=None, help=TASK_HELP)
    add_trust_argument(p)


TRUST_ENV = "BENCHBENCH_TRUST_REMOTE_CODE"  # read by sources/hf.py; inherited by a run's worker processes


class _TrustRemoteCode(argparse.Action):
    """`--trust-remote-code`: sets TRUST_ENV=1 for this process and its workers, the one switch that lets an
    hf:DIR folder's own Python (config.json's auto_map) run. Without it such a folder is refused (exit 2)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, *_: Any) -> None:
        os.environ[TRUST_ENV] = "1"
        setattr(namespace, self.dest, True)


def add_trust_argument(p: argparse.ArgumentParser) -> None:
    """Add `--trust-remote-code`, the one flag that lets an hf:DIR folder's own code run."""
    p.add_argument(
        "--trust-remote-code", action=_TrustRemoteCode, nargs=0, default=False,
        help="let an hf:DIR folder's own Python code (config.json's auto_map) run; only for a folder you trust",
    )  # fmt: skip


# ---- option types: each refuses what cannot be right, so argparse says so in one line (exit 2) -------------


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1, else a usage error naming the value."""
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be an integer >= 1")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0, else a usage error naming the value."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be an integer >= 0")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0, else a usage error naming the value."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0, else a usage error naming the value."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def fraction(text: str) -> float:
    """A number in (0, 1]: a utilisation, a share."""
    value = _number(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be in (0, 1]")
    return value


def probability(text: str) -> float:
    """A number in (0, 1): a significance level."""
    value = _number(text, float)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be in (0, 1)")
    return value


def check_output(path: str | None, *, suffixes: tuple[str, ...] = (), what: str = "output file") -> None:
    """Refuse, before any work, an output file path that cannot be written: a folder, a FIFO, device, socket or
    symbolic link (only regular files are replaced), a wrong suffix, a parent that is not a writable folder.
    '-' and /dev/stdout (standard output) and None pass."""
    from benchbench.core.files import STDOUT_PATHS, refuse_special_output

    if path is None or path in STDOUT_PATHS:
        return
    from benchbench.core.errors import BadInputError

    p = Path(path)
    if suffixes and p.suffix not in suffixes:
        raise BadInputError(f"{what} {path!r} must end in {' or '.join(suffixes)}")
    refuse_special_output(p, what)
    if p.exists() and not os.access(p, os.W_OK):
        raise BadInputError(f"{what} {path} is not writable")
    parent = next((q for q in p.absolute().parents if q.exists()), Path("/"))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise BadInputError(f"cannot write {what} {path}: {parent} is not a writable folder")


def check_output_dir(path: str | None, what: str = "output folder") -> None:
    """Refuse, before any work, an output folder that is a file or cannot be made or written."""
    if path is None:
        return
    from benchbench.core.errors import BadInputError

    p = Path(path)
    if p.exists() and not p.is_dir():
        kind = "a file" if p.is_file() else "not a folder"
        raise BadInputError(f"{what} {path} is {kind}; give a folder")
    existing = p if p.exists() else next((q for q in p.absolute().parents if q.exists()), Path("/"))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise BadInputError(f"cannot write {what} {path}: {existing} is not a writable folder")


def output_file(text: str) -> str:
    """An output file option's value; /dev/stdout is standard output, spelled '-' from here on."""
    return "-" if text == "/dev/stdout" else text


def add_json_option(p: argparse.ArgumentParser) -> None:
    """Add `--json FILE` (a file, or '-' for standard output) to a command's parser."""
    p.add_argument("--json", metavar="FILE", type=output_file, help=JSON_HELP)


def console(args: argparse.Namespace | None = None, width: int | None = None) -> Any:
    """A rich Console for the human output, on stderr when the JSON goes to standard output. Markup is off:
    a model name or an error text holding `[...]` is printed as it is (colours come from `style=`). Every
    string and Text it prints goes through `core.inert.terminal` (a table cell or title through `one_line`): an
    ESC sequence, NUL, BEL or bidi control from a model name or an exception is shown as its escape, never
    acted on, and a newline in a name cannot forge a row."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from benchbench.core import inert

    class InertConsole(Console):
        def render_str(self, text: str, **kwargs: Any) -> Text:  # table cells and titles: one line each
            return super().render_str(inert.one_line(text), **kwargs)

        def print(self, *objects: Any, **kwargs: Any) -> None:  # a printed string keeps its lines
            objects = tuple(Text(inert.terminal(o)) if isinstance(o, str) else _inert_text(o) if isinstance(o, Text)
                            else o for o in objects)  # fmt: skip
            for table in (o for o in objects if isinstance(o, Table)):  # Text cells skip render_str
                for column in table.columns:
                    column._cells = [_inert_text(c) if isinstance(c, Text) else c for c in column._cells]
            super().print(*objects, **kwargs)

    to_stderr = getattr(args, "json", None) == "-"
    return InertConsole(stderr=to_stderr, width=width, markup=False, highlight=False)


def _inert_text(text: Any) -> Any:
    """A rich Text (a status line) made one inert line; its whole-text style kept (spans only when nothing changed)."""
    from benchbench.core import inert

    plain = inert.one_line(text.plain)
    if plain == text.plain:
        return text
    return type(text)(plain, style=text.style)


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
