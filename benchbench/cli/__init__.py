"""The `benchbench` command: a thin shell over the library.

Exit codes: 0 ok, 1 a gate, check or model failed, 2 bad input (one line naming what is wrong and what is allowed).
Building the parser imports only this package's command modules, which import the library (and torch) inside
their `run`, so `benchbench --help` and `--version` answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from benchbench import __version__
from benchbench.core.errors import BadInputError, CheckFailedError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

# Command modules of this package, in the order `--help` lists them; each has `add_parser(subparsers)`,
# which sets `func(args) -> exit code`.
COMMANDS = ("listing", "profile", "export", "swap", "kernels", "gpu_check", "estimate", "card", "health", "run",
            "report", "gate", "history", "compare", "merge")  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors are bad input too: exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"benchbench: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="benchbench", description="What a neural network costs and whether it is ready to deploy."
    )
    parser.add_argument("--version", action="version", version=f"benchbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except (
            ImportError
        ) as exc:  # an environment with only some dependencies (a GPU machine's torch and triton)
            _unavailable(sub, _COMMAND_NAMES.get(name, name.replace("_", "-")), exc)
            continue
        module.add_parser(sub)
    return parser


_COMMAND_NAMES = {"listing": "list"}  # command module → command, where they differ


def _unavailable(sub: argparse._SubParsersAction, command: str, exc: ImportError) -> None:
    """A command whose module cannot be imported here: it stays listed and says what is missing (exit 2)."""
    missing = (exc.name or str(exc)).split(".")[0]
    p = sub.add_parser(command, help=f"(unavailable here: needs {missing})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def refuse(args: argparse.Namespace) -> int:
        raise BadInputError(f"benchbench {command} needs the package {missing!r}, which this environment lacks; "
                            "install benchbench with its dependencies")  # fmt: skip

    p.set_defaults(func=refuse)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BadInputError as e:
        print(f"benchbench: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CheckFailedError as e:
        print(f"benchbench: check failed: {e}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
