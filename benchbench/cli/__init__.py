"""The `benchbench` command: a thin shell over the library. Exit codes: 0 ok, 1 check failed, 2 bad input."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from benchbench.core.errors import BadInputError, CheckFailedError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors are bad input too: exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"benchbench: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="benchbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    # One module per command in this package, each with `add_parser(subparsers)` setting `func(args) -> int`.
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}").add_parser(sub)
    return parser


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
